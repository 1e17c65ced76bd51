// A big file from the page in parts, as the API's multipart plan says: each part its own PUT on the
// page's shared PUT slots, then POST /uploads/complete. Parts the plan marks done (sent before the
// tab was closed, or from another machine with the same file) are not sent again: the plan is found
// by the file's content, so the browser stores nothing to resume. A URL that expires asks for the
// plan again, which also names the parts stored meanwhile.
import type { CompleteResponse, FileRequest, UploadAnswer, UploadParts } from '../api/contract.js';
import { partsOf } from '../api/parts.js';
import { transient, xhrPut } from './xhr-put.js';

export interface PartsProgress {
  sent: number; // bytes stored or in flight, of the whole file
  stored: number; // parts storage holds
  resumed: number; // of those, parts held before this page sent any
  total: number;
}

export interface PartsDeps {
  file: File;
  request: FileRequest & { parts: string[] };
  slot: <T>(job: () => Promise<T>) => Promise<T>;
  replan: () => Promise<UploadAnswer>;
  complete: (body: unknown) => Promise<CompleteResponse | { error: { message: string } }>;
  progress: (p: PartsProgress) => void;
  pause: (attempt: number) => Promise<unknown>;
  attempts: number;
}

/** 'sent' when storage holds the whole file (completed here, or found complete), else why not. */
export async function sendParts(first: UploadParts, deps: PartsDeps): Promise<{ sent: true } | { sent: false; reason: string }> {
  const parts = partsOf(deps.file.size);
  let plan = first;
  const isHeld = (n: number) => 'done' in plan.parts[n - 1];
  const loaded = new Map<number, number>(parts.filter((p) => isHeld(p.partNumber)).map((p) => [p.partNumber, p.size]));
  const resumed = loaded.size;
  const stored = new Set(loaded.keys());
  const report = () => deps.progress({ sent: [...loaded.values()].reduce((a, b) => a + b, 0), stored: stored.size, resumed, total: parts.length });
  report();
  // One fresh plan for every part whose URL expired at about the same time.
  let replanning: Promise<UploadAnswer> | undefined;
  const replan = () => (replanning ??= deps.replan().finally(() => setTimeout(() => (replanning = undefined), 1000)));
  let complete = false; // a fresh plan said "exists": another client finished the file

  const sendPart = async ({ partNumber, start, size }: (typeof parts)[number]): Promise<string | undefined> => {
    for (let attempt = 1; attempt <= deps.attempts; attempt++) {
      if (complete || isHeld(partNumber)) break;
      const { url, headers } = plan.parts[partNumber - 1] as { url: string; headers: Record<string, string> };
      const status = await xhrPut(url, headers, deps.file.slice(start, start + size), (bytes) => {
        loaded.set(partNumber, bytes);
        report();
      });
      if (status >= 200 && status < 300) break;
      loaded.delete(partNumber);
      report();
      if (status === -403) {
        const fresh = await replan();
        if ('error' in fresh) return fresh.error.message;
        if ('exists' in fresh) complete = true;
        else if ('uploadId' in fresh && fresh.uploadId === plan.uploadId) plan = fresh;
        else return 'the upload in progress was replaced meanwhile: drop the file again';
        continue;
      }
      if (!transient(status)) return `part ${partNumber} refused by storage (${status})`;
      if (attempt === deps.attempts) return `part ${partNumber} not sent after ${deps.attempts} attempts`;
      await deps.pause(attempt);
    }
    loaded.set(partNumber, size);
    stored.add(partNumber);
    report();
    return undefined;
  };

  const problems = await Promise.all(parts.filter((p) => !isHeld(p.partNumber)).map((p) => deps.slot(() => sendPart(p))));
  const problem = problems.find(Boolean);
  if (problem) return { sent: false, reason: problem };
  if (complete) return { sent: true };
  const { size, sha256, parts: hashes } = deps.request;
  const done = await deps.complete({ key: plan.key, uploadId: plan.uploadId, size, sha256, parts: hashes });
  return 'error' in done ? { sent: false, reason: done.error.message } : { sent: true };
}
