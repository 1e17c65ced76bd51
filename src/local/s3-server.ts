// Embedded S3-protocol server on loopback for `imgpipe dev` and the tests.
//
// Layout: a small HTTP front on the public port does what real S3 does before it stores anything
// (SigV4 verification of headers and pre-signed URLs, aws-chunked decoding, Content-Length,
// x-amz-content-sha256, Content-MD5 and x-amz-checksum-* verification) and answers ListObjects
// (V1 and V2) itself. Everything else goes, verified and de-framed, to @20minutes/s3rver on an
// internal loopback port that only accepts requests carrying a per-process token. s3rver keeps
// the objects on disk in `dataDir`, so a restart keeps every stored object.
import { createReadStream, promises as fsp } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

import {
  BodyVerifier,
  S3Error,
  errorXml,
  parseQuery,
  planBody,
  uriDecode,
  uriEncode,
  verifySigV4,
  xmlEscape,
  type AuthContext,
} from './s3-guard.js';

export interface ObjectCreatedEvent {
  bucket: string;
  /** Raw key, NOT url-encoded. */
  key: string;
  size: number;
  eTag: string;
  /** 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload' */
  eventName: string;
  eventTime: string;
}

export interface LocalS3 {
  /** e.g. http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** 'us-east-1' */
  region: string;
  /** Called once per stored object, after it is readable. Returns an unsubscribe function. */
  onObjectCreated(listener: (ev: ObjectCreatedEvent) => void): () => void;
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** Where objects live; created if missing; reused across restarts. */
  dataDir: string;
  /** 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Created on start if missing. */
  buckets: string[];
  /** Default: LOCAL_S3_CREDENTIALS. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default true: nothing is logged. false: one line per request on stderr. */
  silent?: boolean;
}

export const LOCAL_S3_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
export const LOCAL_S3_REGION = 'us-east-1';

/** S3's single-PUT limit. */
const MAX_BODY_BYTES = 5 * 1024 ** 3;
/** Bodies up to this size are held in memory while verified; larger ones are spooled to a temp file. */
const MEMORY_SPOOL_BYTES = 8 * 1024 * 1024;
const INTERNAL_TOKEN_HEADER = 'x-imgpipe-local-s3-token';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_SUBRESOURCES = new Set([
  'accelerate', 'acl', 'analytics', 'cors', 'delete', 'encryption', 'intelligent-tiering', 'inventory',
  'lifecycle', 'location', 'logging', 'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy',
  'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment', 'tagging', 'uploads', 'versioning',
  'versions', 'website',
]);
/** Request headers that describe the wire format or the signature, not the object: never forwarded. */
const DROP_HEADERS = new Set([
  'authorization', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'expect',
  'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'content-md5', 'x-amz-content-sha256',
  'x-amz-decoded-content-length', 'x-amz-trailer', 'x-amz-date', 'x-amz-sdk-checksum-algorithm',
  'x-amz-checksum-crc32', 'x-amz-checksum-crc32c', 'x-amz-checksum-crc64nvme', 'x-amz-checksum-sha1',
  'x-amz-checksum-sha256', 'x-amz-security-token', INTERNAL_TOKEN_HEADER,
]);
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding', 'x-amz-request-id', 'x-amz-id-2']);

// ------------------------------------------------------------ s3rver ----

interface KoaContext {
  get(field: string): string;
  state: Record<string, unknown>;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => unknown;
type Metadata = Record<string, string | number | undefined>;
interface S3rverObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Metadata;
}
interface S3rverStore {
  getBucket(name: string): Promise<unknown>;
  listObjects(bucket: string, options: { prefix?: string }): Promise<{ objects: S3rverObject[] }>;
  getMetadata(bucket: string, key: string): Promise<Metadata>;
}
interface S3rverRecord {
  eventName: string;
  eventTime: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string } };
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: S3rverStore;
  on(event: 'event', listener: (ev: { Records?: S3rverRecord[] }) => void): unknown;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const requireCjs = createRequire(import.meta.url);

// -------------------------------------------------------------- spool ----

/** Holds a verified-so-far body: in memory while small, in a private temp file beyond that. */
class Spool {
  private chunks: Buffer[] = [];
  private fh: fsp.FileHandle | undefined;
  private file: string | undefined;
  size = 0;

  constructor(private readonly dir: string) {}

  async write(data: Buffer): Promise<void> {
    if (!this.fh && this.size + data.length <= MEMORY_SPOOL_BYTES) {
      this.chunks.push(data);
      this.size += data.length;
      return;
    }
    if (!this.fh) {
      this.file = path.join(this.dir, randomBytes(12).toString('hex'));
      this.fh = await fsp.open(this.file, 'wx', 0o600);
      const held = this.chunks;
      this.chunks = [];
      for (const c of held) await writeAll(this.fh, c);
    }
    await writeAll(this.fh, data);
    this.size += data.length;
  }

  async seal(): Promise<Buffer | string> {
    if (this.fh) {
      await this.fh.close();
      this.fh = undefined;
    }
    return this.file ?? Buffer.concat(this.chunks, this.size);
  }

  async dispose(): Promise<void> {
    this.chunks = [];
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    if (this.file) await fsp.rm(this.file, { force: true });
  }
}

async function writeAll(fh: fsp.FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

/** Read the body sequentially (with back-pressure) through `onChunk`; on failure keep draining and reject. */
function readBody(req: http.IncomingMessage, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    let chain: Promise<void> = Promise.resolve();
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      reject(err);
      req.resume(); // drain whatever is still coming; the response goes out now
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      req.pause();
      chain = chain.then(() => onChunk(chunk)).then(() => {
        if (!failed) req.resume();
      }, fail);
    });
    req.on('end', () => {
      chain.then(() => {
        if (!failed) resolve();
      }, fail);
    });
    req.on('aborted', () => fail(new S3Error('IncompleteBody', 'The request body terminated unexpectedly')));
    req.on('error', fail);
  });
}

// ------------------------------------------------------------- helpers ----

interface Target {
  /** undefined: service level (GET / = ListBuckets). */
  bucket?: string;
  /** undefined: bucket level. */
  key?: string;
}

function parseTarget(rawPath: string): Target {
  const segs = rawPath.slice(1).split('/');
  if (segs.length === 1 && segs[0] === '') return {};
  const bucket = uriDecode(segs[0], false);
  const rest = segs.slice(1);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return { bucket };
  return { bucket, key: rest.map((s) => uriDecode(s, false)).join('/') };
}

function validateBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new S3Error('InvalidBucketName', 'The specified bucket is not valid.', { BucketName: bucket });
  }
}

/** Keys S3 accepts but a directory tree cannot hold faithfully (or safely) are refused outright. */
function validateKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > 1024) {
    throw new S3Error('KeyTooLongError', 'Your key is too long', { MaxSizeAllowed: 1024, Size: Buffer.byteLength(key, 'utf8') });
  }
  const segs = key.split('/');
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    if ((s === '' && !last) || s === '.' || s === '..' || s.includes('._S3rver_') || s.includes('\0')) {
      throw new S3Error(
        'InvalidArgument',
        "The local S3 server cannot store keys with empty, '.' or '..' path segments (real S3 can; keep keys portable).",
        { ArgumentName: 'key', ArgumentValue: key },
      );
    }
  });
}

function objectPath(bucket: string, key: string | undefined): string {
  return '/' + uriEncode(bucket) + (key === undefined ? '' : '/' + key.split('/').map(uriEncode).join('/'));
}

function normalizeCopySource(value: string): string {
  let s = value.trim();
  const q = s.indexOf('?');
  if (q !== -1) s = s.slice(0, q); // ?versionId=: no versioning here
  try {
    s = decodeURIComponent(s);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding', { ArgumentName: 'x-amz-copy-source', ArgumentValue: value });
  }
  if (s.startsWith('/')) s = s.slice(1);
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey', {
      ArgumentName: 'x-amz-copy-source',
      ArgumentValue: value,
    });
  }
  const bucket = s.slice(0, slash);
  const key = s.slice(slash + 1);
  validateBucketName(bucket);
  validateKey(key);
  // s3rver reads this header with decodeURI(); encodeURI() round-trips through it exactly.
  return encodeURI(`/${bucket}/${key}`);
}

function toHeaderMap(req: http.IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headersDistinct)) if (v) out[k.toLowerCase()] = v;
  return out;
}

function randomRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function utf8Compare(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/** encoding-type=url: percent-encode everything but unreserved characters and '/'. */
function urlEncodeKey(s: string): string {
  return s.split('/').map(uriEncode).join('/');
}

// -------------------------------------------------------------- server ----

export async function startLocalS3(opts: LocalS3Options): Promise<LocalS3> {
  const host = opts.host ?? '127.0.0.1';
  const credentials = { ...(opts.credentials ?? LOCAL_S3_CREDENTIALS) };
  const region = LOCAL_S3_REGION;
  const silent = opts.silent ?? true;
  if (!credentials.accessKeyId || !credentials.secretAccessKey) throw new Error('startLocalS3: empty credentials');
  for (const b of opts.buckets) {
    try {
      validateBucketName(b);
    } catch {
      throw new Error(`startLocalS3: invalid bucket name ${JSON.stringify(b)}`);
    }
  }
  const dataDir = path.resolve(opts.dataDir);
  await fsp.mkdir(dataDir, { recursive: true });
  const spoolDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-spool-'));
  const token = randomBytes(24).toString('hex');
  const hostId = randomBytes(24).toString('base64');

  const S3rver = requireCjs('@20minutes/s3rver') as S3rverConstructor;
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dataDir,
    silent: true, // s3rver's own logging would show internal requests on stdout
    vhostBuckets: false,
    allowMismatchedSignatures: false,
    resetOnClose: false,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  });
  // First middleware: only the front may talk to s3rver, and what it forwards is already authenticated
  // (marking it so lets s3rver honour response-* overrides, which it refuses for anonymous requests).
  s3rver.middleware.unshift(async (ctx, next) => {
    if (ctx.get(INTERNAL_TOKEN_HEADER) !== token) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body = errorXml(new S3Error('AccessDenied', 'Access Denied'), randomRequestId(), hostId);
      return;
    }
    ctx.state.account = { id: 'imgpipe-local', displayName: 'imgpipe-local' };
    return next();
  });

  // ---- events
  const listeners = new Set<(ev: ObjectCreatedEvent) => void>();
  const dispatch = (ev: ObjectCreatedEvent): void => {
    for (const l of [...listeners]) {
      try {
        const r = l(ev) as unknown;
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (err: unknown) => reportListenerError(err));
        }
      } catch (err) {
        reportListenerError(err);
      }
    }
  };
  const reportListenerError = (err: unknown): void => {
    process.stderr.write(`[local-s3] onObjectCreated listener failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  };
  s3rver.on('event', (ev) => {
    for (const r of ev.Records ?? []) {
      if (!r.eventName.startsWith('ObjectCreated:')) continue;
      const bucket = r.s3.bucket.name;
      const key = r.s3.object.key;
      // s3rver reports multipart completion as 'Post' (browser POST uploads are refused at the front).
      const eventName = r.eventName === 'ObjectCreated:Post' ? 'ObjectCreated:CompleteMultipartUpload' : r.eventName;
      const known = r.s3.object.eTag !== undefined && r.s3.object.size !== undefined;
      const ready = known
        ? Promise.resolve({ eTag: r.s3.object.eTag!, size: r.s3.object.size! })
        : s3rver.store.getMetadata(bucket, key).then((md) => ({
            eTag: JSON.parse(String(md.etag)) as string,
            size: Number(md['content-length']),
          }));
      // The store has written data and metadata before s3rver emits; deliver on a later tick so
      // listeners never run inside s3rver's request handling.
      ready.then(
        ({ eTag, size }) => setImmediate(() => dispatch({ bucket, key, size, eTag, eventName, eventTime: r.eventTime })),
        (err: unknown) => reportListenerError(err),
      );
    }
  });

  let internal: { port: number };
  try {
    internal = await s3rver.run();
  } catch (err) {
    await fsp.rm(spoolDir, { recursive: true, force: true });
    throw err;
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  // ---- forwarding
  interface ForwardOptions {
    method: string;
    path: string;
    headers: http.OutgoingHttpHeaders;
    body?: Buffer | string;
    res: http.ServerResponse;
    extraResponseHeaders?: Record<string, string>;
  }
  const forward = (f: ForwardOptions): Promise<number> =>
    new Promise((resolve, reject) => {
      const upstream = http.request(
        { host: '127.0.0.1', port: internal.port, method: f.method, path: f.path, headers: { ...f.headers, [INTERNAL_TOKEN_HEADER]: token }, agent },
        (ures) => {
          const headers: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(ures.headers)) if (v !== undefined && !HOP_BY_HOP_RESPONSE.has(k)) headers[k] = v;
          const status = ures.statusCode ?? 502;
          if (status < 300 && f.extraResponseHeaders) Object.assign(headers, f.extraResponseHeaders);
          f.res.writeHead(status, headers);
          pipeline(ures, f.res).then(() => resolve(status), reject);
        },
      );
      upstream.on('error', reject);
      if (f.body === undefined) upstream.end();
      else if (typeof f.body === 'string') pipeline(createReadStream(f.body), upstream).catch(reject);
      else upstream.end(f.body);
    });

  // ---- ListObjects (V1 and V2) and HeadBucket, answered here
  const listBucket = async (
    bucket: string,
    params: Array<[string, string]>,
    res: http.ServerResponse,
  ): Promise<number> => {
    const p = new Map(params);
    const v2 = p.get('list-type') === '2';
    if (p.has('list-type') && !v2) {
      throw new S3Error('InvalidArgument', 'Invalid List Type specified in Request', { ArgumentName: 'list-type', ArgumentValue: p.get('list-type')! });
    }
    const encodingType = p.get('encoding-type');
    if (encodingType !== undefined && encodingType !== 'url') {
      throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type', ArgumentValue: encodingType });
    }
    let maxKeys = 1000;
    const mk = p.get('max-keys');
    if (mk !== undefined) {
      if (!/^\d+$/.test(mk) || Number(mk) > 2147483647) {
        throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys', ArgumentValue: mk });
      }
      maxKeys = Math.min(1000, Number(mk));
    }
    const prefix = p.get('prefix') ?? '';
    const delimiter = p.get('delimiter') ?? '';
    let start = '';
    const token = p.get('continuation-token');
    if (v2) {
      if (p.has('marker')) throw new S3Error('InvalidArgument', 'Marker unsupported with REST.GET.BUCKET in list-type=2', { ArgumentName: 'marker' });
      if (token !== undefined) {
        let decoded: { b?: unknown; k?: unknown } = {};
        try {
          decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as typeof decoded;
        } catch {
          /* below */
        }
        if (decoded.b !== bucket || typeof decoded.k !== 'string') {
          throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
        }
        start = decoded.k;
      } else {
        start = p.get('start-after') ?? '';
      }
    } else {
      if (p.has('continuation-token')) {
        throw new S3Error('InvalidArgument', 'continuation-token only supported in REST.GET.BUCKET with list-type=2', { ArgumentName: 'continuation-token' });
      }
      if (p.has('start-after')) {
        throw new S3Error('InvalidArgument', 'startAfter only supported in REST.GET.BUCKET with list-type=2', { ArgumentName: 'start-after' });
      }
      start = p.get('marker') ?? '';
    }

    if (!(await s3rver.store.getBucket(bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    const { objects } = await s3rver.store.listObjects(bucket, { prefix });
    const sorted = objects
      .filter((o) => o.key.startsWith(prefix))
      .map((o) => ({ o, k: Buffer.from(o.key, 'utf8') }))
      .sort((a, b) => utf8Compare(a.k, b.k));
    const startBuf = Buffer.from(start, 'utf8');
    type Item = { kind: 'key'; o: S3rverObject } | { kind: 'prefix'; p: string };
    const items: Item[] = [];
    let lastPrefix: string | undefined;
    let truncated = false;
    for (const { o, k } of sorted) {
      if (start && utf8Compare(k, startBuf) <= 0) continue;
      if (maxKeys === 0) break;
      if (delimiter) {
        const idx = o.key.indexOf(delimiter, prefix.length);
        if (idx !== -1) {
          const cp = o.key.slice(0, idx + delimiter.length);
          if (cp === lastPrefix) continue;
          // A common prefix at or before `start` was already listed, unless `start` lies strictly inside it.
          if (start && utf8Compare(Buffer.from(cp, 'utf8'), startBuf) <= 0 && !(start.startsWith(cp) && start !== cp)) continue;
          if (items.length >= maxKeys) {
            truncated = true;
            break;
          }
          items.push({ kind: 'prefix', p: cp });
          lastPrefix = cp;
          continue;
        }
      }
      if (items.length >= maxKeys) {
        truncated = true;
        break;
      }
      items.push({ kind: 'key', o });
    }

    const enc = (s: string): string => xmlEscape(encodingType === 'url' ? urlEncodeKey(s) : s);
    const last = items.length ? items[items.length - 1] : undefined;
    const lastName = last ? (last.kind === 'key' ? last.o.key : last.p) : '';
    const owner = '<Owner><ID>imgpipe-local</ID><DisplayName>imgpipe-local</DisplayName></Owner>';
    const withOwner = !v2 || p.get('fetch-owner') === 'true';
    let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
    xml += `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>`;
    if (v2) {
      if (token !== undefined) xml += `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`;
      else if (p.has('start-after')) xml += `<StartAfter>${enc(start)}</StartAfter>`;
      xml += `<KeyCount>${items.length}</KeyCount>`;
    } else {
      xml += `<Marker>${enc(start)}</Marker>`;
      if (truncated && delimiter) xml += `<NextMarker>${enc(lastName)}</NextMarker>`;
    }
    xml += `<MaxKeys>${mk ?? 1000}</MaxKeys>`;
    if (delimiter) xml += `<Delimiter>${enc(delimiter)}</Delimiter>`;
    if (encodingType) xml += `<EncodingType>url</EncodingType>`;
    xml += `<IsTruncated>${truncated}</IsTruncated>`;
    if (v2 && truncated) {
      xml += `<NextContinuationToken>${Buffer.from(JSON.stringify({ b: bucket, k: lastName })).toString('base64')}</NextContinuationToken>`;
    }
    for (const it of items) {
      if (it.kind !== 'key') continue;
      const md = it.o.metadata;
      xml +=
        `<Contents><Key>${enc(it.o.key)}</Key><LastModified>${new Date(String(md['last-modified'])).toISOString()}</LastModified>` +
        `<ETag>${xmlEscape(String(md.etag))}</ETag><Size>${Number(md['content-length'])}</Size>` +
        `${withOwner ? owner : ''}<StorageClass>STANDARD</StorageClass></Contents>`;
    }
    for (const it of items) if (it.kind === 'prefix') xml += `<CommonPrefixes><Prefix>${enc(it.p)}</Prefix></CommonPrefixes>`;
    xml += '</ListBucketResult>';
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
    return 200;
  };

  // ---- the front
  const log = (method: string, url: string, status: number, code?: string): void => {
    if (!silent) process.stderr.write(`[local-s3] ${method} ${url} ${status}${code ? ' ' + code : ''}\n`);
  };

  const sendError = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown, requestId: string): S3Error => {
    const e = err instanceof S3Error ? err : new S3Error('InternalError', 'We encountered an internal error. Please try again.', {}, 500);
    if (!(err instanceof S3Error) && !silent) {
      process.stderr.write(`[local-s3] internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return e;
    }
    const body = req.method === 'HEAD' ? '' : errorXml(e, requestId, hostId);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
      'x-amz-id-2': hostId,
    };
    // A client waiting for 100-continue never sent its body: don't leave the connection mid-request.
    if (!req.complete && req.headers.expect?.toLowerCase() === '100-continue') headers.connection = 'close';
    res.writeHead(e.status, headers);
    res.end(body);
    if (!req.complete) req.resume();
    return e;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): Promise<void> => {
    const requestId = randomRequestId();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);
    const method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    let spool: Spool | undefined;
    try {
      if (!url.startsWith('/')) throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: url });
      const qi = url.indexOf('?');
      const rawPath = qi === -1 ? url : url.slice(0, qi);
      const rawQuery = qi === -1 ? '' : url.slice(qi + 1);
      const target = parseTarget(rawPath);

      if (method === 'OPTIONS') {
        // CORS pre-flight: never signed; s3rver answers from the bucket's CORS configuration.
        const headers: http.OutgoingHttpHeaders = { ...req.headers };
        for (const h of DROP_HEADERS) delete headers[h];
        log(method, url, await forward({ method, path: url, headers, res }));
        return;
      }
      const params = parseQuery(rawQuery);
      const has = (n: string): boolean => params.some(([k]) => k === n);
      if (method === 'POST' && target.bucket !== undefined && target.key === undefined && !has('delete')) {
        throw new S3Error('NotImplemented', 'Browser-based POST uploads are not supported by the local S3 server; use a pre-signed PUT.');
      }

      const auth: AuthContext | null = verifySigV4(
        { method, rawPath, rawQuery, headers: toHeaderMap(req) },
        { ...credentials, region, now: Date.now() },
      );
      if (!auth) throw new S3Error('AccessDenied', 'Access Denied');
      if (target.bucket !== undefined) validateBucketName(target.bucket);
      if (target.key !== undefined) validateKey(target.key);

      // Effective request headers: what was sent plus, for pre-signed URLs, the hoisted x-amz-* params.
      const eff = new Map<string, string>();
      for (const [k, v] of Object.entries(req.headersDistinct)) if (v) eff.set(k.toLowerCase(), v.join(','));
      for (const [k, v] of auth.hoistedHeaders) {
        if (eff.has(k) && eff.get(k) !== v) {
          throw new S3Error('InvalidRequest', `${k} is given both as a header and as a query parameter, with different values.`);
        }
        eff.set(k, v);
      }
      const isUpload =
        method === 'PUT' && target.key !== undefined && !eff.has('x-amz-copy-source') &&
        params.every(([k]) => k === 'partNumber' || k === 'uploadId' || k === 'x-id' || k.toLowerCase().startsWith('x-amz-'));
      const plan = planBody(method, eff, auth, { requireLength: isUpload, maxBytes: MAX_BODY_BYTES });

      // Headers are acceptable: now (and only now) let a 100-continue client send its body.
      if (expectsContinue) res.writeContinue();
      const s = (spool = new Spool(spoolDir));
      const verifier = new BodyVerifier(plan, auth, MAX_BODY_BYTES);
      await readBody(req, async (chunk) => {
        for (const piece of verifier.push(chunk)) await s.write(piece);
      });
      const verified = verifier.finish();
      const body = await s.seal();

      // ---- route
      if (target.bucket !== undefined && target.key === undefined && (method === 'GET' || method === 'HEAD')) {
        const sub = params.find(([k]) => BUCKET_SUBRESOURCES.has(k));
        if (!sub) {
          if (method === 'HEAD') {
            if (!(await s3rver.store.getBucket(target.bucket))) {
              throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: target.bucket });
            }
            res.writeHead(200, { 'x-amz-bucket-region': region, 'content-length': 0 });
            res.end();
            log(method, url, 200);
            return;
          }
          log(method, url, await listBucket(target.bucket, params, res));
          return;
        }
      }

      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of eff) {
        if (DROP_HEADERS.has(k) || k.startsWith('x-amz-checksum-') || k.startsWith('amz-sdk-')) continue;
        headers[k] = v;
      }
      if (plan.contentEncoding) headers['content-encoding'] = plan.contentEncoding;
      if (headers['x-amz-copy-source'] !== undefined) headers['x-amz-copy-source'] = normalizeCopySource(String(headers['x-amz-copy-source']));
      const sendsBody = method === 'PUT' || method === 'POST';
      if (sendsBody) headers['content-length'] = String(verified.length);
      const forwardQuery = params
        .filter(([k]) => !k.toLowerCase().startsWith('x-amz-'))
        .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
        .join('&');
      const fpath =
        (target.bucket === undefined ? '/' : objectPath(target.bucket, target.key)) + (forwardQuery ? `?${forwardQuery}` : '');
      const status = await forward({
        method,
        path: fpath,
        headers,
        body: sendsBody ? body : undefined,
        res,
        extraResponseHeaders: verified.checksum && isUpload ? { [verified.checksum.header]: verified.checksum.value } : undefined,
      });
      log(method, url, status);
    } catch (err) {
      const e = sendError(req, res, err, requestId);
      log(method, url, e.status, e.code);
    } finally {
      await spool?.dispose().catch(() => undefined);
    }
  };

  const server = http.createServer();
  // Outlive the SDK's idle keep-alive sockets so a client never reuses one we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  const serve = (expectsContinue: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res, expectsContinue).catch(() => res.destroy());
  };
  server.on('request', serve(false));
  server.on('checkContinue', serve(true));
  // Unparseable HTTP, or a connection that ends inside a body: answer in S3's format where the
  // socket still allows it (node would send a bare 400), then drop the connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => {
    const inflight = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
    if (err.code !== 'ECONNRESET' && socket.writable && !inflight?.headersSent) {
      const e =
        err.code === 'HPE_INVALID_EOF_STATE'
          ? new S3Error('IncompleteBody', 'The request body terminated unexpectedly')
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? new S3Error('RequestHeaderSectionTooLarge', 'Your request header section exceeds the maximum allowed size.', {}, 400)
            : new S3Error('BadRequest', 'An error occurred when parsing the HTTP request.', {}, 400);
      const body = errorXml(e, randomRequestId(), hostId);
      socket.end(
        `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/xml\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
      log('-', '(unparseable request)', e.status, e.code);
      return;
    }
    socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    agent.destroy();
    await s3rver.close().catch(() => undefined);
    await fsp.rm(spoolDir, { recursive: true, force: true });
    throw err;
  }
  const port = (server.address() as import('node:net').AddressInfo).port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(timer);
      agent.destroy();
      await s3rver.close().catch(() => undefined);
      listeners.clear();
      await fsp.rm(spoolDir, { recursive: true, force: true });
    })());

  return {
    endpoint,
    port,
    credentials,
    region,
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close,
  };
}
