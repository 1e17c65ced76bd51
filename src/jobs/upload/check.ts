// Stage 2, check: what each file is, from the ledger when unchanged (no read), else from one read;
// then which of them the API must be asked about (a copy of a file of this run follows that file).
// A file the ledger knows unchanged, stored in this pipeline and resized with this run's spec
// (its `done` record read by a wait) is asked about not at all, unless --verify.
import pLimit from 'p-limit';
import { inspectFile } from '../../files/inspect.js';
import { hashPartsAside } from '../../files/part-hash-thread.js';
import { Ledger, type LedgerEntry } from '../../files/ledger.js';
import { diskPath, type FoundFile } from '../../files/scan.js';
import { alreadyThere, failed, knownStored, wouldUpload } from './record.js';
import type { FileRecord, UploadRun } from './types.js';

/** A batch's checks. Reading and hashing a few files at a time keeps memory flat (all 100 of a batch at once peaked 75 MB higher, no faster). */
export function checkBatch(run: UploadRun, batch: FileRecord[]): Promise<FileRecord[]> {
  const limit = pLimit(4);
  return Promise.all(batch.map((r) => limit(() => checkFile(run, r))));
}

/**
 * What a file is, written into its record (hash, type, parts, pixels), or its failure. A file the
 * ledger has seen for this pipeline, with the same size and mtime, is not read again: its
 * recorded SHA-256 goes to the API, which still decides ("exists", or a URL if the bucket lost
 * it). If the ledger also knows it resized with this run's spec — or the run is a dry run, which
 * asks nothing — the ledger's key is the answer.
 */
async function checkFile(run: UploadRun, r: FileRecord): Promise<FileRecord> {
  const file = r.found!;
  const known = unchangedUpload(run.ledger, run.opts.destination.pipeline, file, file.mtimeMs); // the scan's mtime: no second stat
  if (known) {
    const resized = !run.opts.verify && known.done !== undefined && known.done === run.specHash;
    const ledgerKey = resized || run.opts.dryRun ? known.key : undefined;
    // A big file the API will be asked about needs its part hashes: the ledger's, else one read for them.
    const parts = ledgerKey ? undefined : (known.parts ?? (await hashPartsAside(diskPath(file), known.size).catch(() => undefined)));
    return Object.assign(r, { fromLedger: true, ledgerKey, resized: resized || undefined, size: known.size, sha256: known.sha256, contentType: known.contentType, parts });
  }
  const inspected = await inspectFile(diskPath(file), run.opts.spec);
  if (!inspected.ok) return Object.assign(r, { error: inspected.reason });
  return Object.assign(r, { size: inspected.size, sha256: inspected.sha256, contentType: inspected.contentType, parts: inspected.parts, width: inspected.width, height: inspected.height });
}

/** The ledger's entry for a file whose size and mtime are those of its upload (dry runs ask too). */
function unchangedUpload(ledger: Ledger, pipeline: string, file: FoundFile, mtimeMs: number): LedgerEntry | undefined {
  // A name that is not UTF-8 shows U+FFFD, which another file's name may show too: not looked up.
  const known = file.fsPath ? undefined : ledger.lookup(pipeline, file.path);
  // Milliseconds, as most tools that restore a time (cp -p, tar, utimes with a Date) keep them.
  return known && known.size === file.size && Math.round(known.mtimeMs) === Math.round(mtimeMs) ? known : undefined;
}

/** Ends the files that failed their check; returns the rest that the API must be asked about, in order (none in a dry run). */
export function filesToPresign(run: UploadRun, checked: FileRecord[]): FileRecord[] {
  const requests: FileRecord[] = [];
  for (const r of checked) {
    if (!r.sha256) {
      failed(run, r, 'check', r.error ?? 'not checked');
      continue;
    }
    run.emit({ type: 'file-checked', relPath: r.relPath, size: r.size, sha256: r.sha256, fromLedger: !!r.fromLedger });
    if (r.ledgerKey) {
      if (!run.firstOf.has(r.sha256)) run.firstOf.set(r.sha256, r); // a copy of it follows it
      knownStored(run, r, r.ledgerKey);
      continue;
    }
    const first = run.firstOf.get(r.sha256);
    // The same bytes twice in one run (a copy in another folder): sent once, both recorded (a dry
    // run's first stays pending: its copy ends at once). A copy of one that already failed gets its
    // own try (the failure may have been the first's alone).
    if (first?.status === 'pending' && !run.opts.dryRun) {
      run.twins.set(first, [...(run.twins.get(first) ?? []), r]);
      continue;
    }
    if (first && first.status !== 'failed') {
      alreadyThere(run, r, first.key!, first);
      continue;
    }
    run.firstOf.set(r.sha256, r);
    // --dry-run's one guard: what the API would be asked about is what would be sent (said here,
    // in the files' order, rather than asked).
    if (run.opts.dryRun) wouldUpload(run, r);
    else requests.push(r);
  }
  return requests;
}
