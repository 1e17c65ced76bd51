// An S3-protocol server for loopback: SigV4 and checksum verification in front, atomic storage that
// no client string can steer behind, and a durable ObjectCreated queue. See ../README.md.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { folderCredentials, type Credentials } from './credentials.js';
import { EventDelivery, type ConsumeOptions, type EventHandler, type ObjectCreatedEvent } from './events.js';
import { validateBucketName } from './keys.js';
import { corsRule, type CorsOptions } from './http/cors.js';
import { createFront } from './server.js';
import { isRemoval, Store } from './storage/store.js';

export { folderCredentials, readFolderCredentials, CREDENTIALS_FILE, type Credentials } from './credentials.js';
export type { ObjectCreatedEvent, ConsumeOptions, EventHandler } from './events.js';
export type { EventDelivery } from './events.js';
export { S3Error, S3_ERRORS, errorXml, xmlEscape, type S3ErrorCode } from './errors.js';
export * from './sigv4.js';
export * from './checksums.js';
export { AwsChunkedDecoder } from './chunked.js';
export { planBody, BodyVerifier } from './body.js';
export { uriEncode, uriDecode, parseQuery } from './uri.js';
export { CORS_DEFAULTS, type CorsOptions } from './http/cors.js';
/** What one request may carry, in bytes: key, user metadata, header section, body, trailer, XML body. */
export { LIMITS } from './limits.js';

export const LOCAL_S3_REGION = 'us-east-1';

export interface LocalS3Options {
  /** Where objects live; created if missing; reused across restarts. */
  dataDir: string;
  /** 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Created on start if missing. */
  buckets: string[];
  /** Default: the data folder's own random pair (created on first start). */
  credentials?: Credentials;
  /** Buckets whose ObjectCreated and ObjectRemoved events are queued durably for `consumeEvents` (default: all). */
  notify?: string[];
  /** More Host header values to accept, e.g. a proxy's "127.0.0.1:PORT" that pre-signed URLs name. */
  allowedHosts?: string[];
  /**
   * Let web pages at these origins use the server from a browser (pre-signed PUTs, GETs). `origins`
   * may be a function, re-read on every request (a page's port is often known only later).
   * Default: no CORS; OPTIONS is refused with 403 and no Access-Control-* header is sent.
   */
  cors?: CorsOptions;
  /**
   * Open connections at most (default 512, below the usual 1,024 descriptors): past it the
   * connection idle the longest is closed; when none is idle, the new one is.
   */
  maxConnections?: number;
  /** Default true: nothing is logged. false: one line per request on stderr. */
  silent?: boolean;
  /**
   * Default true: bytes and index are fdatasync'ed before a write is acknowledged (survives power
   * loss). false: only a process crash is survived; for measuring what fsync costs.
   */
  fsync?: boolean;
}

export interface LocalS3 {
  /** e.g. http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  credentials: Credentials;
  region: string;
  /** In-process tap: called once per stored object, after it is readable (never for a delete). Not durable. */
  onObjectCreated(listener: (ev: ObjectCreatedEvent) => void): () => void;
  /** Durable delivery of ObjectCreated and ObjectRemoved events: pending ones from earlier runs first, then new ones, each until handled. */
  consumeEvents(handler: EventHandler, opts?: ConsumeOptions): EventDelivery;
  /**
   * Announce an object again, unchanged, as if it had just been stored (durably, with a new event
   * of its own): how a pipeline re-queues a photo whose processing never finished. False when
   * there is no such object or its bucket does not notify.
   */
  renotify(bucket: string, key: string): Promise<boolean>;
  close(): Promise<void>;
}

function loopbackNames(host: string, port: number): string[] {
  const names = [host.includes(':') ? `[${host}]` : host];
  if (host === '127.0.0.1' || host === '::1') names.push('localhost', '127.0.0.1', '[::1]');
  return names.map((n) => `${n}:${port}`.toLowerCase());
}

/** What happens when an object is committed or deleted: durable consumers get it, then (stored objects only) in-process listeners. */
function announcer(listeners: Set<(ev: ObjectCreatedEvent) => void>, deliveries: Set<EventDelivery>): (ev: ObjectCreatedEvent) => void {
  return (ev) => {
    for (const d of deliveries) if (ev.seq) d.push(ev);
    if (isRemoval(ev)) return;
    for (const l of [...listeners]) {
      // Later tick: a listener never runs inside the request, and a throwing one harms nothing.
      setImmediate(() => {
        try {
          l(ev);
        } catch (err) {
          process.stderr.write(`[local-s3] onObjectCreated listener failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        }
      });
    }
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * An S3 server on loopback for any S3 client, its data in `opts.dataDir`. examples/api/local-s3.mjs
 * puts, lists and reads an object through the AWS SDK (test/api-examples.test.ts runs that file).
 *
 * @example
 * const server = await startLocalS3({ dataDir: '.imgpipe/data', buckets: ['photos'] });
 * const s3 = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
 */
export async function startLocalS3(opts: LocalS3Options): Promise<LocalS3> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.silent === false ? (l: string) => process.stderr.write(`[local-s3] ${l}\n`) : () => {};
  for (const b of opts.buckets) {
    try {
      validateBucketName(b);
    } catch {
      throw new Error(`startLocalS3: invalid bucket name ${JSON.stringify(b)}`);
    }
  }
  const cors = opts.cors ? corsRule(opts.cors) : undefined;
  const dataDir = path.resolve(opts.dataDir);
  const store = await Store.open(dataDir, opts.fsync ?? true);
  const credentials = { ...(opts.credentials ?? (await folderCredentials(dataDir))) };
  if (!credentials.accessKeyId || !credentials.secretAccessKey) throw new Error('startLocalS3: empty credentials');
  for (const b of opts.buckets) await store.createBucket(b);

  const listeners = new Set<(ev: ObjectCreatedEvent) => void>();
  const deliveries = new Set<EventDelivery>();
  const notify = opts.notify ? new Set(opts.notify) : undefined;
  const announce = announcer(listeners, deliveries);
  let allowed = new Set<string>();
  const server = createFront({
    server: { store, region: LOCAL_S3_REGION, hostId: randomBytes(24).toString('base64'), notifies: (b) => !notify || notify.has(b), announce },
    credentials,
    allowedHosts: () => allowed,
    cors,
    log,
    maxConnections: opts.maxConnections ?? 512,
  });
  const port = await listen(server, opts.port ?? 0, host).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  allowed = new Set([...loopbackNames(host, port), ...(opts.allowedHosts ?? []).map((h) => h.toLowerCase())]);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      for (const d of deliveries) await d.close(); // running handlers may still need the server
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 5000);
      await closed;
      clearTimeout(timer);
      listeners.clear();
      await store.close();
    })());

  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    credentials,
    region: LOCAL_S3_REGION,
    onObjectCreated(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    consumeEvents(handler, consumeOpts) {
      const d = new EventDelivery(store, handler, consumeOpts);
      deliveries.add(d);
      return d;
    },
    async renotify(bucket, key) {
      const meta = store.get(bucket, key);
      if (!meta || (notify && !notify.has(bucket))) return false;
      // The same version again (same blob): replay sets nothing new, and keeps the event.
      const ev = await store.put(bucket, key, meta, 'ObjectCreated:Put');
      if (ev) announce(ev);
      return true;
    },
    close,
  };
}
