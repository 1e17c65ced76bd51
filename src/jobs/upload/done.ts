// After `upload --wait`: what the wait read goes into the ledger, so the next run of the same
// files asks nothing about them (./check.ts). Only a record read whole says which spec made it (a
// listed one does not, and a record of an older spec does not mean this spec's variants exist),
// so the upload's wait reads every done record, and only those of this run's spec count.
import type { DoneRecord, ImageRecord } from '../../core/record.js';
import { specHash, type Spec } from '../../core/spec.js';
import { DEFAULT_LEDGER, Ledger } from '../../files/ledger.js';
import type { DoneMark } from '../../s3/wait.js';
import type { UploadResult } from './types.js';

/** The keys a wait after the upload must look at: not those the ledger knows resized (unless downloading them). */
export function keysToWaitFor(upload: UploadResult, downloading: boolean): string[] {
  if (downloading) return upload.keys;
  const known = new Set(upload.uploads.filter((u) => u.resized).map((u) => u.key));
  return upload.keys.filter((k) => !known.has(k));
}

/** Source key → when the API queued it for resize again: its failure records from before are an earlier try's. */
export function requeuedAt(files: Array<{ key?: string; requeuedAt?: string }>): Map<string, number> {
  return new Map(files.flatMap((f) => (f.key && f.requeuedAt ? [[f.key, Date.parse(f.requeuedAt)] as const] : [])));
}

/** How many images of the run the wait passes over: the ledger knows them resized with this spec. */
export function knownResized(upload: UploadResult, waitKeys: string[]): number {
  const waited = new Set(waitKeys);
  return new Set(upload.keys.filter((k) => !waited.has(k))).size;
}

/** Mark in the ledger each file of the run whose record the wait read as done with `spec`; returns how many. */
export async function rememberResized(o: { pipeline: string; upload: UploadResult; records: Array<ImageRecord | DoneMark>; spec: Spec; ledgerPath?: string }): Promise<number> {
  const hash = specHash(o.spec);
  const done = new Set(o.records.filter((r): r is DoneRecord => r.status === 'done' && 'specHash' in r && r.specHash === hash).map((r) => r.source.key));
  if (!done.size) return 0;
  const ledger = await Ledger.open(o.ledgerPath ?? DEFAULT_LEDGER);
  const entries = o.upload.uploads.flatMap((u) => {
    const entry = u.key && done.has(u.key) ? ledger.lookup(o.pipeline, u.path) : undefined;
    // The entry the upload just wrote for these bytes (a file not remembered, e.g. by a name that is not UTF-8, has none).
    return entry && entry.key === u.key && entry.done !== hash ? [{ ...entry, done: hash, at: new Date().toISOString() }] : [];
  });
  await ledger.append(entries);
  return entries.length;
}
