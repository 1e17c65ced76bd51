// Stage 1, check: what each file is, from the ledger when unchanged (no read), else from one read.
import { inspectFile } from '../../files/inspect.js';
import { Ledger, type LedgerEntry } from '../../files/ledger.js';
import { type ManifestFile } from '../../files/manifest.js';
import { diskPath, type FoundFile } from '../../files/scan.js';
import { alreadyThere } from './send.js';
import type { Checked, PendingPut, UploadRun } from './types.js';

/**
 * A file the ledger has seen for this pipeline, with the same size and mtime, is not read again:
 * its recorded SHA-256 goes to the API, which still decides ("exists", or a URL if the bucket lost it).
 */
export async function checkFile(run: UploadRun, file: FoundFile): Promise<Checked> {
  const { mtimeMs } = file; // taken by the scan's stat: no second one
  const known = unchangedUpload(run.ledger, run.opts.destination.target ?? run.opts.api, file, mtimeMs);
  if (known) {
    return { file, mtimeMs, inspected: { ok: true, size: known.size, sha256: known.sha256, contentType: known.contentType } };
  }
  return { file, mtimeMs, inspected: await inspectFile(diskPath(file), run.opts.spec) };
}

/** The ledger's entry for a file whose size and mtime are those of its upload (dry runs ask too). */
export function unchangedUpload(ledger: Ledger, pipeline: string, file: FoundFile, mtimeMs: number): LedgerEntry | undefined {
  // A name that is not UTF-8 shows U+FFFD, which another file's name may show too: not looked up.
  const known = file.fsPath ? undefined : ledger.lookup(pipeline, file.path);
  // Milliseconds, as most tools that restore a time (cp -p, tar, utimes with a Date) keep them.
  return known && known.size === file.size && Math.round(known.mtimeMs) === Math.round(mtimeMs) ? known : undefined;
}

/** Finish the files that failed inspection; return the rest, to be presigned. */
export function filesToPresign(run: UploadRun, checks: Checked[], entries: ManifestFile[]): PendingPut[] {
  const requests: PendingPut[] = [];
  for (const { file, inspected, mtimeMs } of checks) {
    if (!inspected.ok) {
      run.finish({ path: file.path, relPath: file.relPath, status: 'failed', error: inspected.reason }, undefined, `error ${file.path}: ${inspected.reason}`);
      continue;
    }
    const entry: ManifestFile = { path: file.path, relPath: file.relPath, size: inspected.size, sha256: inspected.sha256, contentType: inspected.contentType, status: 'pending' };
    entries.push(entry);
    const name = file.relPath.split('/').pop()!;
    const pending: PendingPut = { file, entry, mtimeMs, twins: [], request: { name, size: inspected.size, contentType: inspected.contentType, sha256: inspected.sha256 } };
    const first = run.firstOf.get(inspected.sha256);
    // The same bytes twice in one run (a copy in another folder): sent once, both recorded. A copy
    // of one that already failed gets its own try (the failure may have been the first's alone).
    if (first?.entry.status === 'pending') {
      first.twins.push(pending);
      continue;
    }
    if (first?.entry.status === 'uploaded') {
      entry.key = first.entry.key;
      alreadyThere(run, pending, first);
      continue;
    }
    run.firstOf.set(inspected.sha256, pending);
    requests.push(pending);
  }
  return requests;
}
