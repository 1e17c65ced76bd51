// Stage 3, presign: one request per batch; each file gets a URL, or the API's "already there" (its
// bytes are in the bucket: the file ends here), or a refusal. A URL that expires mid-PUT is asked
// for again, one file at a time.
import type { FileRequest, UploadAnswer, UploadParts, UploadRefused } from '../../api/contract.js';
import { requestUploads, uploadsUrl } from '../../api/client.js';
import type { SignedPut } from '../../s3/put.js';
import { alreadyThere, failed } from './record.js';
import type { FileRecord, UploadRun } from './types.js';
import { stopForFirstBatch } from './unreachable.js';
import { sourcePathProblem } from '../../core/source-path.js';

/**
 * URLs for a batch, written into each record (`key`, `send`); returns the records to send. A
 * failed request fails its files (unless interrupted) and grants none; when
 * no request of the run has been answered yet and this one shows the API cannot be reached, it
 * stops the run instead (./unreachable.ts), its files left pending.
 */
export async function presignBatch(run: UploadRun, batch: FileRecord[]): Promise<FileRecord[]> {
  const { opts } = run;
  run.emit({ type: 'batch-presigning', url: uploadsUrl(opts.api), files: batch.length });
  let answers: UploadAnswer[];
  try {
    answers = await requestUploads(batch.map(fileRequest), { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  } catch (err) {
    const error = (err as Error).message;
    run.emit({ type: 'batch-presigned', files: batch.length, urls: 0, exists: 0, refused: 0, error });
    if (opts.signal.aborted) return [];
    run.stopped = run.apiAnswered ? undefined : stopForFirstBatch(err, opts.api, !!opts.destination.local);
    if (!run.stopped) for (const r of batch) failed(run, r, 'presign', error);
    return [];
  }
  run.apiAnswered = true;
  const count = (field: string) => answers.filter((a) => field in a).length;
  run.emit({ type: 'batch-presigned', files: batch.length, urls: count('url'), exists: count('exists'), refused: count('error') });
  const granted: FileRecord[] = [];
  batch.forEach((r, j) => {
    const answer = answers[j];
    if ('error' in answer) return failed(run, r, 'presign', `refused by the API: ${answer.error.code}: ${answer.error.message}`);
    if ('exists' in answer) {
      if (answer.requeuedAt) r.requeuedAt = answer.requeuedAt;
      return alreadyThere(run, r, answer.key);
    }
    r.key = answer.key;
    r.send = 'uploadId' in answer ? { plan: answer } : { signed: { url: answer.url, headers: answer.headers } };
    granted.push(r);
  });
  return granted;
}

/**
 * What the API is asked for a checked file: its name (the server picks the key), size, type and
 * hash, and its path as a label for the record, unless the path is one the API would refuse (a
 * control character in a folder's name is no reason to refuse the photo).
 */
function fileRequest(r: FileRecord): FileRequest {
  const label = sourcePathProblem(r.relPath) ? {} : { path: r.relPath };
  return { name: r.relPath.split('/').pop()!, size: r.size, contentType: r.contentType!, sha256: r.sha256!, ...label, ...(r.parts ? { parts: r.parts } : {}) };
}

/**
 * A fresh answer for one file whose URL expired: the same key (it comes from the content), now in
 * the record; "exists" when its bytes arrived meanwhile (another run, another machine).
 */
async function askAgain(run: UploadRun, r: FileRecord): Promise<Exclude<UploadAnswer, UploadRefused>> {
  const { opts } = run;
  run.emit({ type: 'url-refresh', url: uploadsUrl(opts.api), relPath: r.relPath });
  const [answer] = await requestUploads([fileRequest(r)], { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  if ('error' in answer) throw new Error(`${answer.error.code}: ${answer.error.message}`);
  r.key = answer.key;
  if ('exists' in answer && answer.requeuedAt) r.requeuedAt = answer.requeuedAt;
  return answer;
}

/** A fresh URL for a file sent in one PUT; undefined when its bytes are there now (nothing to send). */
export async function signOne(run: UploadRun, r: FileRecord): Promise<SignedPut | undefined> {
  const answer = await askAgain(run, r);
  if ('exists' in answer) return undefined;
  if ('uploadId' in answer) throw new Error('the API answered a multipart plan for a file sent in one PUT');
  return { url: answer.url, headers: answer.headers };
}

/** A fresh plan for a file sent in parts (the same upload, resumed, its URLs new); undefined when the whole file is there now. */
export async function planAgain(run: UploadRun, r: FileRecord): Promise<UploadParts | undefined> {
  const answer = await askAgain(run, r);
  if ('exists' in answer) return undefined;
  if (!('uploadId' in answer)) throw new Error('the API answered one PUT for a file sent in parts');
  return answer;
}

/** Counts a retry of any request of the run, and tells it. */
export const retried = (run: UploadRun, what: string) => (reason: string) => {
  run.stats.retries++;
  run.emit({ type: 'retry', what, reason });
};
