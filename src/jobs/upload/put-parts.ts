// Stage 4 for a big file: its parts, each its own PUT on the run's concurrency limit (so parts of
// one file go side by side with other files' PUTs), then POST /uploads/complete. Parts the plan
// says storage holds already (an earlier run, another machine) are not sent; a URL that expires
// asks for the plan again, which also says which parts arrived meanwhile.
import type { LimitFunction } from 'p-limit';
import type { UploadParts } from '../../api/contract.js';
import { partsOf } from '../../api/parts.js';
import { requestComplete } from '../../api/client.js';
import { diskPath } from '../../files/scan.js';
import { putWithRetry } from '../../s3/put.js';
import { planAgain, retried } from './presign.js';
import { alreadyThere, failed, uploaded } from './record.js';
import type { FileRecord, UploadRun } from './types.js';

/** Sends a record the presign granted a multipart plan (`r.send.plan`). */
export async function putParts(run: UploadRun, r: FileRecord, putLimit: LimitFunction): Promise<void> {
  const { opts } = run;
  const { plan } = r.send as { plan: UploadParts };
  let retries = 0;
  const countRetry = retried(run, `PUT ${r.relPath}`);
  let latest = plan;
  let storedMeanwhile = false; // a fresh plan said the bucket holds the whole file now
  // Parts whose URLs expire together share one fresh plan rather than asking once each.
  let replanning: Promise<UploadParts | undefined> | undefined;
  /** A part's fresh URL; undefined when nothing is left to send for it (the part, or the whole file, is stored). */
  const fresh = async (partNumber: number) => {
    const next = await (replanning ??= planAgain(run, r).finally(() => (replanning = undefined)));
    if (!next) {
      storedMeanwhile = true;
      return undefined;
    }
    latest = next;
    const part = latest.parts[partNumber - 1];
    return 'url' in part ? { url: part.url, headers: part.headers } : undefined;
  };
  run.emit({ type: 'put-start', relPath: r.relPath, key: r.key!, size: r.size });
  const isHeld = ({ partNumber }: { partNumber: number }) => 'done' in plan.parts[partNumber - 1];
  const parts = partsOf(r.size);
  const heldBytes = parts.filter(isHeld).reduce((n, p) => n + p.size, 0);
  if (heldBytes) run.emit({ type: 'put-progress', relPath: r.relPath, bytes: heldBytes });
  try {
    const toSend = parts.filter((p) => !isHeld(p));
    await Promise.all(
      toSend.map(({ partNumber, start, size }) =>
        putLimit(async () => {
          if (storedMeanwhile || opts.signal.aborted) return; // nothing left to send for this file
          const first = plan.parts[partNumber - 1] as { url: string; headers: Record<string, string> };
          await putWithRetry({
            path: diskPath(r.found!),
            size,
            part: { start, fileSize: r.size },
            signal: opts.signal,
            timeoutMs: opts.timeoutMs,
            sign: async (again) => (again ? fresh(partNumber) : first),
            onRetry: (reason) => {
              retries++;
              countRetry(reason);
            },
            onBytes: (bytes) => run.emit({ type: 'put-progress', relPath: r.relPath, bytes }),
          });
        }),
      ),
    );
    if (opts.signal.aborted) return; // stays 'pending': the parts sent are found by the re-run
    r.retries = retries;
    if (storedMeanwhile) return alreadyThere(run, r, r.key!);
    await requestComplete(
      { key: latest.key, uploadId: latest.uploadId, size: r.size, sha256: r.sha256!, parts: r.parts! },
      { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads/complete') },
    );
    uploaded(run, r);
  } catch (err) {
    if (opts.signal.aborted) return;
    r.retries = retries;
    failed(run, r, 'put', (err as Error).message);
  }
}
