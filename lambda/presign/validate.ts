// The wire checks of the presign API, in one place: what a body must hold, and the code and
// message that refuse it. One bad entry of `files` is refused on its own, never the batch.
import { MAX_VARIANT_KEYS, MULTIPART_MIN_BYTES, type CompleteRequest, type FileRequest, type UploadRefused } from '../../src/api/contract.js';
import { sourcePathProblem } from '../../src/core/source-path.js';
import { contentFolder } from '../../src/core/upload-key.js';
import { CONTENT_TYPES, type ImageFormat } from '../../src/core/validate.js';
import { fail, type ApiResult } from './http.js';
import { partsProblem, SHA256_BASE64 } from './multipart.js';
import type { PresignConfig } from './config.js';

const FORMAT_OF_TYPE = Object.fromEntries(Object.entries(CONTENT_TYPES).map(([f, t]) => [t, f as ImageFormat]));

/** The image format of a content type the API accepts. */
export const formatOf = (contentType: string): ImageFormat => FORMAT_OF_TYPE[contentType];

/** A byte limit as people read it: 256 MiB, not 268435456. */
const sizeLimit = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`);

const field = (body: unknown, name: string): unknown => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined);

/** One entry of `files`, checked: the request, or its refusal. */
export function validateFileRequest(entry: unknown, config: Pick<PresignConfig, 'maxFileBytes' | 'allowedTypes'>): FileRequest | UploadRefused {
  const e = (entry && typeof entry === 'object' && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const refuse = (code: string, message: string) => ({ name: name.slice(0, 1024), error: { code, message } });
  if (!name || Buffer.byteLength(name) > 1024) return refuse('InvalidName', 'name must be a string of 1 to 1024 bytes');
  // A lone UTF-16 surrogate ("\ud800" in the JSON) has no UTF-8 form: it cannot be part of a key.
  if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) return { name: name.replace(/[\ud800-\udfff]/g, '\ufffd'), error: { code: 'InvalidName', message: 'name holds a lone UTF-16 surrogate: not valid Unicode' } };
  if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) return refuse('InvalidSize', 'size must be a whole number of bytes');
  if (e.size === 0) return refuse('EmptyFile', 'the file is empty (0 bytes)');
  if (e.size > config.maxFileBytes) return refuse('EntityTooLarge', `size ${e.size} bytes is over the ${sizeLimit(config.maxFileBytes)} limit (the most the resize reads)`);
  if (typeof e.contentType !== 'string' || !config.allowedTypes.includes(e.contentType) || !FORMAT_OF_TYPE[e.contentType]) {
    return refuse('UnsupportedType', `content type must be one of ${config.allowedTypes.join(', ')}`);
  }
  if (typeof e.sha256 !== 'string' || !SHA256_BASE64.test(e.sha256)) return refuse('InvalidChecksum', 'sha256 must be the base64 SHA-256 of the file (44 characters)');
  const pathProblem = e.path === undefined ? undefined : sourcePathProblem(e.path);
  if (pathProblem) return refuse('InvalidPath', pathProblem);
  // Part hashes ask for a multipart plan; below the threshold one PUT is as fast, so they are ignored.
  const multipart = e.parts !== undefined && e.size >= MULTIPART_MIN_BYTES;
  const partsRefused = multipart ? partsProblem(e.parts, e.size) : undefined;
  if (partsRefused) return refuse('InvalidParts', partsRefused);
  return { name, size: e.size, contentType: e.contentType, sha256: e.sha256, ...(e.path !== undefined ? { path: e.path as string } : {}), ...(multipart ? { parts: e.parts as string[] } : {}) };
}

/** POST /uploads: the entries of `files`, each still to check, or the refusal of the whole body. */
export function validateUploadsBody(body: unknown, maxFiles: number): unknown[] | ApiResult {
  const files = field(body, 'files');
  if (!Array.isArray(files) || files.length === 0) return fail(400, 'InvalidRequest', 'body must be {"files":[{"name","size","contentType","sha256"}, …]}');
  if (files.length > maxFiles) return fail(400, 'TooManyFiles', `at most ${maxFiles} files per request, got ${files.length}`);
  return files;
}

/** POST /uploads/complete: only keys this API hands out, under the folder of the very bytes the parts hash to. */
export function validateCompleteRequest(body: unknown, config: Pick<PresignConfig, 'maxFileBytes' | 'keyPrefix'>): CompleteRequest | ApiResult {
  const [key, uploadId, size, sha256, parts] = ['key', 'uploadId', 'size', 'sha256', 'parts'].map((f) => field(body, f));
  const usage = 'body must be {"key","uploadId","size","sha256","parts":[…]} as the plan was asked for';
  if (typeof uploadId !== 'string' || !uploadId || uploadId.length > 1024 || typeof sha256 !== 'string' || !SHA256_BASE64.test(sha256)) return fail(400, 'InvalidRequest', usage);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < MULTIPART_MIN_BYTES || size > config.maxFileBytes) return fail(400, 'InvalidSize', `size must be the file's bytes, ${MULTIPART_MIN_BYTES} to ${config.maxFileBytes}`);
  if (typeof key !== 'string' || !key.startsWith(contentFolder(sha256, config.keyPrefix)) || Buffer.byteLength(key) > 1024) return fail(400, 'InvalidKey', "key must be the plan's key, in the folder of the file's SHA-256");
  const partsRefused = partsProblem(parts, size);
  if (partsRefused) return fail(400, 'InvalidParts', partsRefused);
  return { key, uploadId, size, sha256, parts: parts as string[] };
}

/** POST /reprocess: the keys, each still to check, and whether to only say what would be queued. */
export function validateReprocessBody(body: unknown, maxFiles: number): { keys: unknown[]; dryRun: boolean } | ApiResult {
  const keys = field(body, 'keys');
  if (!Array.isArray(keys) || keys.length === 0) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …], "dryRun"?: true}');
  if (keys.length > maxFiles) return fail(400, 'TooManyKeys', `at most ${maxFiles} keys per request, got ${keys.length}`);
  return { keys, dryRun: field(body, 'dryRun') === true };
}

/** POST /variants: the keys, each still to check. */
export function validateVariantsBody(body: unknown): unknown[] | ApiResult {
  const keys = field(body, 'keys');
  if (!Array.isArray(keys) || keys.length === 0) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …]}');
  if (keys.length > MAX_VARIANT_KEYS) return fail(400, 'TooManyKeys', `at most ${MAX_VARIANT_KEYS} keys per request, got ${keys.length}`);
  return keys;
}
