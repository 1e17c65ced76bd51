// Stages 2 and 3, presign and put: URLs (or the API's "exists") for a batch, then each PUT with
// retries; a file's twins (the same bytes in this run) follow it.
import type { FileRequest, UploadAnswer } from '../../api/contract.js';
import { requestUploads, uploadsUrl } from '../../api/client.js';
import { diskPath } from '../../files/scan.js';
import { putWithRetry, type SignedPut } from '../../s3/put.js';
import { formatBytes } from '../../ui/format.js';
import type { PendingPut, UploadRecord, UploadRun } from './types.js';

/** URLs for a batch, or undefined when the call failed (its files are then finished as failed, unless interrupted). */
export async function presignBatch(run: UploadRun, requests: PendingPut[]): Promise<UploadAnswer[] | undefined> {
  const { opts } = run;
  const stopSpin = opts.reporter.spin(`presigning ${requests.length} files`);
  let answers: UploadAnswer[];
  try {
    opts.reporter.verbose(`request POST ${uploadsUrl(opts.api)} (${requests.length} files)`);
    answers = await requestUploads(requests.map((r) => r.request), { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  } catch (err) {
    stopSpin();
    if (opts.signal.aborted) return undefined;
    for (const r of requests) failPending(run, r, (err as Error).message);
    return undefined;
  }
  stopSpin();
  return answers;
}

/** The bucket holds these bytes already (from any folder, machine, earlier or interrupted run, or a twin of this run): nothing to send. */
export function alreadyThere(run: UploadRun, r: PendingPut, twinOf?: PendingPut): void {
  r.entry.status = 'uploaded';
  r.entry.uploadedAt ??= new Date().toISOString();
  remember(run, r);
  run.opts.reporter.advance(r.request.size);
  const why = twinOf ? `same bytes as ${twinOf.file.relPath}, stored as ${r.entry.key}` : `already there as ${r.entry.key}`;
  run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'skipped', key: r.entry.key, size: r.request.size }, r.entry, `skip ${r.file.relPath}: ${why}`);
  settleTwins(run, r);
}

/** A file is done: its twins are in the bucket too, or fail with it. */
export function settleTwins(run: UploadRun, r: PendingPut): void {
  const twins = r.twins.splice(0);
  for (const t of twins) {
    if (r.entry.status === 'uploaded') {
      t.entry.key = r.entry.key;
      alreadyThere(run, t, r);
    } else failPending(run, t, `same bytes as ${r.file.relPath}, which failed: ${r.entry.error ?? 'not uploaded'}`);
  }
}

/** Thrown out of a PUT's retries when a fresh presign says the bytes have arrived meanwhile. */
export class AlreadyThere extends Error {
  constructor(readonly key: string) {
    super(`already there as ${key}`);
  }
}

export async function signOne(run: UploadRun, file: FileRequest): Promise<SignedPut & { key: string }> {
  const { opts } = run;
  opts.reporter.verbose(`request POST ${uploadsUrl(opts.api)} (1 file, a fresh URL for ${file.name})`);
  const [answer] = await requestUploads([file], { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  if ('error' in answer) throw new Error(`${answer.error.code}: ${answer.error.message}`);
  if ('exists' in answer) throw new AlreadyThere(answer.key);
  return { url: answer.url, headers: answer.headers, key: answer.key };
}

/** One file's PUT (with retries), run under the concurrency limit. */
export async function putOne(run: UploadRun, r: PendingPut, answer: SignedPut): Promise<void> {
  const { opts } = run;
  if (opts.signal.aborted) return;
  let fileRetries = 0;
  opts.reporter.verbose(`request PUT ${r.file.relPath} → ${r.entry.key} (${formatBytes(r.request.size)})`);
  try {
    fileRetries = await putWithRetry({
      path: diskPath(r.file),
      size: r.request.size,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      // The batch's URL first; when it has expired, a fresh one (the same key: it comes from the content).
      sign: async (fresh) => {
        if (!fresh) return { url: answer.url, headers: answer.headers };
        const signed = await signOne(run, r.request);
        r.entry.key = signed.key;
        return signed;
      },
      onRetry: retried(run, `PUT ${r.file.relPath}`),
      onBytes: (n) => opts.reporter.advance(n),
    });
    r.entry.status = 'uploaded';
    r.entry.uploadedAt = new Date().toISOString();
    remember(run, r);
    run.stats.bytes += r.request.size;
    run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'uploaded', key: r.entry.key, size: r.request.size, retries: fileRetries }, r.entry, `ok ${r.file.relPath} → ${r.entry.key}${fileRetries ? ` (${fileRetries} retries)` : ''}`);
    settleTwins(run, r);
  } catch (err) {
    if (opts.signal.aborted) return; // stays 'pending': the re-run uploads it
    if (err instanceof AlreadyThere) {
      r.entry.key = err.key;
      return alreadyThere(run, r);
    }
    failPending(run, r, (err as Error).message, { retries: fileRetries });
  }
}

/** Counts a retry, and says it with -v. */
export const retried = (run: UploadRun, what: string) => (reason: string) => {
  run.stats.retries++;
  run.opts.reporter.verbose(`retry ${what}: ${reason}`);
};

export function failPending(run: UploadRun, r: PendingPut, error: string, extra: Pick<UploadRecord, 'retries'> = {}): void {
  r.entry.status = 'failed';
  r.entry.error = error;
  run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'failed', error, ...extra }, r.entry, `error ${r.file.path}: ${error}`);
  settleTwins(run, r);
}

/** The file is in the bucket under `r.entry.key`: remember it for the next run. */
export function remember(run: UploadRun, r: PendingPut): void {
  const { request, entry } = r;
  if (r.file.fsPath) return; // its shown path (U+FFFD for bytes that are not UTF-8) may be another file's too
  void run.ledger
    .append([{ pipeline: run.opts.destination.target ?? run.opts.api, path: r.file.path, size: request.size, mtimeMs: r.mtimeMs, sha256: request.sha256, contentType: request.contentType, key: entry.key!, at: new Date().toISOString() }])
    .catch((err: Error) => run.opts.reporter.error(`warning: could not write the ledger ${run.ledger.file}: ${err.message}`));
}
