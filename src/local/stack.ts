// The embedded pipeline: a real S3-protocol server on loopback with the two buckets, the presign
// Lambda served over HTTP in API Gateway's event shape, and the resize Lambda invoked with
// S3-shaped ObjectCreated records from the server's durable queue whenever an object lands in the
// source bucket: as the deployed queue does (resize-queue.ts), each in an instance of its own under
// the function's timeout and concurrency, retried up to the redrive bound, then a failure record.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPresignHandler, PRESIGN_DEFAULTS, type ApiEvent, type ApiResult } from '../../lambda/presign.js';
import { VARIANT_CACHE_CONTROL } from '../core/keys.js';
import { eventSequencer, s3EventRecord } from '../core/s3-event.js';
import type { Spec } from '../core/spec.js';
import { DEFAULT_RESIZE_CONCURRENCY, FUNCTION_DEFAULTS, MAX_RECEIVE_COUNT } from '../core/pipeline-defaults.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../s3/client.js';
import { apiHosts, refuseRequest } from './api-guard.js';
import { CHALLENGE, healthProof } from './health.js';
import { startResizeQueue } from './resize-queue.js';
import { createCdnServer } from './cdn.js';
import { CORS_DEFAULTS, startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { SOURCE_PATH_HEADER } from '../core/source-path.js';

const LOCAL_BUCKETS = { source: 'imgpipe-source', dest: 'imgpipe-dest' } as const;

export interface LocalStackOptions {
  dataDir: string;
  spec: Spec;
  s3Port?: number;
  apiPort?: number;
  /** Serve the destination bucket's variants as the CDN does (local/cdn.ts) on this port (0: any); none when undefined. */
  cdnPort?: number;
  apiKey?: string;
  /** Seconds pre-signed URLs stay valid. */
  urlExpiresIn?: number;
  /**
   * The S3 endpoint written into pre-signed URLs (default: the server's own). Tests put a
   * fault-injecting proxy there; it must forward the Host header unchanged, as it is signed.
   * The API's own S3 calls do not go through it (on AWS they stay in the region).
   */
  urlEndpoint?: string;
  /** The S3 endpoint the resize handler talks to (default: the server's own); tests put a fault proxy there. */
  handlerEndpoint?: string;
  /** The S3 endpoint the API's own calls go to (default: the server's own); tests count them at a proxy there. */
  apiS3Endpoint?: string;
  /**
   * The largest file the API grants (default: what the resize reads, 256 MiB). The WAN bench
   * raises it, with the trigger off, to send a 1 GiB file; nothing could resize one.
   */
  maxFileBytes?: number;
  /** Answer "exists" for content the source bucket already holds (default true). */
  dedupe?: boolean;
  /** fdatasync every stored object (default true); false measures what durability costs. */
  fsync?: boolean;
  /** Fire the resize handler on uploads (default true); off measures the upload path alone. */
  trigger?: boolean;
  /** Resizes at once, as the queue's maximum concurrency bounds them (default: the template's ResizeConcurrency). */
  resizeConcurrency?: number;
  /** The resize function's timeout in ms: a resize still running then is stopped and its event returns to the queue (default: the template's). */
  resizeTimeoutMs?: number;
  /** Structured log lines from the handlers (one JSON object each). */
  log?: (line: Record<string, unknown>) => void;
  /** With no record, how long after its upload a photo counts as stranded and is re-queued (lambda/heal.ts). */
  healAfterMs?: number;
}

/** Longer than the local queue keeps trying one photo (attempts × the resize's timeout, and backoff). */
const LOCAL_HEAL_AFTER_MS = 5 * 60_000;

export interface LocalStack {
  apiUrl: string;
  /** The local CDN's base URL (`<this>/<variant key>`), when started with cdnPort. */
  cdnUrl?: string;
  s3Endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  sourceBucket: string;
  destBucket: string;
  /** Resolves when no resize is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

async function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += chunk.length;
    if (total > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** API Gateway REST proxy event (payload 1.0), as it would reach the Lambda. */
function apiGatewayEvent(req: IncomingMessage, body: Buffer): ApiEvent & Record<string, unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return {
    resource: '/uploads',
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
    requestContext: { stage: 'local', requestId: `local-${Date.now()}`, identity: { sourceIp: req.socket.remoteAddress } } as never,
    body: body.toString('utf8'),
    isBase64Encoded: false,
  };
}

/**
 * The presign Lambda behind a plain HTTP server, as API Gateway would put it; `/health` is the
 * stack's own, and with `?challenge=NONCE` it answers the proof that it is this `dev` (health.ts).
 */
/** Most keys POST /backlog answers for at once. */
const MAX_BACKLOG_KEYS = 1000;

type Backlog = (keys: ReadonlySet<string>) => { queued: number; inFlight: number };

/** POST /backlog {"keys": […]}: of these photos, how many the local queue holds and how many it is resizing. */
function answerBacklog(body: Buffer, backlog: Backlog): { status: number; doc: unknown } {
  let keys: unknown;
  try {
    keys = (JSON.parse(body.toString('utf8')) as { keys?: unknown }).keys;
  } catch {
    return { status: 400, doc: { error: { code: 'MalformedJSON', message: 'the body is not valid JSON' } } };
  }
  if (!Array.isArray(keys) || keys.length > MAX_BACKLOG_KEYS || !keys.every((k) => typeof k === 'string')) {
    return { status: 400, doc: { error: { code: 'InvalidRequest', message: `body must be {"keys":["uploads/…", …]}, at most ${MAX_BACKLOG_KEYS}` } } };
  }
  return { status: 200, doc: backlog(new Set(keys as string[])) };
}

function createApiServer(presign: (ev: ApiEvent) => Promise<ApiResult>, log: (line: Record<string, unknown>) => void, proof: (challenge: string) => string, backlog: Backlog): Server {
  const server: Server = createServer(async (req, res) => {
    try {
      const refused = refuseRequest(req, apiHosts((server.address() as AddressInfo).port));
      if (refused) {
        req.resume();
        res.writeHead(refused.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: refused.code, message: refused.message } }));
        return;
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/health') {
        const challenge = url.searchParams.get('challenge');
        const signed = challenge && CHALLENGE.test(challenge) ? { proof: proof(challenge) } : {};
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, service: 'imgpipe-local', ...signed }));
        return;
      }
      const body = await readRequestBody(req, PRESIGN_DEFAULTS.maxBodyBytes + 1);
      // API Gateway itself refuses payloads over its limit before the Lambda sees them.
      if (!body) {
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'BodyTooLarge', message: 'request body too large' } }));
        return;
      }
      // The local stack's own: on AWS the queue's depth is SQS's (GetQueueAttributes), not the API's.
      if (req.method === 'POST' && url.pathname === '/backlog') {
        const { status, doc } = answerBacklog(body, backlog);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
        return;
      }
      const result = await presign(apiGatewayEvent(req, body));
      res.writeHead(result.statusCode, result.headers).end(result.body);
    } catch (err) {
      log({ level: 'error', msg: 'local API failure', error: (err as Error).message });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'InternalError', message: 'local API failure' } }));
    }
  });
  return server;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The presign API of the local stack, as the deployed function is configured (its env in the template). */
function localPresign(opts: LocalStackOptions, s3server: LocalS3, s3: S3Client, cdnUrl: string | undefined, resizeTimeoutMs: number) {
  return createPresignHandler({
    ...PRESIGN_DEFAULTS,
    maxFileBytes: opts.maxFileBytes ?? PRESIGN_DEFAULTS.maxFileBytes,
    bucket: LOCAL_BUCKETS.source,
    s3,
    // URLs name the address clients reach S3 at; the API's own calls go to the server directly.
    ...(opts.urlEndpoint ? { signer: createS3Client({ endpoint: opts.urlEndpoint, region: s3server.region, credentials: s3server.credentials }) } : {}),
    expiresIn: opts.urlExpiresIn ?? PRESIGN_DEFAULTS.expiresIn,
    apiKey: opts.apiKey,
    dedupe: opts.dedupe,
    spec: opts.spec,
    destBucket: LOCAL_BUCKETS.dest,
    cdn: cdnUrl,
    page: true,
    // Re-queued through the server's own durable queue, as the deployed API sends to SQS.
    requeue: async ({ bucket, key }) => void (await s3server.renotify(bucket, key)),
    // Never while the queue may still be trying it: every receive can take the whole timeout.
    healAfterMs: opts.healAfterMs ?? Math.max(LOCAL_HEAL_AFTER_MS, MAX_RECEIVE_COUNT * resizeTimeoutMs + 60_000),
  });
}

export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const log = opts.log ?? (() => {});
  const resizeTimeoutMs = opts.resizeTimeoutMs ?? FUNCTION_DEFAULTS.resize.timeout * 1000;
  // The upload page is served by the API (another port): the S3 server lets that origin PUT and GET.
  let pageOrigins: string[] = [];
  const s3server = await startLocalS3({
    // The page's PUTs send what the presign answer signed, the photo's path label among them.
    cors: { origins: () => pageOrigins, allowedHeaders: [...CORS_DEFAULTS.allowedHeaders, SOURCE_PATH_HEADER] },
    dataDir: opts.dataDir,
    port: opts.s3Port ?? 0,
    buckets: [LOCAL_BUCKETS.source, LOCAL_BUCKETS.dest],
    notify: opts.trigger === false ? [] : [LOCAL_BUCKETS.source], // the trigger is on the source bucket only
    allowedHosts: [opts.urlEndpoint, opts.handlerEndpoint, opts.apiS3Endpoint].filter((u): u is string => !!u).map((u) => new URL(u).host),
    silent: true,
    fsync: opts.fsync,
  });
  const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });

  // The CDN first: the API answers POST /variants with its URLs, as the deployed API does.
  const cdn = opts.cdnPort === undefined ? undefined : createCdnServer({ s3, bucket: LOCAL_BUCKETS.dest, log });
  const cdnPort = cdn && (await listen(cdn, opts.cdnPort!));
  const cdnUrl = cdnPort === undefined ? undefined : `http://127.0.0.1:${cdnPort}`;
  const apiS3 = opts.apiS3Endpoint ? createS3Client({ endpoint: opts.apiS3Endpoint, region: s3server.region, credentials: s3server.credentials }) : s3;
  const presign = localPresign(opts, s3server, apiS3, cdnUrl, resizeTimeoutMs);
  let delivery: ReturnType<typeof startResizeQueue> | undefined;
  const api = createApiServer(presign, log, (challenge) => healthProof(s3server.credentials.secretAccessKey, process.pid, challenge), (keys) => delivery?.backlog(keys) ?? { queued: 0, inFlight: 0 });
  const apiPort = await listen(api, opts.apiPort ?? 0);
  pageOrigins = [`http://127.0.0.1:${apiPort}`, `http://localhost:${apiPort}`];

  delivery = startResizeQueue(s3server, {
    concurrency: opts.resizeConcurrency ?? DEFAULT_RESIZE_CONCURRENCY,
    timeoutMs: resizeTimeoutMs,
    memoryMb: FUNCTION_DEFAULTS.resize.memory,
    instance: {
      endpoint: opts.handlerEndpoint ?? s3server.endpoint,
      region: s3server.region,
      credentials: s3server.credentials,
      destBucket: LOCAL_BUCKETS.dest,
      spec: opts.spec,
      cacheControl: VARIANT_CACHE_CONTROL,
    },
    records: { s3, destBucket: LOCAL_BUCKETS.dest, spec: opts.spec },
    toRecord: (ev) => s3EventRecord(ev, s3server.region),
    messageId: (ev) => `local-${eventSequencer(ev)}`,
    log,
  });

  return {
    apiUrl: `http://127.0.0.1:${apiPort}`,
    ...(cdnUrl && { cdnUrl }),
    s3Endpoint: s3server.endpoint,
    region: s3server.region,
    credentials: s3server.credentials,
    sourceBucket: LOCAL_BUCKETS.source,
    destBucket: LOCAL_BUCKETS.dest,
    idle: () => delivery!.idle(),
    async close() {
      await closeServer(api);
      if (cdn) await closeServer(cdn);
      await delivery!.close();
      await s3server.close();
      s3.destroy();
    },
  };
}
