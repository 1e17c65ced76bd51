// GetObject, HeadObject, PutObject, CopyObject, DeleteObject.
import { pipeline } from 'node:stream/promises';
import { S3Error, xmlEscape } from '../errors.js';
import { validateBucketName, validateKey } from '../keys.js';
import { blobFields, blobsOf, segmentsOf, type ObjectMeta } from '../storage/records.js';
import type { BlobWriter } from '../storage/blobs.js';
import { plan, receive, requireBucket, sendEmpty, sendXml, type RequestContext } from './context.js';
import { describedBy, parseRange, responseHeaders } from './object-meta.js';
import { checkWrite, claimWrite, writeCondition } from './write-conditions.js';

function noSuchKey(key: string): S3Error {
  return new S3Error('NoSuchKey', { Key: key });
}

/** If-Match / If-None-Match / If-(Un)Modified-Since, as S3 evaluates them; true: answer 304. */
function notModified(ctx: RequestContext, meta: ObjectMeta): boolean {
  const h = ctx.headers;
  const etag = `"${meta.etag}"`;
  const matches = (list: string) => list.split(',').some((t) => t.trim() === '*' || t.trim() === etag || t.trim() === meta.etag);
  const seconds = Math.floor(meta.lastModified / 1000) * 1000;
  const ifMatch = h.get('if-match');
  if (ifMatch !== undefined && !matches(ifMatch)) throw new S3Error('PreconditionFailed', { Condition: 'If-Match' });
  const unmodified = Date.parse(h.get('if-unmodified-since') ?? '');
  if (ifMatch === undefined && !Number.isNaN(unmodified) && seconds > unmodified) {
    throw new S3Error('PreconditionFailed', { Condition: 'If-Unmodified-Since' });
  }
  const ifNoneMatch = h.get('if-none-match');
  const modified = Date.parse(h.get('if-modified-since') ?? '');
  return (ifNoneMatch !== undefined && matches(ifNoneMatch)) || (ifNoneMatch === undefined && !Number.isNaN(modified) && seconds <= modified);
}

/**
 * A body the client stopped reading: it closed the connection (urllib does, right after the last
 * byte of a Connection: close answer, sometimes before the response's 'finish'). The blob stream is
 * already closed by pipeline; nothing is left to answer, and it is no internal error of ours.
 */
function clientGone(err: unknown): void {
  if ((err as NodeJS.ErrnoException)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
}

export async function getObject(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const key = ctx.target.key!;
  await receive(ctx, plan(ctx, false), () => undefined);
  const store = ctx.server.store;
  const meta = store.get(bucket, key);
  if (!meta) throw noSuchKey(key);
  const unpin = store.blobs.pinAll(blobsOf(meta)); // taken in the same tick as the lookup: an overwrite cannot delete them now
  try {
    const headers = responseHeaders(meta, ctx.params);
    if (notModified(ctx, meta)) {
      // Not an error: no body, and the validators the client compares next time (as S3 sends them).
      ctx.res.writeHead(304, { etag: String(headers.etag), 'last-modified': String(headers['last-modified']) });
      ctx.res.end();
      return;
    }
    const range = parseRange(ctx.headers.get('range'), meta.size);
    if (range === 'unsatisfiable') {
      throw new S3Error('InvalidRange', { ActualObjectSize: meta.size, RangeRequested: ctx.headers.get('range') ?? '' });
    }
    if (!range && meta.checksum && ctx.headers.get('x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
      headers[`x-amz-checksum-${meta.checksum.algorithm.toLowerCase()}`] = meta.checksum.value;
      headers['x-amz-checksum-type'] = meta.checksum.type ?? 'FULL_OBJECT';
    }
    const status = range ? 206 : 200;
    headers['content-length'] = range ? range.end - range.start + 1 : meta.size;
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${meta.size}`;
    ctx.res.writeHead(status, headers);
    if (ctx.method === 'HEAD' || meta.size === 0) {
      ctx.res.end();
      return;
    }
    await pipeline(store.blobs.readSegments(segmentsOf(meta), range), ctx.res).catch(clientGone);
  } finally {
    unpin();
  }
}

/** Write a verified body into a new blob: committed (fsynced) on success, deleted on any failure. */
async function writeBlob(
  ctx: RequestContext,
  requireLength = true,
): Promise<{ blob: BlobWriter; md5: string; contentEncoding?: string; checksum?: { algorithm: string; header: string; value: string } }> {
  const bodyPlan = plan(ctx, requireLength);
  const blob = await ctx.server.store.blobs.create();
  try {
    const verified = await receive(ctx, bodyPlan, (piece) => blob.write(piece));
    await blob.commit();
    const checksum = verified.checksum && bodyPlan.checksum ? { algorithm: bodyPlan.checksum.algorithm, ...verified.checksum } : undefined;
    return { blob, md5: verified.md5.toString('hex'), contentEncoding: bodyPlan.contentEncoding, checksum };
  } catch (err) {
    await blob.discard();
    throw err;
  }
}

/** Index `meta` as bucket/key; on failure its bytes go. Then announce it. */
export async function commitObject(ctx: RequestContext, bucket: string, key: string, meta: ObjectMeta, eventName: string): Promise<void> {
  const store = ctx.server.store;
  let ev;
  let release = () => undefined as void;
  try {
    // If-None-Match / If-Match: checked and the key held in this tick, released once indexed.
    release = claimWrite(store, bucket, key, eventName === 'ObjectCreated:Copy' ? undefined : writeCondition(ctx.headers));
    ev = await store.put(bucket, key, meta, ctx.server.notifies(bucket) ? eventName : undefined);
  } catch (err) {
    for (const id of blobsOf(meta)) store.blobs.remove(id);
    throw err;
  } finally {
    release();
  }
  ctx.server.announce(ev ?? { seq: 0, bucket, key, size: meta.size, eTag: meta.etag, eventName, eventTime: new Date(meta.lastModified).toISOString() });
}

export async function putObject(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const key = ctx.target.key!;
  if (ctx.headers.has('x-amz-copy-source')) return copyObject(ctx, bucket, key);
  describedBy(ctx.headers, undefined); // its refusals (metadata too large) before the body is read
  const cond = writeCondition(ctx.headers);
  if (cond) checkWrite(ctx.server.store, bucket, key, cond); // early; checked again, atomically, at commit
  const { blob, md5, checksum, contentEncoding } = await writeBlob(ctx);
  const described = describedBy(ctx.headers, contentEncoding);
  const meta: ObjectMeta = {
    blob: blob.id,
    size: blob.size,
    etag: md5,
    ...described,
    lastModified: Date.now(),
    checksum: checksum ? { algorithm: checksum.algorithm, value: checksum.value } : undefined,
  };
  await commitObject(ctx, bucket, key, meta, 'ObjectCreated:Put');
  sendEmpty(ctx, 200, { etag: `"${md5}"`, ...(checksum ? { [checksum.header]: checksum.value } : {}) });
}

function parseCopySource(value: string): { bucket: string; key: string } {
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
  return { bucket, key };
}

async function copyObject(ctx: RequestContext, bucket: string, key: string): Promise<void> {
  const src = parseCopySource(ctx.headers.get('x-amz-copy-source')!);
  const replace = ctx.headers.get('x-amz-metadata-directive')?.toUpperCase() === 'REPLACE';
  const described = replace ? describedBy(ctx.headers, undefined) : undefined;
  await receive(ctx, plan(ctx, false), () => undefined);
  const store = ctx.server.store;
  const from = store.get(src.bucket, src.key);
  if (!from) throw noSuchKey(src.key);
  if (!replace && src.bucket === bucket && src.key === key) {
    throw new S3Error('InvalidRequest', 'This copy request is illegal because it is trying to copy an object to itself without changing the object\'s metadata.');
  }
  const unpin = store.blobs.pinAll(blobsOf(from));
  let blobs: string[];
  try {
    blobs = await store.blobs.duplicateAll(blobsOf(from));
  } finally {
    unpin();
  }
  const kept = described ?? { contentType: from.contentType, headers: from.headers, userMeta: from.userMeta };
  const meta: ObjectMeta = { ...from, ...kept, ...blobFields(blobs), lastModified: Date.now() };
  await commitObject(ctx, bucket, key, meta, 'ObjectCreated:Copy');
  sendXml(ctx, `<CopyObjectResult><LastModified>${new Date(meta.lastModified).toISOString()}</LastModified><ETag>"${xmlEscape(meta.etag)}"</ETag></CopyObjectResult>`);
}

/** Delete bucket/key and, for a bucket that notifies, queue its ObjectRemoved:Delete (as S3 does for DeleteObject and DeleteObjects). */
export async function removeObject(ctx: RequestContext, bucket: string, key: string): Promise<void> {
  const ev = await ctx.server.store.delete(bucket, key, ctx.server.notifies(bucket) ? 'ObjectRemoved:Delete' : undefined);
  if (ev) ctx.server.announce(ev);
}

export async function deleteObject(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  await receive(ctx, plan(ctx, false), () => undefined);
  await removeObject(ctx, bucket, ctx.target.key!);
  sendEmpty(ctx, 204);
}

export { writeBlob };
