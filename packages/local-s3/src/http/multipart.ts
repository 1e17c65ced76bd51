// Multipart uploads. Upload ids are the server's own (random, 32 hex) and checked on every call;
// part numbers are integers 1–10,000; parts are blobs like any object, never paths.
import { createHash } from 'node:crypto';
import { S3Error, xmlEscape } from '../errors.js';
import { isBlobId } from '../storage/blobs.js';
import type { ObjectMeta } from '../storage/records.js';
import type { Upload } from '../storage/store.js';
import { plan, receive, receiveSmall, requireBucket, sendEmpty, sendXml, type RequestContext } from './context.js';
import { describedBy } from './object-meta.js';
import { commitObject, writeBlob } from './objects.js';
import { parseCompleteRequest } from './xml.js';

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

const noSuchUpload = (id: string) =>
  new S3Error('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: id });

function theUpload(ctx: RequestContext, bucket: string): { id: string; upload: Upload } {
  const id = ctx.params.get('uploadId') ?? '';
  const upload = isBlobId(id) ? ctx.server.store.upload(id) : undefined;
  if (!upload || upload.bucket !== bucket || upload.key !== ctx.target.key) throw noSuchUpload(id);
  return { id, upload };
}

/** The upload, taken for this Complete or Abort alone (a racing one is answered NoSuchUpload); call in the tick that uses it. */
function claim(ctx: RequestContext, bucket: string): { id: string; upload: Upload; release: () => void } {
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
  await receive(ctx, bodyPlan, () => undefined);
  const id = await ctx.server.store.createUpload({ bucket, key, init: describedBy(ctx.headers, bodyPlan.contentEncoding), initiated: Date.now() });
  sendXml(ctx, `<InitiateMultipartUploadResult><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
}

export async function uploadPart(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const n = partNumber(ctx.params.get('partNumber'));
  const { id } = theUpload(ctx, bucket);
  if (ctx.headers.has('x-amz-copy-source')) throw new S3Error('NotImplemented', 'UploadPartCopy is not supported by the local S3 server.');
  const { blob, md5, checksum } = await writeBlob(ctx);
  if (!ctx.server.store.upload(id)) {
    ctx.server.store.blobs.remove(blob.id); // aborted or completed while the part was arriving
    theUpload(ctx, bucket);
  }
  await ctx.server.store.putPart(id, n, { blob: blob.id, size: blob.size, etag: md5 });
  sendEmpty(ctx, 200, { etag: `"${md5}"`, ...(checksum ? { [checksum.header]: checksum.value } : {}) });
}

/** The parts named by a Complete request, checked the way S3 checks them. */
function chosenParts(upload: Upload, requested: Array<{ partNumber: number; etag: string }>) {
  // The order of the whole list first: a later out-of-order entry is InvalidPartOrder, not whatever an earlier part fails.
  if (requested.some((r, i) => i > 0 && r.partNumber <= requested[i - 1].partNumber)) {
    throw new S3Error('InvalidPartOrder', 'The list of parts was not in ascending order. The parts list must be specified in order by part number.');
  }
  return requested.map((r, i) => {
    const part = upload.parts.get(r.partNumber);
    if (!part || part.etag !== r.etag) {
      throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.', { PartNumber: r.partNumber, ETag: r.etag });
    }
    if (i < requested.length - 1 && part.size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', { PartNumber: r.partNumber, ProposedSize: part.size, MinSizeAllowed: MIN_PART_BYTES });
    }
    return part;
  });
}

export async function completeUpload(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const key = ctx.target.key!;
  theUpload(ctx, bucket);
  const requested = parseCompleteRequest(await receiveSmall(ctx));
  const { id, upload, release } = claim(ctx, bucket);
  const store = ctx.server.store;
  let unpins: Array<() => void> = [];
  try {
    const parts = chosenParts(upload, requested);
    // Pinned in the same tick as the lookup: a re-sent part cannot delete them mid-copy.
    unpins = parts.map((p) => store.blobs.pin(p.blob));
    const blob = await store.blobs.create();
    const md5s = createHash('md5');
    try {
      for (const part of parts) {
        for await (const chunk of store.blobs.read(part.blob)) await blob.write(chunk as Buffer);
        md5s.update(Buffer.from(part.etag, 'hex'));
      }
      await blob.commit();
    } catch (err) {
      await blob.discard();
      throw err;
    }
    for (const unpin of unpins.splice(0)) unpin();
    const etag = `${md5s.digest('hex')}-${parts.length}`;
    const meta: ObjectMeta = { blob: blob.id, size: blob.size, etag, ...upload.init, lastModified: Date.now() };
    await commitObject(ctx, bucket, key, meta, 'ObjectCreated:CompleteMultipartUpload');
    await store.endUpload(id);
    sendXml(
      ctx,
      `<CompleteMultipartUploadResult><Location>/${xmlEscape(bucket)}/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucket)}</Bucket>` +
        `<Key>${xmlEscape(key)}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`,
    );
  } finally {
    for (const unpin of unpins) unpin();
    release(); // a refused or failed Complete leaves the upload to be completed or aborted again
  }
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
