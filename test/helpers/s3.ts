// Helpers for tests that talk to the embedded local S3 server with real AWS SDK v3 clients.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { afterAll, beforeAll } from 'vitest';
import { tempDir } from './images.js';

export interface S3Target {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** A client configured the way the project configures its own. */
export function s3Client(target: S3Target, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    credentials: target.credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    ...overrides,
  });
}

type Middleware = Parameters<S3Client['middlewareStack']['addRelativeTo']>[0];
type Next = (args: { request: unknown }) => Promise<unknown>;
/** A finalizeRequest-step middleware, typed loosely (the request is smithy's HttpRequest). */
const middleware = (fn: (next: Next) => Next): Middleware => fn as unknown as Middleware;

export const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');
export const sha256B64 = (b: Buffer | string): string => createHash('sha256').update(b).digest('base64');

/** The <Code> of an S3 XML error body. */
export function xmlCode(xml: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
}

export interface SdkFailure {
  status: number | undefined;
  /** The error code the SDK parsed out of the XML body (or NotFound etc. for HEAD). */
  code: string;
  message: string;
}

/** Await an SDK call that must fail; returns the HTTP status and the S3 error code. */
export async function sdkFailure(p: Promise<unknown>): Promise<SdkFailure> {
  try {
    await p;
  } catch (err) {
    const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    return { status: e.$metadata?.httpStatusCode, code: e.Code ?? e.name ?? 'Unknown', message: e.message ?? '' };
  }
  throw new Error('expected the S3 call to fail, it succeeded');
}

/**
 * Rewrite the request body on the wire AFTER the SDK has signed it (a bit flip in transit).
 * `rewrite` sees the whole encoded body, so it can also corrupt an aws-chunked trailer.
 */
export function tamperBodyAfterSigning(client: S3Client, rewrite: (body: Buffer) => Buffer): void {
  client.middlewareStack.addRelativeTo(
    middleware((next) => async (args) => {
      const request = args.request as { body?: unknown; headers: Record<string, string> };
      const chunks: Buffer[] = [];
      const body = request.body;
      if (Buffer.isBuffer(body) || body instanceof Uint8Array) chunks.push(Buffer.from(body));
      else if (typeof body === 'string') chunks.push(Buffer.from(body));
      else if (body && typeof (body as AsyncIterable<Buffer>)[Symbol.asyncIterator] === 'function') {
        for await (const c of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
      }
      const rewritten = rewrite(Buffer.concat(chunks));
      const out = new Transform({ transform: (c, _e, cb) => cb(null, c) });
      out.end(rewritten);
      request.body = out;
      return next(args);
    }),
    { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'tamperBodyAfterSigning' },
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until `check` stops throwing (events are delivered asynchronously). */
/** Retry `check` (sync or async) until it passes; its last failure is the test's after `timeoutMs`. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await sleep(20);
    }
  }
}

/** Record the headers of every request the client puts on the wire (after signing). */
export function captureRequestHeaders(client: S3Client): Array<Record<string, string>> {
  const seen: Array<Record<string, string>> = [];
  client.middlewareStack.addRelativeTo(
    middleware((next) => async (args) => {
      seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    }),
    { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'captureRequestHeaders' },
  );
  return seen;
}

/** Every key of a bucket, page by page, sorted. */
export async function listAll(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

export async function getObjectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * A local S3 server holding `buckets`, in a folder of its own, and an SDK client to it, for one
 * test file: started before its tests, closed and removed after them. Read `client`/`server` in
 * the tests (they are set once the file's beforeAll has run).
 */
export function useLocalS3(prefix: string, buckets: string[]): { client: S3Client; server: LocalS3 } {
  const local = {} as { client: S3Client; server: LocalS3; dir: string };
  beforeAll(async () => {
    local.dir = await tempDir(prefix);
    local.server = await startLocalS3({ dataDir: local.dir, buckets, silent: true });
    local.client = s3Client(local.server);
  });
  afterAll(async () => {
    local.client?.destroy();
    await local.server?.close();
    if (local.dir) await rm(local.dir, { recursive: true, force: true });
  });
  return local;
}
