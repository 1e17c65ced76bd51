// POST /uploads: one request presigns a batch of files. The server picks every key, from the
// content (src/core/upload-key.ts); each file is checked on its own, looked up (dedupe.ts), then
// signed (sign.ts) or planned in parts (multipart.ts), the batch side by side.
// POST /uploads/complete joins the parts of a plan.
import pLimit from 'p-limit';
import type { FileRequest, UploadAnswer } from '../../src/api/contract.js';
import { uploadKey } from '../../src/core/upload-key.js';
import { lookUp } from './dedupe.js';
import { fail, isResult, json, type ApiResult } from './http.js';
import { completeMultipart, planMultipart } from './multipart.js';
import { signPut } from './sign.js';
import { formatOf, validateCompleteRequest, validateFileRequest, validateUploadsBody } from './validate.js';
import type { PresignConfig } from './config.js';

async function answerOne(file: FileRequest, config: PresignConfig, now: Date): Promise<UploadAnswer> {
  const found = await lookUp(file, config, now);
  if ('exists' in found) return found.exists;
  const key = 'resend' in found ? found.resend : uploadKey(file.name, formatOf(file.contentType), file.sha256, { prefix: config.keyPrefix });
  return file.parts ? planMultipart({ ...file, parts: file.parts }, key, config, now) : signPut(file, key, config, now);
}

/** A file we could not look up or sign: its own error, never the batch's 500. */
function lookupFailed(file: FileRequest, err: Error): UploadAnswer {
  console.error(JSON.stringify({ level: 'error', msg: 'presign failed for one file', error: err.message }));
  return { name: file.name, error: { code: 'ServiceUnavailable', message: 'could not check or sign this file; try again' } };
}

export async function postUploads(body: unknown, config: PresignConfig): Promise<ApiResult> {
  const files = validateUploadsBody(body, config.maxFiles);
  if (isResult(files)) return files;
  const now = new Date();
  const limit = pLimit(16); // the lookups of a batch side by side, not one after another
  const uploads = await Promise.all(
    files.map((entry): Promise<UploadAnswer> => {
      const checked = validateFileRequest(entry, config);
      if ('error' in checked) return Promise.resolve(checked);
      return limit(() => answerOne(checked, config, now).catch((err: Error) => lookupFailed(checked, err)));
    }),
  );
  // Every file failed on our side (S3 unreachable): a 503 the client retries as a whole.
  if (uploads.every((u) => 'error' in u && u.error.code === 'ServiceUnavailable')) return fail(503, 'ServiceUnavailable', 'the source bucket could not be reached; try again');
  return json(uploads.some((u) => !('error' in u)) ? 200 : 400, { uploads });
}

/** POST /uploads/complete {key, uploadId, size, sha256, parts}: join the parts of a multipart plan. */
export async function postComplete(body: unknown, config: PresignConfig): Promise<ApiResult> {
  const request = validateCompleteRequest(body, config);
  if (isResult(request)) return request;
  const outcome = await completeMultipart(request, config);
  return outcome.ok ? json(200, outcome.body) : fail(outcome.status, outcome.code, outcome.message);
}
