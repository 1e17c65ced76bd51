// Stage 2, check: what each file is, from the ledger when unchanged (no read), else from one read;
// then which of them the API must be asked about (a copy of a file of this run follows that file).
// A file the ledger knows unchanged, stored in this pipeline and resized with this run's spec
// (its `done` record read by a wait) is asked about not at all, unless --verify.
import pLimit from 'p-limit';
import { inspectFile, type Inspected } from '../../files/inspect.js';
import { hashParts } from '../../files/part-hashes.js';
import { Ledger, type LedgerEntry } from '../../files/ledger.js';
import { diskPath, type FoundFile } from '../../files/scan.js';
import { alreadyThere, failed, knownResized, pipelineOf } from './record.js';
import type { FileRecord, UploadRun } from './types.js';

export interface Checked {
  r: FileRecord;
  inspected: Inspected;
  /** The ledger knew the file unchanged: its hash is the recorded one, the file was not read. */
  fromLedger: boolean;
  /** …and knew it resized with this run's spec, under this key: no request is made for it. */
  resizedAs?: string;
}

/** A batch's checks. Reading and hashing a few files at a time keeps memory flat (all 100 of a batch at once peaked 75 MB higher, no faster). */
export function checkBatch(run: UploadRun, batch: FileRecord[]): Promise<Checked[]> {
  const limit = pLimit(4);
  return Promise.all(batch.map((r) => limit(() => checkFile(run, r))));
}

/**
 * A file the ledger has seen for this pipeline, with the same size and mtime, is not read again:
 * its recorded SHA-256 goes to the API, which still decides ("exists", or a URL if the bucket lost it).
 */
export async function checkFile(run: UploadRun, r: FileRecord): Promise<Checked> {
  const file = r.found!;
  const known = unchangedUpload(run.ledger, pipelineOf(run.opts), file, file.mtimeMs); // the scan's mtime: no second stat
  if (known) {
    const resizedAs = !run.opts.verify && known.done !== undefined && known.done === run.specHash ? known.key : undefined;
    // A big file the API will be asked about needs its part hashes: the ledger's, else one read for them.
    const parts = resizedAs ? undefined : (known.parts ?? (await hashParts(diskPath(file), known.size).catch(() => undefined)));
    return { r, fromLedger: true, resizedAs, inspected: { ok: true, size: known.size, sha256: known.sha256, contentType: known.contentType, ...(parts ? { parts } : {}) } };
  }
  return { r, fromLedger: false, inspected: await inspectFile(diskPath(file), run.opts.spec) };
}

/** The ledger's entry for a file whose size and mtime are those of its upload (dry runs ask too). */
export function unchangedUpload(ledger: Ledger, pipeline: string, file: FoundFile, mtimeMs: number): LedgerEntry | undefined {
  // A name that is not UTF-8 shows U+FFFD, which another file's name may show too: not looked up.
  const known = file.fsPath ? undefined : ledger.lookup(pipeline, file.path);
  // Milliseconds, as most tools that restore a time (cp -p, tar, utimes with a Date) keep them.
  return known && known.size === file.size && Math.round(known.mtimeMs) === Math.round(mtimeMs) ? known : undefined;
}

/** Ends the files that failed their check; returns the rest that the API must be asked about, in order. */
export function filesToPresign(run: UploadRun, checks: Checked[]): FileRecord[] {
  const requests: FileRecord[] = [];
  for (const { r, inspected, fromLedger, resizedAs } of checks) {
    if (!inspected.ok) {
      failed(run, r, 'check', inspected.reason);
      continue;
    }
    Object.assign(r, { size: inspected.size, sha256: inspected.sha256, contentType: inspected.contentType, parts: inspected.parts });
    run.emit({ type: 'file-checked', relPath: r.relPath, size: inspected.size, sha256: inspected.sha256, fromLedger });
    if (resizedAs) {
      if (!run.firstOf.has(inspected.sha256)) run.firstOf.set(inspected.sha256, r); // a copy of it follows it
      knownResized(run, r, resizedAs);
      continue;
    }
    const first = run.firstOf.get(inspected.sha256);
    // The same bytes twice in one run (a copy in another folder): sent once, both recorded. A copy
    // of one that already failed gets its own try (the failure may have been the first's alone).
    if (first?.status === 'pending') {
      run.twins.set(first, [...(run.twins.get(first) ?? []), r]);
      continue;
    }
    if (first && first.status !== 'failed') {
      alreadyThere(run, r, first.key!, first);
      continue;
    }
    run.firstOf.set(inspected.sha256, r);
    requests.push(r);
  }
  return requests;
}
