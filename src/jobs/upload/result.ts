// The run's result: counts, rates and every file's record, read off the records the stages filled in.
import type { Manifest } from '../../files/manifest.js';
import { walkSkips, type ScanResult } from '../../files/scan.js';
import { isStored } from '../../core/file-status.js';
import { dryRunCost } from './dry-run.js';
import { manifestFile, publicRecord } from './record.js';
import type { FileRecord, UploadOptions, UploadResult, UploadRun } from './types.js';

/** This run's manifest: its checked files, each as far as it got. */
export function manifestOf(opts: UploadOptions, records: FileRecord[]): Manifest {
  return { version: 1, api: opts.api, ...opts.destination, updatedAt: '', files: records.flatMap((r) => manifestFile(r) ?? []) };
}

export function uploadResult(
  opts: UploadOptions,
  scan: ScanResult,
  records: FileRecord[],
  { stats: { retries, bytes }, stopped }: Pick<UploadRun, 'stats' | 'stopped'>,
  started: number,
  warnings: string[],
  manifestWritten: boolean,
): UploadResult {
  const seconds = (Date.now() - started) / 1000;
  const count = (s: FileRecord['status']) => records.filter((r) => r.status === s).length;
  return {
    // A dry run's pending files are its "would upload", not unfinished work.
    ok: !opts.signal.aborted && count('failed') === 0 && (opts.dryRun || count('pending') === 0),
    interrupted: opts.signal.aborted,
    api: opts.api,
    files: records.length,
    uploaded: count('uploaded'),
    exists: count('exists'),
    failed: count('failed'),
    retries,
    bytes,
    seconds,
    filesPerSecond: seconds ? count('uploaded') / seconds : 0,
    megabytesPerSecond: seconds ? bytes / 1e6 / seconds : 0,
    manifest: opts.manifestPath,
    manifestWritten,
    uploads: records.map(publicRecord),
    keys: records.filter((r) => isStored(r.status) && r.key).map((r) => r.key!),
    walkSkipped: walkSkips(scan),
    excluded: scan.excluded.length,
    warnings,
    ...(stopped ? { stopped } : {}),
    ...(opts.dryRun ? dryRunCounts(records) : {}),
    // Only a deployed pipeline costs money; the local stack's cost is this machine's time.
    ...(opts.dryRun && !opts.destination.local ? { aws: dryRunCost(records, opts.spec) } : {}),
  };
}

/** What a dry run would send: its files left pending, and their bytes. */
function dryRunCounts(records: FileRecord[]): Pick<UploadResult, 'dryRun' | 'toUpload' | 'toUploadBytes'> {
  const toSend = records.filter((r) => r.status === 'pending');
  return { dryRun: true, toUpload: toSend.length, toUploadBytes: toSend.reduce((n, r) => n + r.size, 0) };
}
