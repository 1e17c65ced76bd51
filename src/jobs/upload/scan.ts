// Stage 1, scan: the paths given become one record per file; what the walk passed over (hidden,
// not an image, filtered out) and the arguments it could not read are told as events.
import { scanPaths, type ScanResult } from '../../files/scan.js';
import type { UploadEvent } from './events.js';
import { publicRecord } from './record.js';
import type { FileRecord, UploadOptions } from './types.js';

type FilePassedOver = Extract<UploadEvent, { type: 'file-passed-over' }>;

/** The scan, and its records: unreadable arguments (already failed) first, then every file found. */
export async function scanStage(opts: UploadOptions, emit: (e: UploadEvent) => void): Promise<{ scan: ScanResult; records: FileRecord[] }> {
  const scan = await scanPaths(opts.paths, { filters: opts.filters, expandGlobs: true });
  const records: FileRecord[] = [];
  for (const p of scan.problems) {
    const r: FileRecord = { path: p.path, relPath: p.path, status: 'failed', size: 0, error: p.reason };
    records.push(r);
    emit({ type: 'file-failed', file: publicRecord(r), stage: 'scan', bytes: 0 });
  }
  for (const e of passedOver(scan)) emit(e);
  for (const found of scan.files) records.push({ path: found.path, relPath: found.relPath, found, status: 'pending', size: found.size });
  return { scan, records };
}

/** What the walk passed over, sorted by path, then what the filters left out. */
function passedOver(scan: ScanResult): FilePassedOver[] {
  const hidden = new Set(scan.hidden);
  return [
    ...[...scan.skipped, ...scan.hidden].sort().map((path): FilePassedOver => ({ type: 'file-passed-over', path, reason: hidden.has(path) ? 'hidden' : 'not-an-image' })),
    ...scan.special.map((s): FilePassedOver => ({ type: 'file-passed-over', path: s.path, reason: s.kind === 'FIFO' ? 'fifo' : s.kind })),
    ...scan.excluded.map((e): FilePassedOver => ({ type: 'file-passed-over', path: e.path, relPath: e.relPath, reason: 'excluded', pattern: e.pattern })),
  ];
}
