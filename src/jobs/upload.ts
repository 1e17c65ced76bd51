// upload: find images, check and hash each in one streaming read, ask the API for pre-signed
// URLs a batch at a time, PUT them concurrently with retries, and keep the manifest current.
// The stages live in ./upload/: check → presign/put (send) → record (report); one PendingPut per
// file flows through them and ends in exactly one UploadRecord.
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { DEFAULT_LEDGER, Ledger } from '../files/ledger.js';
import { ManifestWriter, type Manifest, type ManifestFile } from '../files/manifest.js';
import { scanPaths } from '../files/scan.js';
import { pause } from '../s3/retry.js';
import { checkFile, filesToPresign } from './upload/check.js';
import { addNeverReached, finisher, reportScanSkips, summaryLine, uploadResult } from './upload/report.js';
import { presignBatch, putOne, alreadyThere, failPending } from './upload/send.js';
import type { UploadOptions, UploadRecord, UploadResult, UploadRun } from './upload/types.js';

export type { UploadOptions, UploadRecord, UploadResult } from './upload/types.js';
export { reportScanSkips } from './upload/report.js';
export { unchangedUpload } from './upload/check.js';

export async function runUpload(opts: UploadOptions): Promise<UploadResult> {
  const started = Date.now();
  const { reporter, signal } = opts;
  const concurrency = opts.concurrency ?? Math.max(8, availableParallelism() * 8);
  const batchSize = opts.batchSize ?? 100;

  const scan = await scanPaths(opts.paths, { filters: opts.filters, expandGlobs: true });
  const records: UploadRecord[] = [];
  for (const p of scan.problems) {
    records.push({ path: p.path, relPath: p.path, status: 'failed', error: p.reason });
    reporter.error(`error ${p.path}: ${p.reason}`);
  }
  reportScanSkips(reporter, scan);

  const ledger = await Ledger.open(opts.ledgerPath ?? DEFAULT_LEDGER);

  // The manifest lists this run's files; each entry is updated in place as it progresses.
  const entries: ManifestFile[] = [];
  const manifest = (): Manifest => ({ version: 1, api: opts.api, ...opts.destination, updatedAt: '', files: entries });
  const writer = new ManifestWriter(opts.manifestPath, manifest);

  reporter.start(scan.files.reduce((n, f) => n + f.size, 0), 'uploading', 'bytes');
  const putLimit = pLimit(concurrency);
  const puts: Promise<void>[] = [];
  const run: UploadRun = { opts, ledger, firstOf: new Map(), stats: { retries: 0, bytes: 0 }, finish: finisher(reporter, scan.files, records, writer) };

  // Reading and hashing a few files at a time keeps memory flat (all 100 of a batch at once
  // peaked 75 MB higher, no faster).
  const inspectLimit = pLimit(4);
  // A small first batch, so the first PUTs start while the rest is still being checked.
  for (let i = 0, size = Math.min(batchSize, concurrency); i < scan.files.length && !signal.aborted; i += size, size = batchSize) {
    // Do not run ahead of the uploads: URLs are short-lived and each batch holds memory.
    while (putLimit.pendingCount > batchSize && !signal.aborted) await pause(50);
    const batch = scan.files.slice(i, i + size);
    const checks = await Promise.all(batch.map((file) => inspectLimit(() => checkFile(run, file))));
    const requests = filesToPresign(run, checks, entries);
    if (!requests.length) continue;

    const answers = await presignBatch(run, requests);
    if (!answers) {
      if (signal.aborted) break;
      continue;
    }
    requests.forEach((r, j) => {
      const answer = answers[j];
      if ('error' in answer) {
        failPending(run, r, `refused by the API: ${answer.error.code}: ${answer.error.message}`);
        return;
      }
      r.entry.key = answer.key;
      if ('exists' in answer) return alreadyThere(run, r);
      puts.push(putLimit(() => putOne(run, r, answer)));
    });
    // Keys are on disk before their PUTs start: after a crash they show what may be in the bucket.
    void writer.save();
  }
  await Promise.all(puts);
  await writer.save();
  await ledger.append([]).catch(() => undefined); // every remembered upload is on disk (a failure was reported)
  reporter.stop();

  addNeverReached(scan.files, records, entries);
  const result = uploadResult(opts, scan, records, entries, run.stats, started);
  reporter.summary(summaryLine(result));
  return result;
}
