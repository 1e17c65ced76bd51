// The presign API's wire types, in one module that the handler, the CLI's client and the web page
// import: POST /uploads, body {"files": FileRequest[]}, answer {"uploads": UploadAnswer[]}.

/**
 * Most files one POST /uploads may name: the CLI's batch. The presign function signs and looks
 * up that many within a third of its timeout (src/deploy/function-config.ts, bench/presign.mjs).
 */
export const MAX_FILES_PER_REQUEST = 100;

const MiB = 1024 * 1024;

/**
 * Files of at least this size go up in parts (S3 multipart), when the client sends each part's
 * SHA-256 (`FileRequest.parts`): two parts of the smallest size. Parts are for resuming, not for
 * speed: on the WAN bench (bench/upload-wan.mjs, 40 ms, no loss) one PUT beat 8 MiB parts at every
 * size up to 64 MiB, but a failed 40 MB PUT starts again from byte 0, and a part only from its own.
 */
export const MULTIPART_MIN_BYTES = 16 * MiB;
/** Parts are 8 MiB (aws-cli's and lib-storage's default chunk), larger only to stay within S3's 10,000 parts. */
export const MIN_PART_BYTES = 8 * MiB;
const MAX_PARTS = 10_000;

/** The size of every part but the last, for a file of `size` bytes: what client and server both cut by. */
export function partSizeFor(size: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/** A file's parts: S3's numbers (from 1), each one's first byte and length. */
export function partsOf(size: number): { partNumber: number; start: number; size: number }[] {
  const partSize = partSizeFor(size);
  const parts = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) parts.push({ partNumber: n, start, size: Math.min(partSize, size - start) });
  return parts;
}

/** One file the client wants to upload. `sha256` is the base64 SHA-256 of its bytes. */
export interface FileRequest {
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  /**
   * Its path relative to the folder uploaded, '/' between folders (core/source-path.ts): signed
   * into the object's metadata and copied into its record. Optional; keys never derive from it.
   */
  path?: string;
  /**
   * For a file of MULTIPART_MIN_BYTES or more: the base64 SHA-256 of each of its parts
   * (`partsOf(size)`), in order. With them the answer is a multipart plan (UploadParts), each part's
   * URL signing that part's hash; without them one PUT.
   */
  parts?: string[];
}

/** A pre-signed PUT: send exactly these headers and the file's bytes to `url` before `expiresAt`. */
export interface UploadGranted {
  name: string;
  key: string;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: string;
}

/**
 * The source bucket already holds these exact bytes, at `key`: nothing to send. `requeuedAt`:
 * their resize never finished (a failure of the pipeline, or no record long after), so the API
 * queued them for another at that time (lambda/heal.ts); a failure record older than that is
 * the earlier try's.
 */
export interface UploadExists {
  name: string;
  key: string;
  exists: true;
  requeuedAt?: string;
}

export interface UploadRefused {
  name: string;
  error: { code: string; message: string };
}

/** One part of a multipart plan: a pre-signed UploadPart to send its bytes to, or already in storage. */
export type PartAnswer = { partNumber: number; url: string; method: 'PUT'; headers: Record<string, string> } | { partNumber: number; done: true };

/**
 * A multipart upload under `key` (one already in progress for these bytes, from this client or
 * another, or a new one): send each part not `done`, then POST /uploads/complete. `parts` holds
 * every part of `partsOf(size)`, in order.
 */
export interface UploadParts {
  name: string;
  key: string;
  uploadId: string;
  partSize: number;
  parts: PartAnswer[];
  expiresAt: string;
}

export type UploadAnswer = UploadGranted | UploadParts | UploadExists | UploadRefused;

/**
 * POST /uploads/complete: finish a multipart upload once every part is sent. The API checks the
 * parts storage holds against `parts` (the same hashes the plan was asked with) before it completes.
 */
export interface CompleteRequest {
  key: string;
  uploadId: string;
  size: number;
  sha256: string;
  parts: string[];
}

/** Completed (now, or earlier: an answer that was lost). Otherwise a 4xx `{error}`: `PartsMissing`, `NoSuchUpload`… */
export interface CompleteResponse {
  key: string;
  completed: true;
}

export interface UploadsResponse {
  uploads: UploadAnswer[];
}

/** GET /spec: the variant spec the pipeline's resize runs, so a client can wait for what it makes, and the API's limits. */
export interface SpecResponse {
  specHash: string;
  spec: unknown;
  limits?: { maxFileBytes: number; maxFiles: number; allowedTypes: string[] };
}

/** POST /variants: what exists for keys the API handed out (at most MAX_VARIANT_KEYS per request). */
export interface VariantsRequest {
  keys: string[];
}

export const MAX_VARIANT_KEYS = 100;

/** A variant the caller may fetch without S3 credentials: the CDN's URL, or a pre-signed one until `expiresAt`. */
export interface VariantLink {
  name: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  url: string;
}

export type VariantsAnswer =
  | { key: string; status: 'done'; variants: VariantLink[]; placeholder: string; color: string; expiresAt?: string }
  | { key: string; status: 'failed'; error: { code: string; message: string } }
  | { key: string; status: 'pending' }
  | { key: string; status: 'refused'; error: { code: string; message: string } };

export interface VariantsResponse {
  variants: VariantsAnswer[];
}

/**
 * POST /reprocess: for each source key (at most MAX_FILES_PER_REQUEST), queue a resize unless its
 * done record was made with the spec the API serves. `dryRun`: only say which would be queued.
 */
export interface ReprocessRequest {
  keys: string[];
  dryRun?: boolean;
}

/** Why a photo is (or would be) queued: its variants are another spec's, it failed, or it has no record. */
export type ReprocessWhy = 'spec' | 'failed' | 'none';

export type ReprocessAnswer =
  | { key: string; status: 'queued' | 'would-queue'; why: ReprocessWhy }
  | { key: string; status: 'current' }
  | { key: string; status: 'missing' }
  | { key: string; status: 'refused'; error: { code: string; message: string } };

export interface ReprocessResponse {
  reprocess: ReprocessAnswer[];
}
