// The presign API's wire types, in one module that the handler, the CLI's client and the web page
// import: POST /uploads, body {"files": FileRequest[]}, answer {"uploads": UploadAnswer[]}.

/**
 * Most files one POST /uploads may name: the CLI's batch. The presign function signs and looks
 * up that many within a third of its timeout (src/deploy/function-config.ts, bench/presign.mjs).
 */
export const MAX_FILES_PER_REQUEST = 100;

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

export type UploadAnswer = UploadGranted | UploadExists | UploadRefused;

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

/** A variant the caller may fetch without S3 credentials, until `expiresAt`. */
export interface VariantLink {
  name: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  url: string;
}

export type VariantsAnswer =
  | { key: string; status: 'done'; variants: VariantLink[]; placeholder: string; color: string; expiresAt: string }
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
