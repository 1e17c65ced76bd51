// POST /uploads behind API Gateway (REST proxy integration or HTTP API payload 2.0): one request
// presigns a batch of files. The server picks every key, from the content (src/core/upload-key);
// each URL signs the content type, length and SHA-256, so S3 refuses a body of another type, size
// or content. With dedupe on, a file whose bytes the source bucket already holds is answered
// "exists" with its key instead of a URL: one ListObjectsV2 per file, the batch looked up in parallel.
import { timingSafeEqual } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type _Object, type S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pLimit from 'p-limit';
import { MAX_FILES_PER_REQUEST, MAX_VARIANT_KEYS, MULTIPART_MIN_BYTES, type FileRequest, type UploadAnswer } from '../src/api/contract.js';
import { answerVariants } from '../src/api/variants.js';
import { PAGE_CSP, PAGE_HTML } from '../src/web/page.generated.js';
import { DEFAULT_SPEC, parseSpec, specHash, type Spec } from '../src/core/spec.js';
import { CONTENT_TYPES, MAX_INPUT_BYTES, type ImageFormat } from '../src/core/validate.js';
import { contentFolder, uploadKey } from '../src/core/upload-key.js';
import { SOURCE_PATH_HEADER, SOURCE_PATH_META, encodeSourcePath, sourcePathProblem } from '../src/core/source-path.js';
import { createS3Client } from '../src/s3/client.js';
import { AWS_HEAL_AFTER_MS, healIfStranded, sqsRequeue, type Requeue } from './heal.js';
import { answerReprocess } from './reprocess.js';
import { completeMultipart, partsProblem, planMultipart, SHA256_BASE64 } from './multipart.js';

export type { FileRequest, UploadAnswer } from '../src/api/contract.js';

export interface PresignConfig {
  bucket: string;
  s3: S3Client;
  /** Seconds a URL stays valid. */
  expiresIn: number;
  maxFileBytes: number;
  maxFiles: number;
  maxBodyBytes: number;
  keyPrefix: string;
  allowedTypes: string[];
  /** When set, requests must carry it in `x-api-key`. */
  apiKey?: string;
  /** The spec the resize runs (served at GET /spec); undefined: the route answers 404. */
  spec?: Spec;
  /** Where the variants and records are: enables POST /variants (the read side). */
  destBucket?: string;
  /** The CDN's base URL in front of destBucket: POST /variants answers its URLs, not pre-signed ones. */
  cdn?: string;
  /** Serve the upload page at GET / (default false). */
  page?: boolean;
  /**
   * Answer "exists" for content already in the bucket (default true). Costs one ListObjectsV2 per
   * file (IAM: s3:ListBucket on the key prefix); reveals to a caller with the API key whether
   * some exact bytes were uploaded.
   */
  dedupe?: boolean;
  /**
   * With dedupe and destBucket: how an "exists" whose resize never finished is queued again
   * (lambda/heal.ts); undefined: answered "exists" and left as it is.
   */
  requeue?: Requeue;
  /** With no record, how long after its upload an object counts as stranded (heal.ts). */
  healAfterMs?: number;
}

export const PRESIGN_DEFAULTS = {
  expiresIn: 15 * 60,
  maxFileBytes: MAX_INPUT_BYTES, // what the resize reads whole
  maxFiles: MAX_FILES_PER_REQUEST,
  maxBodyBytes: 512 * 1024,
  keyPrefix: 'uploads',
  allowedTypes: Object.values(CONTENT_TYPES),
};

/** The parts of an API Gateway proxy event (v1 REST or v2 HTTP API) this handler reads. */
export interface ApiEvent {
  version?: string;
  httpMethod?: string;
  path?: string;
  rawPath?: string;
  requestContext?: { http?: { method?: string; path?: string } };
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface ApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const json = (statusCode: number, body: unknown): ApiResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const fail = (statusCode: number, code: string, message: string) => json(statusCode, { error: { code, message } });

function header(event: ApiEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v ?? undefined;
  return undefined;
}

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A byte limit as people read it: 256 MiB, not 268435456. */
const sizeLimit = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes}-byte`);

const FORMAT_OF_TYPE = Object.fromEntries(Object.entries(CONTENT_TYPES).map(([f, t]) => [t, f as ImageFormat]));

/** Check one entry of `files`; a string is the reason it is refused. */
function checkFile(entry: unknown, config: PresignConfig): FileRequest | { name: string; code: string; message: string } {
  const e = (entry && typeof entry === 'object' && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
  const name = typeof e.name === 'string' ? e.name : '';
  const refuse = (code: string, message: string) => ({ name: name.slice(0, 1024), code, message });
  if (!name || Buffer.byteLength(name) > 1024) return refuse('InvalidName', 'name must be a string of 1 to 1024 bytes');
  // A lone UTF-16 surrogate ("\ud800" in the JSON) has no UTF-8 form: it cannot be part of a key.
  if (!(name as string & { isWellFormed(): boolean }).isWellFormed()) return { name: name.replace(/[\ud800-\udfff]/g, '\ufffd'), code: 'InvalidName', message: 'name holds a lone UTF-16 surrogate: not valid Unicode' };
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

/** The object already holding these bytes, if any: any object in the content's folder. */
async function existingObject(file: FileRequest, config: PresignConfig): Promise<_Object | undefined> {
  const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: contentFolder(file.sha256, config.keyPrefix), MaxKeys: 1 }));
  return listed.Contents?.[0];
}

async function presignOne(file: FileRequest, config: PresignConfig, now: Date): Promise<UploadAnswer> {
  let key = uploadKey(file.name, FORMAT_OF_TYPE[file.contentType], file.sha256, { prefix: config.keyPrefix });
  if (config.dedupe !== false) {
    const existing = await existingObject(file, config);
    if (existing?.Key) {
      const { requeue, destBucket } = config;
      const heal = requeue && destBucket ? { s3: config.s3, destBucket, requeue, healAfterMs: config.healAfterMs ?? AWS_HEAL_AFTER_MS } : undefined;
      const verdict = heal ? await healIfStranded(heal, config.bucket, existing, now.getTime()) : 'fine';
      if (verdict !== 'resend') return { name: file.name, key: existing.Key, exists: true, ...(verdict === 'requeued' ? { requeuedAt: now.toISOString() } : {}) };
      key = existing.Key; // the genuine bytes go onto the key whose record says they are wrong
    }
  }
  if (file.parts) return planMultipart({ ...file, parts: file.parts }, key, config, now);
  const sourcePath = file.path === undefined ? undefined : encodeSourcePath(file.path);
  const command = new PutObjectCommand({
    Bucket: config.bucket,
    Key: key,
    ContentType: file.contentType,
    ContentLength: file.size,
    ChecksumSHA256: file.sha256,
    ...(sourcePath ? { Metadata: { [SOURCE_PATH_META]: sourcePath } } : {}),
  });
  const url = await getSignedUrl(config.s3, command, {
    expiresIn: config.expiresIn,
    // Sign these as headers the client must send, not as query parameters it could drop.
    signableHeaders: new Set(['content-type', 'content-length']),
    unhoistableHeaders: new Set(['x-amz-checksum-sha256', SOURCE_PATH_HEADER]),
    signingDate: now,
  });
  return {
    name: file.name,
    key,
    url,
    method: 'PUT',
    headers: {
      'content-type': file.contentType,
      'content-length': String(file.size),
      'x-amz-checksum-sha256': file.sha256,
      ...(sourcePath ? { [SOURCE_PATH_HEADER]: sourcePath } : {}),
    },
    expiresAt: new Date(now.getTime() + config.expiresIn * 1000).toISOString(),
  };
}

/** A file we could not look up or sign: its own error, never the batch's 500. */
function lookupFailed(file: FileRequest, err: Error): UploadAnswer {
  console.error(JSON.stringify({ level: 'error', msg: 'presign failed for one file', error: err.message }));
  return { name: file.name, error: { code: 'ServiceUnavailable', message: 'could not check or sign this file; try again' } };
}

/** The JSON body of a POST, or the 4xx answer that refuses it. */
function jsonBody(event: ApiEvent, config: PresignConfig): { body: unknown } | ApiResult {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(text) > config.maxBodyBytes) return fail(413, 'BodyTooLarge', `request body over ${config.maxBodyBytes} bytes`);
  try {
    return { body: JSON.parse(text) };
  } catch {
    return fail(400, 'MalformedJSON', 'the body is not valid JSON');
  }
}

const field = (body: unknown, name: string): unknown => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined);

async function postUploads(body: unknown, config: PresignConfig): Promise<ApiResult> {
  const files = field(body, 'files');
  if (!Array.isArray(files) || files.length === 0) return fail(400, 'InvalidRequest', 'body must be {"files":[{"name","size","contentType","sha256"}, …]}');
  if (files.length > config.maxFiles) return fail(400, 'TooManyFiles', `at most ${config.maxFiles} files per request, got ${files.length}`);
  const now = new Date();
  const limit = pLimit(16); // the lookups of a batch side by side, not one after another
  const uploads = await Promise.all(
    files.map((entry): Promise<UploadAnswer> => {
      const checked = checkFile(entry, config);
      if ('code' in checked) return Promise.resolve({ name: checked.name, error: { code: checked.code, message: checked.message } });
      return limit(() => presignOne(checked, config, now).catch((err: Error) => lookupFailed(checked, err)));
    }),
  );
  // Every file failed on our side (S3 unreachable): a 503 the client retries as a whole.
  if (uploads.every((u) => 'error' in u && u.error.code === 'ServiceUnavailable')) return fail(503, 'ServiceUnavailable', 'the source bucket could not be reached; try again');
  return json(uploads.some((u) => !('error' in u)) ? 200 : 400, { uploads });
}

/** POST /uploads/complete {key, uploadId, size, sha256, parts}: join the parts of a multipart plan. */
async function postComplete(body: unknown, config: PresignConfig): Promise<ApiResult> {
  const [key, uploadId, size, sha256, parts] = ['key', 'uploadId', 'size', 'sha256', 'parts'].map((f) => field(body, f));
  const usage = 'body must be {"key","uploadId","size","sha256","parts":[…]} as the plan was asked for';
  if (typeof uploadId !== 'string' || !uploadId || uploadId.length > 1024 || typeof sha256 !== 'string' || !SHA256_BASE64.test(sha256)) return fail(400, 'InvalidRequest', usage);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < MULTIPART_MIN_BYTES || size > config.maxFileBytes) return fail(400, 'InvalidSize', `size must be the file's bytes, ${MULTIPART_MIN_BYTES} to ${config.maxFileBytes}`);
  // Only keys this API hands out: under the folder of the very bytes the parts hash to.
  if (typeof key !== 'string' || !key.startsWith(contentFolder(sha256, config.keyPrefix)) || Buffer.byteLength(key) > 1024) return fail(400, 'InvalidKey', "key must be the plan's key, in the folder of the file's SHA-256");
  const partsRefused = partsProblem(parts, size);
  if (partsRefused) return fail(400, 'InvalidParts', partsRefused);
  const outcome = await completeMultipart({ key, uploadId, size, sha256, parts: parts as string[] }, config);
  return outcome.ok ? json(200, outcome.body) : fail(outcome.status, outcome.code, outcome.message);
}

async function postReprocess(body: unknown, config: PresignConfig & { destBucket: string; requeue: Requeue }): Promise<ApiResult> {
  const keys = field(body, 'keys');
  if (!Array.isArray(keys) || keys.length === 0) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …], "dryRun"?: true}');
  if (keys.length > config.maxFiles) return fail(400, 'TooManyKeys', `at most ${config.maxFiles} keys per request, got ${keys.length}`);
  const reprocess = await answerReprocess({ ...config, spec: config.spec ?? DEFAULT_SPEC }, keys, field(body, 'dryRun') === true);
  return json(200, { reprocess });
}

async function postVariants(body: unknown, config: PresignConfig & { destBucket: string }): Promise<ApiResult> {
  const keys = field(body, 'keys');
  if (!Array.isArray(keys) || keys.length === 0) return fail(400, 'InvalidRequest', 'body must be {"keys":["uploads/…", …]}');
  if (keys.length > MAX_VARIANT_KEYS) return fail(400, 'TooManyKeys', `at most ${MAX_VARIANT_KEYS} keys per request, got ${keys.length}`);
  const variants = await answerVariants({ s3: config.s3, destBucket: config.destBucket, keyPrefix: config.keyPrefix, expiresIn: config.expiresIn, spec: config.spec ?? DEFAULT_SPEC, cdn: config.cdn }, keys);
  return json(200, { variants });
}

function getSpec(config: PresignConfig): ApiResult {
  const limits = { maxFileBytes: config.maxFileBytes, maxFiles: config.maxFiles, allowedTypes: config.allowedTypes };
  return json(200, { specHash: specHash(config.spec!), spec: config.spec, limits });
}

/** The upload page: public (it holds no secret; the API key, if any, is typed into it). */
function getPage(): ApiResult {
  return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff' }, body: PAGE_HTML };
}

export function createPresignHandler(config: PresignConfig) {
  return async function presign(event: ApiEvent): Promise<ApiResult> {
    try {
      const method = (event.requestContext?.http?.method ?? event.httpMethod ?? '').toUpperCase();
      const path = (event.rawPath ?? event.path ?? event.requestContext?.http?.path ?? '').replace(/\/+$/, '');
      const route = /(^|\/)uploads\/complete$/.test(path) ? 'uploads/complete' : (path.split('/').pop() ?? '');
      if (method === 'GET' && (route === '' || path === '') && config.page) return getPage();
      if (method === 'GET' && route === 'spec' && config.spec) return getSpec(config);
      const posts = ['uploads', 'uploads/complete', ...(config.destBucket ? ['variants'] : []), ...(config.destBucket && config.requeue ? ['reprocess'] : [])];
      if (!posts.includes(route)) return fail(404, 'NotFound', `served here: ${config.page ? 'GET /, ' : ''}GET /spec, ${posts.map((p) => `POST /${p}`).join(', ')}`);
      if (method !== 'POST') return fail(405, 'MethodNotAllowed', `use POST /${route}`);
      if (config.apiKey !== undefined && !sameSecret(header(event, 'x-api-key'), config.apiKey)) return fail(401, 'Unauthorized', 'missing or wrong x-api-key');
      const parsed = jsonBody(event, config);
      if ('statusCode' in parsed) return parsed;
      if (route === 'uploads/complete') return await postComplete(parsed.body, config);
      if (route === 'reprocess') return await postReprocess(parsed.body, config as PresignConfig & { destBucket: string; requeue: Requeue });
      return route === 'variants' ? await postVariants(parsed.body, config as PresignConfig & { destBucket: string }) : await postUploads(parsed.body, config);
    } catch (err) {
      // Only our own faults get here (signing, credentials): say so without details.
      console.error(JSON.stringify({ level: 'error', msg: 'presign failed', error: (err as Error).message }));
      return fail(500, 'InternalError', 'could not presign the request');
    }
  };
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

export function presignConfigFromEnv(env: NodeJS.ProcessEnv = process.env, s3: S3Client = createS3Client()): PresignConfig {
  const bucket = env.SOURCE_BUCKET;
  if (!bucket) throw new Error('SOURCE_BUCKET is not set');
  return {
    bucket,
    s3,
    expiresIn: intEnv(env, 'URL_EXPIRES_SECONDS', PRESIGN_DEFAULTS.expiresIn),
    maxFileBytes: intEnv(env, 'MAX_FILE_BYTES', PRESIGN_DEFAULTS.maxFileBytes),
    maxFiles: intEnv(env, 'MAX_FILES', PRESIGN_DEFAULTS.maxFiles),
    maxBodyBytes: PRESIGN_DEFAULTS.maxBodyBytes,
    keyPrefix: env.KEY_PREFIX || PRESIGN_DEFAULTS.keyPrefix,
    allowedTypes: PRESIGN_DEFAULTS.allowedTypes,
    apiKey: env.API_KEY || undefined,
    dedupe: env.DEDUPE !== 'false',
    spec: env.IMGPIPE_SPEC ? parseSpec(JSON.parse(env.IMGPIPE_SPEC), 'IMGPIPE_SPEC') : DEFAULT_SPEC,
    destBucket: env.DEST_BUCKET || undefined,
    cdn: env.CDN_URL || undefined,
    page: env.SERVE_PAGE !== 'false',
    requeue: env.RESIZE_QUEUE_URL ? sqsRequeue(new SQSClient({}), env.RESIZE_QUEUE_URL, env.AWS_REGION ?? 'us-east-1') : undefined,
    healAfterMs: intEnv(env, 'HEAL_AFTER_SECONDS', AWS_HEAL_AFTER_MS / 1000) * 1000,
  };
}

let deployed: ReturnType<typeof createPresignHandler> | undefined;

/** The Lambda entry point: configured from the environment on first call. */
export async function handler(event: ApiEvent): Promise<ApiResult> {
  deployed ??= createPresignHandler(presignConfigFromEnv());
  return deployed(event);
}
