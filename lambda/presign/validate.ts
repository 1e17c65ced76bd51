// The wire checks of the presign API, in one place: the contract's schemas (src/api/contract.ts)
// plus what only the server knows (its limits, its key prefix), each check in the order it
// refuses, with the code and message of its refusal. One bad entry of `files` is refused on its
// own, never the batch.
import { z } from 'zod';
import { CompleteRequestSchema, FileRequestSchema, MAX_VARIANT_KEYS, SHA256_BASE64, type CompleteRequest, type FileRequest, type UploadRefused } from '../../src/api/contract.js';
import { MULTIPART_MIN_BYTES, partsOf } from '../../src/api/parts.js';
import { contentFolder } from '../../src/core/upload-key.js';
import { CONTENT_TYPES, type ImageFormat } from '../../src/core/validate.js';
import { fail, type ApiResult } from './http.js';
import type { PresignConfig } from './config.js';

type Refusal = { code: string; message: string };

const FORMAT_OF_TYPE = Object.fromEntries(Object.entries(CONTENT_TYPES).map(([f, t]) => [t, f as ImageFormat]));

/** The image format of a content type the API accepts. */
export const formatOf = (contentType: string): ImageFormat => FORMAT_OF_TYPE[contentType];

/** A byte limit as people read it: 256 MiB, not 268435456. */
const sizeLimit = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`);

/** The first thing `schema` finds wrong with `value`, refused under `code` unless the check names its own. */
function problem(code: string, schema: z.ZodType, value: unknown): Refusal | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue & { params?: { code?: string } };
  return { code: issue.params?.code ?? code, message: issue.message };
}

/** A refusal when `refused` and there is a message (partsProblem's undefined: nothing wrong). */
const refusedIf = (refused: boolean, code: string, message: string | undefined): Refusal | undefined => (refused && message !== undefined ? { code, message } : undefined);

/** Why `parts` is not a plan for a file of `size` bytes, if it is not. */
function partsProblem(parts: unknown, size: number): string | undefined {
  const expected = partsOf(size).length;
  if (!Array.isArray(parts) || parts.length !== expected) return `parts must list the SHA-256 of each of the file's ${expected} parts`;
  if (!parts.every((p) => typeof p === 'string' && SHA256_BASE64.test(p))) return 'each of parts must be a base64 SHA-256 (44 characters)';
  return undefined;
}

const asRecord = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** What a refused file's answer names it: as JSON can carry it (no lone surrogate), at most 1024 characters. */
function echoedName(name: unknown): string {
  if (typeof name !== 'string') return '';
  return ((name as string & { isWellFormed(): boolean }).isWellFormed() ? name : name.replace(/[\ud800-\udfff]/g, '\ufffd')).slice(0, 1024);
}

/** One entry of `files`, checked: the request, or its refusal. */
export function validateFileRequest(entry: unknown, config: Pick<PresignConfig, 'maxFileBytes' | 'allowedTypes'>): FileRequest | UploadRefused {
  const e = asRecord(entry);
  const { shape } = FileRequestSchema;
  const size = e.size as number; // read only once its own check has passed
  // Part hashes ask for a multipart plan; below the threshold one PUT is as fast, so they are ignored.
  const multipart = () => e.parts !== undefined && size >= MULTIPART_MIN_BYTES;
  const refused =
    problem('InvalidName', shape.name, e.name) ??
    problem('InvalidSize', shape.size, size) ??
    refusedIf(size > config.maxFileBytes, 'EntityTooLarge', `size ${size} bytes is over the ${sizeLimit(config.maxFileBytes)} limit (the most the resize reads)`) ??
    refusedIf(typeof e.contentType !== 'string' || !config.allowedTypes.includes(e.contentType) || !formatOf(e.contentType), 'UnsupportedType', `content type must be one of ${config.allowedTypes.join(', ')}`) ??
    problem('InvalidChecksum', shape.sha256, e.sha256) ??
    problem('InvalidPath', shape.path, e.path) ??
    refusedIf(multipart(), 'InvalidParts', partsProblem(e.parts, size));
  if (refused) return { name: echoedName(e.name), error: refused };
  const file = FileRequestSchema.parse({ ...e, parts: multipart() ? e.parts : undefined });
  return { name: file.name, size: file.size, contentType: file.contentType, sha256: file.sha256, ...(file.path !== undefined ? { path: file.path } : {}), ...(file.parts ? { parts: file.parts } : {}) };
}

/** A body of a batch: the field holds a non-empty list, each entry judged on its own (one bad entry never fails the batch). */
const batchOf = (field: string) => z.object({ [field]: z.array(z.unknown()).min(1) });
const UPLOADS_BODY = batchOf('files');
const KEYS_BODY = batchOf('keys');

/** POST /uploads: the entries of `files`, each still to check, or the refusal of the whole body. */
export function validateUploadsBody(body: unknown, maxFiles: number): unknown[] | ApiResult {
  const parsed = UPLOADS_BODY.safeParse(body);
  if (!parsed.success) return fail(400, 'InvalidRequest', 'body must be {"files":[{"name","size","contentType","sha256"}, …]}');
  const files = parsed.data.files;
  if (files.length > maxFiles) return fail(400, 'TooManyFiles', `at most ${maxFiles} files per request, got ${files.length}`);
  return files;
}

/** POST /uploads/complete: only keys this API hands out, under the folder of the very bytes the parts hash to. */
export function validateCompleteRequest(body: unknown, config: Pick<PresignConfig, 'maxFileBytes' | 'keyPrefix'>): CompleteRequest | ApiResult {
  const b = asRecord(body);
  const { shape } = CompleteRequestSchema;
  const [key, size, sha256] = [b.key as string, b.size as number, b.sha256 as string]; // read only once their own checks have passed
  const refused =
    refusedIf(!!(problem('', shape.uploadId, b.uploadId) ?? problem('', shape.sha256, sha256)), 'InvalidRequest', 'body must be {"key","uploadId","size","sha256","parts":[…]} as the plan was asked for') ??
    refusedIf(!!problem('', shape.size, size) || size < MULTIPART_MIN_BYTES || size > config.maxFileBytes, 'InvalidSize', `size must be the file's bytes, ${MULTIPART_MIN_BYTES} to ${config.maxFileBytes}`) ??
    refusedIf(!!problem('', shape.key, key) || !key.startsWith(contentFolder(sha256, config.keyPrefix)) || Buffer.byteLength(key) > 1024, 'InvalidKey', "key must be the plan's key, in the folder of the file's SHA-256") ??
    refusedIf(true, 'InvalidParts', partsProblem(b.parts, size));
  if (refused) return fail(400, refused.code, refused.message);
  return CompleteRequestSchema.parse(b);
}

/** POST /reprocess: the keys, each still to check, and whether to only say what would be queued. */
export function validateReprocessBody(body: unknown, maxFiles: number): { keys: unknown[]; dryRun: boolean } | ApiResult {
  const parsed = KEYS_BODY.safeParse(body);
  if (!parsed.success) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …], "dryRun"?: true}');
  const { keys } = parsed.data;
  if (keys.length > maxFiles) return fail(400, 'TooManyKeys', `at most ${maxFiles} keys per request, got ${keys.length}`);
  return { keys, dryRun: asRecord(body).dryRun === true };
}

/** POST /variants: the keys, each still to check. */
export function validateVariantsBody(body: unknown): unknown[] | ApiResult {
  const parsed = KEYS_BODY.safeParse(body);
  if (!parsed.success) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …]}');
  const { keys } = parsed.data;
  if (keys.length > MAX_VARIANT_KEYS) return fail(400, 'TooManyKeys', `at most ${MAX_VARIANT_KEYS} keys per request, got ${keys.length}`);
  return keys;
}
