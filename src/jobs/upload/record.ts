// Stage 5, record: a file ends here exactly once, uploaded, exists or failed. What is in the
// bucket goes into the ledger, the manifest is saved, and the file's twins (its bytes, elsewhere in
// this run) end as it did. And the one module that writes the record's views: the result's and
// the events' (publicRecord), the manifest's (manifestFile) and the ledger's (ledgerEntry).
import type { LedgerEntry } from '../../files/ledger.js';
import type { ManifestFile } from '../../files/manifest.js';
import type { UploadRecord, UploadStage } from './events.js';
import type { FileRecord, UploadRun } from './types.js';

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
  r.status = 'exists';
  r.key = key;
  if (twinOf) r.twinOf = twinOf.relPath;
  r.uploadedAt ??= new Date().toISOString();
  remember(run, r);
  run.emit({ type: 'file-exists', file: publicRecord(r) });
  run.save();
  settleTwins(run, r, 'put');
}

/** The ledger knows the file stored under `key` (and resized with this run's spec, or the run is a dry run): nothing asked, nothing written. */
export function knownStored(run: UploadRun, r: FileRecord, key: string): void {
  r.status = 'exists';
  r.key = key;
  r.uploadedAt ??= run.ledger.lookup(run.opts.destination.pipeline, r.path)?.at;
  run.emit({ type: 'file-exists', file: publicRecord(r) });
  run.save();
  settleTwins(run, r, 'put');
}

/** A dry run's file that would be sent: it stays pending (its copies in this run end as `exists`, see the check). */
export function wouldUpload(run: UploadRun, r: FileRecord): void {
  run.emit({ type: 'file-would-upload', file: publicRecord(r) });
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

/** The file is in the bucket under `r.key`: remember it for the next run (a dry run writes nothing). */
function remember(run: UploadRun, r: FileRecord): void {
  if (run.opts.dryRun || r.found!.fsPath) return; // its shown path (U+FFFD for bytes that are not UTF-8) may be another file's too
  const pipeline = run.opts.destination.pipeline;
  void run.ledger.append([ledgerEntry(r, pipeline, run.ledger.lookup(pipeline, r.path))]).catch((err: Error) => run.warn(`warning: could not write the ledger ${run.ledger.file}: ${err.message}`));
}

/** The record as the ledger keeps it; the same bytes under the same key keep what a wait learnt of their record (`done`). */
function ledgerEntry(r: FileRecord, pipeline: string, before?: LedgerEntry): LedgerEntry {
  const done = before && before.key === r.key && before.sha256 === r.sha256 ? before.done : undefined;
  return { pipeline, path: r.path, size: r.size, mtimeMs: r.found!.mtimeMs, sha256: r.sha256!, contentType: r.contentType!, key: r.key!, at: new Date().toISOString(), ...(done ? { done } : {}), ...(r.parts ? { parts: r.parts } : {}) };
}

/** The record as the result, the events and --json show it: what each status has to say. */
export function publicRecord(r: FileRecord): UploadRecord {
  const { path, relPath, status } = r;
  if (status === 'failed') return { path, relPath, status, error: r.error, ...(r.retries !== undefined ? { retries: r.retries } : {}) };
  if (status === 'uploaded') return { path, relPath, status, key: r.key, size: r.size, retries: r.retries ?? 0 };
  // exists, or pending (never reached; a dry run's "would upload")
  return { path, relPath, status, key: r.key, size: r.size, ...(r.twinOf ? { twinOf: r.twinOf } : {}), ...(r.resized ? { resized: true } : {}), ...(r.requeuedAt ? { requeuedAt: r.requeuedAt } : {}), ...(r.ledgerKey && !r.resized ? { fromLedger: true } : {}) };
}

/**
 * The record as the manifest keeps it: checked files (those with a hash), and files refused
 * before they had one, with their reason (so `watch --html` can show every file of the run).
 */
export function manifestFile(r: FileRecord): ManifestFile | undefined {
  if (!r.sha256 && r.status !== 'failed') return undefined;
  return { path: r.path, relPath: r.relPath, size: r.size, sha256: r.sha256, contentType: r.contentType, key: r.key, status: r.status, error: r.error, uploadedAt: r.uploadedAt, ...(r.requeuedAt ? { requeuedAt: r.requeuedAt } : {}) };
}
