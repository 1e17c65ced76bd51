// Multipart uploads. Upload ids are the server's own (random, 32 hex) and checked on every call;
// part numbers are integers 1–10,000; parts are blobs like any object, never paths.
import { S3Error, xmlEscape } from '../errors.js';
import { isBlobId } from '../storage/blobs.js';
import type { Upload } from '../storage/store.js';
import { plan, receive, requireBucket, sendEmpty, sendXml, type RequestContext } from './context.js';
import { checksumHeaders, declaredUploadChecksum, requirePartChecksum } from './multipart-checksums.js';
import { describedBy } from './object-meta.js';
import { writeBlob } from './objects.js';

const MAX_PART_NUMBER = 10_000;

export const noSuchUpload = (id: string) =>
  new S3Error('NoSuchUpload', { UploadId: id });

export function theUpload(ctx: RequestContext, bucket: string): { id: string; upload: Upload } {
  const id = ctx.params.get('uploadId') ?? '';
  const upload = isBlobId(id) ? ctx.server.store.upload(id) : undefined;
  if (!upload || upload.bucket !== bucket || upload.key !== ctx.target.key) throw noSuchUpload(id);
  return { id, upload };
}

/** The upload, taken for this Complete or Abort alone (a racing one is answered NoSuchUpload); call in the tick that uses it. */
export function claim(ctx: RequestContext, bucket: string): { id: string; upload: Upload; release: () => void } {
  const { id, upload } = theUpload(ctx, bucket); // again: it may have ended while the body arrived
  const release = ctx.server.store.claimUpload(id);
  if (!release) throw noSuchUpload(id);
  return { id, upload, release };
}

function partNumber(raw: string | undefined): number {
  if (raw === undefined || !/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PART_NUMBER) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, { ArgumentName: 'partNumber', ArgumentValue: raw ?? '' });
  }
  return Number(raw);
}

export async function createUpload(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const key = ctx.target.key!;
  const bodyPlan = plan(ctx, false);
  const checksum = declaredUploadChecksum(ctx.headers);
  await receive(ctx, bodyPlan, () => undefined);
  const meta = {
    bucket,
    key,
    init: describedBy(ctx.headers, bodyPlan.contentEncoding),
    initiated: Date.now(),
    ...(checksum ? { checksumAlgorithm: checksum.algorithm, checksumType: checksum.type } : {}),
  };
  const id = await ctx.server.store.createUpload(meta);
  sendXml(
    ctx,
    `<InitiateMultipartUploadResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
    200,
    checksumHeaders(meta),
  );
}

export async function uploadPart(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const n = partNumber(ctx.params.get('partNumber'));
  const { id, upload } = theUpload(ctx, bucket);
  if (ctx.headers.has('x-amz-copy-source')) throw new S3Error('NotImplemented', 'UploadPartCopy is not supported by the local S3 server.');
  requirePartChecksum(upload, plan(ctx, true).checksum);
  const { blob, md5, checksum } = await writeBlob(ctx);
  if (!ctx.server.store.upload(id)) {
    ctx.server.store.blobs.remove(blob.id); // aborted or completed while the part was arriving
    theUpload(ctx, bucket);
  }
  await ctx.server.store.putPart(id, n, {
    blob: blob.id,
    size: blob.size,
    etag: md5,
    lastModified: Date.now(),
    ...(checksum ? { checksum: { algorithm: checksum.algorithm, value: checksum.value } } : {}),
  });
  sendEmpty(ctx, 200, { etag: `"${md5}"`, ...(checksum ? { [checksum.header]: checksum.value } : {}) });
}

export async function abortUpload(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  theUpload(ctx, bucket);
  await receive(ctx, plan(ctx, false), () => undefined);
  const { id, release } = claim(ctx, bucket);
  try {
    await ctx.server.store.endUpload(id);
  } finally {
    release();
  }
  sendEmpty(ctx, 204);
}
