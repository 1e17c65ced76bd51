// Stage 4, record: each finished file reported and saved, then the run's result and summary line.
import { ManifestWriter, type ManifestFile } from '../../files/manifest.js';
import { walkSkips, walkSkipsText, type FoundFile, type ScanResult } from '../../files/scan.js';
import { formatBytes, formatSeconds } from '../../ui/format.js';
import type { Reporter } from '../../ui/reporter.js';
import type { UploadOptions, UploadRecord, UploadResult, UploadRun } from './types.js';

/** -v lists what the walk passed over and what the filters left out (dry runs too). */
export function reportScanSkips(reporter: Reporter, scan: ScanResult): void {
  for (const p of [...scan.skipped, ...scan.hidden].sort()) reporter.verbose(`skip ${p}: ${scan.hidden.includes(p) ? 'hidden' : 'not an image (by its extension)'}`);
  for (const e of scan.excluded) reporter.verbose(`skip ${e.relPath}: excluded by --exclude ${e.pattern}`);
}

/** Records a finished file (any status), reports it, advances the progress bar and saves the manifest. */
export function finisher(reporter: Reporter, files: FoundFile[], records: UploadRecord[], writer: ManifestWriter): UploadRun['finish'] {
  const sizeOf = new Map(files.map((f) => [f.path, f.size]));
  let filesDone = 0;
  const fileCount = () => ({ files: `${filesDone}/${files.length} files` });
  return (record, entry, line) => {
    filesDone++;
    records.push(record);
    if (record.status === 'failed') {
      reporter.error(line);
      reporter.advance(sizeOf.get(record.path) ?? 0); // the bar still ends at 100 %
    }
    reporter.step(record.status === 'failed' ? '' : line, record.relPath, 0);
    reporter.advance(0, fileCount());
    if (entry) void writer.save();
  };
}

/** Files never reached (interrupted) are listed as pending. */
export function addNeverReached(files: FoundFile[], records: UploadRecord[], entries: ManifestFile[]): void {
  const listed = new Set(records.map((r) => r.path));
  const entryOf = new Map(entries.map((e) => [e.path, e]));
  for (const f of files) {
    if (listed.has(f.path)) continue;
    const e = entryOf.get(f.path);
    records.push({ path: f.path, relPath: f.relPath, status: 'pending', key: e?.key, size: f.size });
  }
}

export function uploadResult(
  opts: UploadOptions,
  scan: ScanResult,
  records: UploadRecord[],
  entries: ManifestFile[],
  { retries, bytes }: UploadRun['stats'],
  started: number,
): UploadResult {
  const seconds = (Date.now() - started) / 1000;
  const count = (s: UploadRecord['status']) => records.filter((r) => r.status === s).length;
  return {
    ok: !opts.signal.aborted && count('failed') === 0 && count('pending') === 0,
    interrupted: opts.signal.aborted,
    api: opts.api,
    files: scan.files.length + scan.problems.length,
    uploaded: count('uploaded'),
    skipped: count('skipped'),
    failed: count('failed'),
    retries,
    bytes,
    seconds,
    filesPerSecond: seconds ? count('uploaded') / seconds : 0,
    megabytesPerSecond: seconds ? bytes / 1e6 / seconds : 0,
    manifest: opts.manifestPath,
    uploads: records,
    keys: entries.filter((e) => e.status === 'uploaded' && e.key).map((e) => e.key!),
    walkSkipped: walkSkips(scan),
    excluded: scan.excluded.length,
  };
}

export function summaryLine(result: UploadResult): string {
  const pending = result.uploads.filter((r) => r.status === 'pending').length;
  return (
    `${result.uploaded} uploaded, ${result.skipped} already there, ${result.failed} failed` +
    (result.interrupted ? `, ${pending} not done (interrupted)` : '') +
    ` of ${result.files} files; ${formatBytes(result.bytes)} in ${formatSeconds(result.seconds * 1000)}` +
    (result.uploaded ? ` (${result.filesPerSecond.toFixed(1)} files/s, ${result.megabytesPerSecond.toFixed(1)} MB/s)` : '') +
    (result.retries ? `; ${result.retries} retries` : '') +
    (result.walkSkipped.total ? `; ${walkSkipsText(result.walkSkipped)}` : '') +
    (result.excluded ? `; ${result.excluded} excluded by filters` : '') +
    `; manifest ${result.manifest}`
  );
}
