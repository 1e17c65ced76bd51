// The presign API's wire, in one module that the handler (lambda/presign/), the CLI's client
// (./client.ts, src/jobs/upload/) and the web page (src/web/, types only: zod stays out of its
// bundle) import: POST /uploads, body {"files": FileRequest[]}, answer {"uploads": UploadAnswer[]}.
// The requests are zod schemas, their types inferred from them; the handler checks a body with
// the same schemas (lambda/presign/validate.ts), so what a client is typed to send is what the
// server takes. The answers, which only the server writes, are types.
import { z } from 'zod';
import { sourcePathProblem } from '../core/source-path.js';

/**
 * Most files one POST /uploads may name: the CLI's batch. The presign function signs and looks
 * up that many within a third of its timeout (src/deploy/function-config.ts, bench/presign.mjs).
 */
export const MAX_FILES_PER_REQUEST = 100;

export const MAX_VARIANT_KEYS = 100;

/** A base64 SHA-256, as the wire carries every hash (the file's and each part's). */
export const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;
const isWellFormed = (s: string) => (s as string & { isWellFormed(): boolean }).isWellFormed();

const NAME = 'name must be a string of 1 to 1024 bytes';
const SIZE = 'size must be a whole number of bytes';
const SHA256 = 'sha256 must be the base64 SHA-256 of the file (44 characters)';

/**
 * One file the client wants to upload. Each check's message is the refusal's; a check that names
 * its own `code` (EmptyFile) refuses with it, the others with their field's (validate.ts).
 */
export const FileRequestSchema = z.object({
  name: z
    .string({ error: NAME })
    .refine((n) => n !== '' && utf8Bytes(n) <= 1024, { error: NAME })
    // A lone UTF-16 surrogate ("\ud800" in the JSON) has no UTF-8 form: it cannot be part of a key.
    .refine(isWellFormed, { error: 'name holds a lone UTF-16 surrogate: not valid Unicode' }),
  size: z
    .number({ error: SIZE })
    .refine((n) => Number.isSafeInteger(n) && n >= 0, { error: SIZE })
    .refine((n) => n !== 0, { error: 'the file is empty (0 bytes)', params: { code: 'EmptyFile' } }),
  contentType: z.string(),
  /** The base64 SHA-256 of its bytes. */
  sha256: z.string({ error: SHA256 }).regex(SHA256_BASE64, { error: SHA256 }),
  /**
   * Its path relative to the folder uploaded, '/' between folders (core/source-path.ts): signed
   * into the object's metadata and copied into its record. Optional; keys never derive from it.
   */
  path: z
    .string({ error: (issue) => sourcePathProblem(issue.input) })
    .refine((p) => !sourcePathProblem(p), { error: (issue) => sourcePathProblem(issue.input) })
    .optional(),
  /**
   * For a file of MULTIPART_MIN_BYTES or more: the base64 SHA-256 of each of its parts
   * (`partsOf(size)`, ./parts.ts), in order. With them the answer is a multipart plan
   * (UploadParts), each part's URL signing that part's hash; without them one PUT.
   */
  parts: z.array(z.string().regex(SHA256_BASE64)).optional(),
});
export type FileRequest = z.infer<typeof FileRequestSchema>;

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
export const CompleteRequestSchema = z.object({
  /** The plan's key. */
  key: z.string(),
  uploadId: z.string().min(1).max(1024),
  size: z.number().refine(Number.isSafeInteger),
  sha256: z.string().regex(SHA256_BASE64),
  parts: z.array(z.string().regex(SHA256_BASE64)),
});
export type CompleteRequest = z.infer<typeof CompleteRequestSchema>;

/** Completed (now, or earlier: an answer that was lost). Otherwise a 4xx `{error}`: `PartsMissing`, `NoSuchUpload`… */
export interface CompleteResponse {
  key: string;
  completed: true;
}

/** GET /spec: the variant spec the pipeline's resize runs, so a client can wait for what it makes, and the API's limits. */
export interface SpecResponse {
  specHash: string;
  spec: unknown;
  limits?: { maxFileBytes: number; maxFiles: number; allowedTypes: string[] };
}

/** A variant the caller may fetch without S3 credentials: the CDN's URL, or a pre-signed one until `expiresAt`. */
interface VariantLink {
  name: string;
  width: number;
  height: number;
  format: string;
  bytes: number;
  url: string;
}

/** POST /variants {keys} (at most MAX_VARIANT_KEYS): what exists for keys the API handed out, one answer per key. */
export type VariantsAnswer =
  | { key: string; status: 'done'; variants: VariantLink[]; placeholder: string; color: string; expiresAt?: string }
  | { key: string; status: 'failed'; error: { code: string; message: string } }
  | { key: string; status: 'pending' }
  | { key: string; status: 'refused'; error: { code: string; message: string } };

/**
 * POST /reprocess: for each source key (at most MAX_FILES_PER_REQUEST), queue a resize unless its
 * done record was made with the spec the API serves. `dryRun`: only say which would be queued.
 */
const ReprocessRequestSchema = z.object({
  keys: z.array(z.string()).min(1).max(MAX_FILES_PER_REQUEST),
  dryRun: z.boolean().optional(),
});
export type ReprocessRequest = z.infer<typeof ReprocessRequestSchema>;

/** Why a photo is (or would be) queued: its variants are another spec's, it failed, or it has no record. */
export type ReprocessWhy = 'spec' | 'failed' | 'none';

export type ReprocessAnswer =
  | { key: string; status: 'queued' | 'would-queue'; why: ReprocessWhy }
  | { key: string; status: 'current' }
  | { key: string; status: 'missing' }
  | { key: string; status: 'refused'; error: { code: string; message: string } };
