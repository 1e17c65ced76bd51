// CompleteMultipartUpload: the named parts checked as S3 checks them (order, ETags, sizes, per-part
// checksums), their blobs linked under the object's names (no copy), committed. A Complete repeated
// after success (an SDK retrying a lost answer) gets the same answer and writes nothing: the store
// remembers completed uploads.
import { createHash } from 'node:crypto';
import { S3Error, xmlEscape } from '../errors.js';
import { blobFields, type CompletedUpload, type ObjectMeta, type PartMeta } from '../storage/records.js';
import type { Upload } from '../storage/store.js';
import { receiveSmall, requireBucket, sendXml, type RequestContext } from './context.js';
import { checkCompletePart, checksumXml, ObjectChecksum, type UploadChecksum } from './multipart-checksums.js';
import { claim, noSuchUpload, theUpload } from './multipart.js';
import { commitObject } from './objects.js';
import { checkWrite, writeCondition } from './write-conditions.js';
import { parseCompleteRequest, type CompleteRequestPart } from './xml.js';

const MIN_PART_BYTES = 5 * 1024 * 1024;

const invalidPart = (r: CompleteRequestPart) =>
  new S3Error('InvalidPart', { PartNumber: r.partNumber, ETag: r.etag });

/** The parts named by a Complete request, checked the way S3 checks them. */
function chosenParts(upload: Upload, requested: CompleteRequestPart[]): PartMeta[] {
  // The order of the whole list first: a later out-of-order entry is InvalidPartOrder, not whatever an earlier part fails.
  if (requested.some((r, i) => i > 0 && r.partNumber <= requested[i - 1].partNumber)) {
    throw new S3Error('InvalidPartOrder');
  }
  return requested.map((r, i) => {
    const part = upload.parts.get(r.partNumber);
    if (!part || part.etag !== r.etag) throw invalidPart(r);
    checkCompletePart(upload, part, r.partNumber, r.checksums);
    if (i < requested.length - 1 && part.size < MIN_PART_BYTES) {
      throw new S3Error('EntityTooSmall', { PartNumber: r.partNumber, ProposedSize: part.size, MinSizeAllowed: MIN_PART_BYTES });
    }
    return part;
  });
}

/** S3's multipart ETag: the MD5 of the parts' raw MD5s, then "-<parts>". */
function multipartEtag(etags: string[]): string {
  const md5s = createHash('md5');
  for (const e of etags) md5s.update(Buffer.from(e, 'hex'));
  return `${md5s.digest('hex')}-${etags.length}`;
}

function uploadChecksum(upload: Upload): UploadChecksum | undefined {
  return upload.checksumAlgorithm ? { algorithm: upload.checksumAlgorithm as UploadChecksum['algorithm'], type: upload.checksumType ?? 'COMPOSITE' } : undefined;
}

function answer(ctx: RequestContext, done: CompletedUpload): void {
  sendXml(
    ctx,
    `<CompleteMultipartUploadResult><Location>/${xmlEscape(done.bucket)}/${xmlEscape(done.key)}</Location><Bucket>${xmlEscape(done.bucket)}</Bucket>` +
      `<Key>${xmlEscape(done.key)}</Key><ETag>"${done.etag}"</ETag>${checksumXml(done.checksum)}</CompleteMultipartUploadResult>`,
  );
}

/**
 * A Complete of an upload already completed: the same answer, nothing written, no event, as long as
 * it names the same parts and the object it made is still the one at its key. Otherwise NoSuchUpload.
 */
function answerAgain(ctx: RequestContext, id: string, done: CompletedUpload, requested: CompleteRequestPart[]): void {
  const same = done.bucket === ctx.target.bucket && done.key === ctx.target.key && multipartEtag(requested.map((r) => r.etag)) === done.etag;
  if (!same || ctx.server.store.get(done.bucket, done.key)?.etag !== done.etag) throw noSuchUpload(id);
  answer(ctx, done);
}

/**
 * The object's meta (not yet committed): the parts' blobs, in order, under names of its own (hard
 * links: the bytes stay where they are and fsynced, and the upload's names can go as before). Only
 * a full-object checksum reads the bytes.
 */
async function assemble(ctx: RequestContext, upload: Upload, parts: PartMeta[]): Promise<ObjectMeta> {
  const store = ctx.server.store;
  const checksum = new ObjectChecksum(uploadChecksum(upload));
  for (const part of parts) {
    // 1 MiB at a time: a 256 MiB object read in a quarter of the calls of the default 64 KiB.
    if (checksum.readsBytes) for await (const chunk of store.blobs.read(part.blob, undefined, 1024 * 1024)) checksum.bytes(chunk as Buffer);
    checksum.part(part);
  }
  const blobs = await store.blobs.duplicateAll(parts.map((p) => p.blob));
  const etag = multipartEtag(parts.map((p) => p.etag));
  const parts_ = parts.map((p) => ({ size: p.size, ...(p.checksum ? { checksum: p.checksum.value } : {}) }));
  const size = parts.reduce((n, p) => n + p.size, 0);
  return { ...blobFields(blobs), size, etag, ...upload.init, lastModified: Date.now(), checksum: await checksum.result(), parts: parts_ };
}

export async function completeUpload(ctx: RequestContext): Promise<void> {
  const bucket = requireBucket(ctx);
  const key = ctx.target.key!;
  const store = ctx.server.store;
  const uploadId = ctx.params.get('uploadId') ?? '';
  if (!store.upload(uploadId) && !store.completedUpload(uploadId)) theUpload(ctx, bucket); // NoSuchUpload before the body
  const requested = parseCompleteRequest(await receiveSmall(ctx));
  const earlier = store.completedUpload(uploadId);
  if (earlier && !store.upload(uploadId)) return answerAgain(ctx, uploadId, earlier, requested);
  const cond = writeCondition(ctx.headers);
  if (cond) checkWrite(store, bucket, key, cond); // before the parts are joined; again, atomically, at commit
  const { id, upload, release } = claim(ctx, bucket);
  let unpins: Array<() => void> = [];
  try {
    const parts = chosenParts(upload, requested);
    // Pinned in the same tick as the lookup: a re-sent part cannot delete them before they are linked.
    unpins = parts.map((p) => store.blobs.pin(p.blob));
    const meta = await assemble(ctx, upload, parts);
    for (const unpin of unpins.splice(0)) unpin();
    await commitObject(ctx, bucket, key, meta, 'ObjectCreated:CompleteMultipartUpload');
    const done: CompletedUpload = { bucket, key, etag: meta.etag, ...(meta.checksum ? { checksum: meta.checksum } : {}) };
    await store.endUpload(id, done);
    answer(ctx, done);
  } finally {
    for (const unpin of unpins) unpin();
    release(); // a refused or failed Complete leaves the upload to be completed or aborted again
  }
}
