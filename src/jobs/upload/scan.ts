// Stage 1, scan: the paths given become one record per file; what the walk passed over (hidden,
// not an image, filtered out) and the arguments it could not read are told as events.
import { scanPaths, type ScanResult } from '../../files/scan.js';
import type { UploadEvent } from './events.js';
import { publicRecord } from './record.js';
import type { FileRecord, UploadOptions } from './types.js';

type FileSkipped = Extract<UploadEvent, { type: 'file-skipped' }>;

/** The scan, and its records: unreadable arguments (already failed) first, then every file found. */
export async function scanStage(opts: UploadOptions, emit: (e: UploadEvent) => void): Promise<{ scan: ScanResult; records: FileRecord[] }> {
  const scan = await scanPaths(opts.paths, { filters: opts.filters, expandGlobs: true });
  const records: FileRecord[] = [];
  for (const p of scan.problems) {
    const r: FileRecord = { path: p.path, relPath: p.path, status: 'failed', size: 0, error: p.reason };
    records.push(r);
    emit({ type: 'file-failed', file: publicRecord(r), stage: 'scan', bytes: 0 });
  }
  for (const e of scanSkips(scan)) emit(e);
  for (const found of scan.files) records.push({ path: found.path, relPath: found.relPath, found, status: 'pending', size: found.size });
  return { scan, records };
}

/** The walk's skips, sorted by path, then the filters' (dry runs list them too). */
function scanSkips(scan: ScanResult): FileSkipped[] {
  const hidden = new Set(scan.hidden);
  return [
    ...[...scan.skipped, ...scan.hidden].sort().map((path): FileSkipped => ({ type: 'file-skipped', path, reason: hidden.has(path) ? 'hidden' : 'not-an-image' })),
    ...scan.special.map((s): FileSkipped => ({ type: 'file-skipped', path: s.path, reason: s.kind === 'FIFO' ? 'fifo' : s.kind })),
    ...scan.excluded.map((e): FileSkipped => ({ type: 'file-skipped', path: e.path, relPath: e.relPath, reason: 'excluded', pattern: e.pattern })),
  ];
}
