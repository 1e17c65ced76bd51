// Stage 5, record: a file ends here exactly once, uploaded, already there or failed. What is in the
// bucket goes into the ledger, the manifest is saved, and the file's twins (its bytes, elsewhere in
// this run) end as it did. Also how the record reads in the manifest and in the result.
import type { ManifestFile } from '../../files/manifest.js';
import type { UploadStage } from './events.js';
import type { FileRecord, UploadOptions, UploadRecord, UploadRun } from './types.js';

/** Which pipeline the ledger files an upload under: the stack's identity, else its API. */
export const pipelineOf = (opts: UploadOptions): string => opts.destination.target ?? opts.api;

export function uploaded(run: UploadRun, r: FileRecord): void {
  r.status = 'uploaded';
  r.uploadedAt = new Date().toISOString();
  remember(run, r);
  run.stats.bytes += r.size;
  run.emit({ type: 'file-uploaded', file: publicRecord(r) });
  run.save();
  settleTwins(run, r, 'put');
}

/** The bucket holds these bytes already (from any folder, machine, earlier or interrupted run, or `twinOf` of this run): nothing to send. */
export function alreadyThere(run: UploadRun, r: FileRecord, key: string, twinOf?: FileRecord): void {
  r.status = 'skipped';
  r.key = key;
  r.uploadedAt ??= new Date().toISOString();
  remember(run, r);
  run.emit({ type: 'file-exists', file: publicRecord(r), ...(twinOf ? { twinOf: twinOf.relPath } : {}) });
  run.save();
  settleTwins(run, r, 'put');
}

/** The ledger knows the file stored under `key` and resized with this run's spec: nothing asked, nothing written. */
export function knownResized(run: UploadRun, r: FileRecord, key: string): void {
  r.status = 'skipped';
  r.key = key;
  r.resized = true;
  r.uploadedAt ??= run.ledger.lookup(pipelineOf(run.opts), r.path)?.at;
  run.emit({ type: 'file-exists', file: publicRecord(r) });
  run.save();
  settleTwins(run, r, 'put');
}

export function failed(run: UploadRun, r: FileRecord, stage: UploadStage, error: string): void {
  r.status = 'failed';
  r.error = error;
  run.emit({ type: 'file-failed', file: publicRecord(r), stage, bytes: r.found?.size ?? 0 });
  if (r.sha256) run.save(); // only checked files are in the manifest
  settleTwins(run, r, stage);
}

/** A file has ended: its twins are in the bucket too, or fail with it. */
function settleTwins(run: UploadRun, r: FileRecord, stage: UploadStage): void {
  const twins = run.twins.get(r);
  if (!twins) return;
  run.twins.delete(r);
  for (const t of twins) {
    if (r.status === 'failed') failed(run, t, stage, `same bytes as ${r.relPath}, which failed: ${r.error ?? 'not uploaded'}`);
    else alreadyThere(run, t, r.key!, r);
  }
}

/** The file is in the bucket under `r.key`: remember it for the next run. */
function remember(run: UploadRun, r: FileRecord): void {
  const found = r.found!;
  if (found.fsPath) return; // its shown path (U+FFFD for bytes that are not UTF-8) may be another file's too
  const pipeline = pipelineOf(run.opts);
  // The same bytes under the same key keep what a wait learnt of their record.
  const before = run.ledger.lookup(pipeline, r.path);
  const done = before && before.key === r.key && before.sha256 === r.sha256 ? before.done : undefined;
  void run.ledger
    .append([{ pipeline, path: r.path, size: r.size, mtimeMs: found.mtimeMs, sha256: r.sha256!, contentType: r.contentType!, key: r.key!, at: new Date().toISOString(), ...(done ? { done } : {}), ...(r.parts ? { parts: r.parts } : {}) }])
    .catch((err: Error) => run.warn(`warning: could not write the ledger ${run.ledger.file}: ${err.message}`));
}

/** The record as the result and --json show it: what each status has to say. */
export function publicRecord(r: FileRecord): UploadRecord {
  const { path, relPath, status } = r;
  if (status === 'failed') return { path, relPath, status, error: r.error, ...(r.retries !== undefined ? { retries: r.retries } : {}) };
  if (status === 'uploaded') return { path, relPath, status, key: r.key, size: r.size, retries: r.retries ?? 0 };
  return { path, relPath, status, key: r.key, size: r.size, ...(r.resized ? { resized: true } : {}), ...(r.requeuedAt ? { requeuedAt: r.requeuedAt } : {}) }; // skipped, or pending (never reached)
}

/**
 * The record as the manifest keeps it: checked files (those with a hash), and files refused
 * before they had one, with their reason (so `watch --html` can show every file of the run).
 */
export function manifestFile(r: FileRecord): ManifestFile | undefined {
  if (!r.sha256 && r.status !== 'failed') return undefined;
  const status = r.status === 'skipped' ? 'uploaded' : r.status;
  return { path: r.path, relPath: r.relPath, size: r.size, sha256: r.sha256, contentType: r.contentType, key: r.key, status, error: r.error, uploadedAt: r.uploadedAt, ...(r.requeuedAt ? { requeuedAt: r.requeuedAt } : {}) };
}
