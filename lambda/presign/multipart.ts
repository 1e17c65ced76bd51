// Multipart uploads through the presign API: a plan for a big file (every part's UploadPart
// pre-signed with that part's SHA-256, so storage refuses any other bytes), resumed from whatever
// upload of the same content is already in progress — found by its content folder, so another run
// or another machine with the same file picks up the parts already sent — and the completion,
// which checks the parts storage holds against the plan before it joins them.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  UploadPartCommand,
  type Part,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { CompleteRequest, CompleteResponse, FileRequest, PartAnswer, UploadParts } from '../../src/api/contract.js';
import { partSizeFor, partsOf } from '../../src/api/parts.js';
import { contentFolder } from '../../src/core/upload-key.js';
import { SOURCE_PATH_META, encodeSourcePath } from '../../src/core/source-path.js';

export interface MultipartConfig {
  bucket: string;
  s3: S3Client;
  /** Signs the part URLs (PresignConfig.signer); default `s3`. */
  signer?: S3Client;
  expiresIn: number;
  keyPrefix: string;
}

/** Every part storage holds for an upload (ListParts pages through 1,000 at a time). */
async function storedParts(config: MultipartConfig, key: string, uploadId: string): Promise<Part[]> {
  const parts: Part[] = [];
  for (let marker: string | undefined; ; ) {
    const page = await config.s3.send(new ListPartsCommand({ Bucket: config.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
    parts.push(...(page.Parts ?? []));
    if (!page.IsTruncated || !page.NextPartNumberMarker) return parts;
    marker = page.NextPartNumberMarker;
  }
}

/** The upload in progress for these bytes, if any: the oldest one in the content's folder. */
async function uploadInProgress(file: FileRequest, config: MultipartConfig): Promise<{ key: string; uploadId: string } | undefined> {
  const listed = await config.s3.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: contentFolder(file.sha256, config.keyPrefix), MaxUploads: 100 }));
  const oldest = [...(listed.Uploads ?? [])].sort((a, b) => (a.Initiated?.getTime() ?? 0) - (b.Initiated?.getTime() ?? 0))[0];
  return oldest?.Key && oldest.UploadId ? { key: oldest.Key, uploadId: oldest.UploadId } : undefined;
}

/** A part storage holds with exactly the planned size and hash: sent, not asked for again. */
const sameAs = (held: Part | undefined, size: number, sha256: string) => held !== undefined && held.Size === size && held.ChecksumSHA256 === sha256;

/**
 * The plan for a file with part hashes: resume an upload in progress for its content (its parts
 * that match are `done`), else start one under `key`. `file.parts` has been checked (validate.ts).
 */
export async function planMultipart(file: FileRequest & { parts: string[] }, key: string, config: MultipartConfig, now: Date): Promise<UploadParts> {
  let upload = await uploadInProgress(file, config);
  const held = new Map<number, Part>();
  if (upload) for (const p of await storedParts(config, upload.key, upload.uploadId)) held.set(p.PartNumber!, p);
  if (!upload) {
    const sourcePath = file.path === undefined ? undefined : encodeSourcePath(file.path);
    const created = await config.s3.send(
      new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: key, ContentType: file.contentType, ChecksumAlgorithm: 'SHA256', ...(sourcePath ? { Metadata: { [SOURCE_PATH_META]: sourcePath } } : {}) }),
    );
    upload = { key, uploadId: created.UploadId! };
  }
  const { key: uploadKey, uploadId } = upload;
  const parts = await Promise.all(
    partsOf(file.size).map(async ({ partNumber, size }): Promise<PartAnswer> => {
      const sha256 = file.parts[partNumber - 1];
      if (sameAs(held.get(partNumber), size, sha256)) return { partNumber, done: true };
      const command = new UploadPartCommand({ Bucket: config.bucket, Key: uploadKey, UploadId: uploadId, PartNumber: partNumber, ContentLength: size, ChecksumSHA256: sha256 });
      const url = await getSignedUrl(config.signer ?? config.s3, command, {
        expiresIn: config.expiresIn,
        signableHeaders: new Set(['content-length']),
        unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
        signingDate: now,
      });
      return { partNumber, url, method: 'PUT', headers: { 'content-length': String(size), 'x-amz-checksum-sha256': sha256 } };
    }),
  );
  return { name: file.name, key: uploadKey, uploadId, partSize: partSizeFor(file.size), parts, expiresAt: new Date(now.getTime() + config.expiresIn * 1000).toISOString() };
}

export type CompleteOutcome = { ok: true; body: CompleteResponse } | { ok: false; status: number; code: string; message: string };

const isNoSuchUpload = (err: unknown) => (err as { name?: string }).name === 'NoSuchUpload';

/** The object was completed already (an answer lost on the way back): it is there under `key`. */
async function alreadyCompleted(config: MultipartConfig, key: string): Promise<boolean> {
  const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: key, MaxKeys: 1 })).catch(() => undefined);
  return listed?.Contents?.[0]?.Key === key;
}

/**
 * Complete `key` once storage holds every planned part with its planned size and hash; a part
 * missing or different is refused by number, so the client sends it again. Completing twice, or
 * after the answer was lost, answers completed.
 */
export async function completeMultipart(req: CompleteRequest, config: MultipartConfig): Promise<CompleteOutcome> {
  const { key, uploadId } = req;
  const gone = async (): Promise<CompleteOutcome> =>
    (await alreadyCompleted(config, key)) ? { ok: true, body: { key, completed: true } } : { ok: false, status: 404, code: 'NoSuchUpload', message: 'this upload is not in progress (aborted or expired): upload the file again' };
  let held: Part[];
  try {
    held = await storedParts(config, key, uploadId);
  } catch (err) {
    if (isNoSuchUpload(err)) return gone();
    throw err;
  }
  const byNumber = new Map(held.map((p) => [p.PartNumber!, p]));
  const planned = partsOf(req.size);
  const missing = planned.filter(({ partNumber, size }) => !sameAs(byNumber.get(partNumber), size, req.parts[partNumber - 1])).map((p) => p.partNumber);
  if (missing.length) return { ok: false, status: 409, code: 'PartsMissing', message: `part${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${planned.length} not in storage with the planned size and SHA-256: send ${missing.length > 1 ? 'them' : 'it'}, then complete` };
  try {
    await config.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: config.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: planned.map(({ partNumber }) => ({ PartNumber: partNumber, ETag: byNumber.get(partNumber)!.ETag, ChecksumSHA256: req.parts[partNumber - 1] })) },
      }),
    );
  } catch (err) {
    if (isNoSuchUpload(err)) return gone();
    throw err;
  }
  return { ok: true, body: { key, completed: true } };
}
