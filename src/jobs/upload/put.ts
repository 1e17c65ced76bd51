// Stage 4, put: one file's bytes to its URL, with retries (a fresh URL when it expired), under the
// run's concurrency limit; progress told as bytes.
import { diskPath } from '../../files/scan.js';
import { putWithRetry, type SignedPut } from '../../s3/put.js';
import { retried, signOne } from './presign.js';
import { alreadyThere, failed, uploaded } from './record.js';
import type { FileRecord, UploadRun } from './types.js';

/** Sends a record the presign granted one PUT (`r.send.signed`). */
export async function putOne(run: UploadRun, r: FileRecord): Promise<void> {
  const { opts } = run;
  const { signed } = r.send as { signed: SignedPut };
  if (opts.signal.aborted) return;
  let retries = 0;
  let storedMeanwhile = false; // a fresh presign said the bucket holds the bytes now
  const countRetry = retried(run, `PUT ${r.relPath}`);
  run.emit({ type: 'put-start', relPath: r.relPath, key: r.key!, size: r.size });
  try {
    await putWithRetry({
      path: diskPath(r.found!),
      size: r.size,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      // The batch's URL first; when it has expired, a fresh one.
      sign: async (fresh) => {
        if (!fresh) return signed;
        const again = await signOne(run, r);
        storedMeanwhile = !again;
        return again;
      },
      onRetry: (reason) => {
        retries++;
        countRetry(reason);
      },
      onBytes: (bytes) => run.emit({ type: 'put-progress', relPath: r.relPath, bytes }),
    });
    r.retries = retries;
    if (storedMeanwhile) alreadyThere(run, r, r.key!);
    else uploaded(run, r);
  } catch (err) {
    if (opts.signal.aborted) return; // stays 'pending': the re-run uploads it
    r.retries = retries;
    failed(run, r, 'put', (err as Error).message);
  }
}
