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
import { AlreadyThere, planAgain, retried } from './presign.js';
import { alreadyThere, failed, uploaded } from './record.js';
import type { FileRecord, UploadRun } from './types.js';

/** Sends a record the presign granted a multipart plan (`r.send.plan`). */
export async function putParts(run: UploadRun, r: FileRecord, putLimit: LimitFunction): Promise<void> {
  const { opts } = run;
  const { plan } = r.send as { plan: UploadParts };
  let retries = 0;
  const countRetry = retried(run, `PUT ${r.relPath}`);
  let latest = plan;
  // Parts whose URLs expire together share one fresh plan rather than asking once each.
  let replanning: Promise<UploadParts> | undefined;
  const fresh = async (partNumber: number) => {
    latest = await (replanning ??= planAgain(run, r).finally(() => (replanning = undefined)));
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
          const first = plan.parts[partNumber - 1] as { url: string; headers: Record<string, string> };
          let sentMeanwhile = false;
          await putWithRetry({
            path: diskPath(r.found!),
            size,
            part: { start, fileSize: r.size },
            signal: opts.signal,
            timeoutMs: opts.timeoutMs,
            sign: async (again) => {
              if (!again) return first;
              const next = await fresh(partNumber);
              if (next) return next;
              sentMeanwhile = true; // another client sent this part: nothing left to send
              throw new PartHeld();
            },
            onRetry: (reason) => {
              retries++;
              countRetry(reason);
            },
            onBytes: (bytes) => run.emit({ type: 'put-progress', relPath: r.relPath, bytes }),
          }).catch((err) => (sentMeanwhile && err instanceof PartHeld ? undefined : Promise.reject(err)));
        }),
      ),
    );
    if (opts.signal.aborted) return; // stays 'pending': the parts sent are found by the re-run
    await requestComplete(
      { key: latest.key, uploadId: latest.uploadId, size: r.size, sha256: r.sha256!, parts: r.parts! },
      { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads/complete') },
    );
    r.retries = retries;
    uploaded(run, r);
  } catch (err) {
    if (opts.signal.aborted) return;
    if (err instanceof AlreadyThere) return alreadyThere(run, r, err.key);
    r.retries = retries;
    failed(run, r, 'put', (err as Error).message);
  }
}

/** Out of a part's retries: the fresh plan shows storage holds the part already. */
class PartHeld extends Error {}
