// One request as the handlers see it: where it goes, who signed it, its effective headers, and
// the one way to read its body (through every check S3 makes) into a sink.
import type http from 'node:http';
import { BodyVerifier, planBody, type BodyPlan, type BodyResult } from '../body.js';
import { BODY_ENDED_EARLY, S3Error } from '../errors.js';
import type { Target } from '../keys.js';
import type { AuthContext } from '../sigv4.js';
import type { Store } from '../storage/store.js';
import type { ObjectCreatedEvent } from '../events.js';
import { LIMITS } from '../limits.js';

export interface ServerContext {
  store: Store;
  region: string;
  hostId: string;
  /** Buckets whose ObjectCreated and ObjectRemoved events are queued durably. */
  notifies(bucket: string): boolean;
  /** Called after an object is committed and readable, or deleted (with its queued ObjectRemoved event). */
  announce(ev: ObjectCreatedEvent): void;
}

export interface RequestContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  target: Target;
  params: Map<string, string>;
  /** Lower-case header names to values, with a pre-signed URL's x-amz-* parameters hoisted in. */
  headers: Map<string, string>;
  auth: AuthContext;
  expectsContinue: boolean;
  server: ServerContext;
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
    req.on('end', () => chain.then(() => (failed ? undefined : resolve()), fail));
    const cut = (): void => {
      if (!req.complete) fail(new S3Error('IncompleteBody', BODY_ENDED_EARLY));
    };
    req.on('close', cut);
    req.on('error', fail);
    // The connection may have gone while the request was checked and its blob opened: no event
    // comes then, and waiting for one would hold the blob's file handle until GC.
    if (req.destroyed) cut();
  });
}

/** What the body must be, from the headers alone: refusals before a byte is read. */
export function plan(ctx: RequestContext, requireLength: boolean): BodyPlan {
  return planBody(ctx.method, ctx.headers, ctx.auth, { requireLength, maxBytes: LIMITS.bodyBytes });
}

/** Read and verify the body; decoded bytes go to `sink`. Only now may a 100-continue client send it. */
export async function receive(ctx: RequestContext, bodyPlan: BodyPlan, sink: (piece: Buffer) => Promise<void> | void): Promise<BodyResult> {
  if (ctx.expectsContinue) ctx.res.writeContinue();
  const verifier = new BodyVerifier(bodyPlan, ctx.auth, LIMITS.bodyBytes);
  await readBody(ctx.req, async (chunk) => {
    for (const piece of verifier.push(chunk)) await sink(piece);
  });
  return verifier.finish();
}

/** A small body, verified, in memory. */
export async function receiveSmall(ctx: RequestContext, limit = LIMITS.xmlBodyBytes): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  await receive(ctx, plan(ctx, false), (piece) => {
    size += piece.length;
    if (size > limit) throw new S3Error('MaxMessageLengthExceeded');
    chunks.push(piece);
  });
  return Buffer.concat(chunks, size);
}

export function sendXml(ctx: RequestContext, xml: string, status = 200, headers: Record<string, string> = {}): void {
  const body = '<?xml version="1.0" encoding="UTF-8"?>\n' + xml;
  ctx.res.writeHead(status, { ...headers, 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string | number> = {}): void {
  ctx.res.writeHead(status, { ...headers, 'content-length': 0 });
  ctx.res.end();
}

export function requireBucket(ctx: RequestContext): string {
  const bucket = ctx.target.bucket!;
  if (!ctx.server.store.hasBucket(bucket)) throw new S3Error('NoSuchBucket', { BucketName: bucket });
  return bucket;
}
