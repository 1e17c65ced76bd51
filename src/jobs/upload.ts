// upload: find images, check and hash each in one streaming read, ask the API for pre-signed
// URLs a batch at a time, PUT them concurrently with retries, and keep the manifest current.
// The stages live in ./upload/: scan → check → presign (or "already there") → put → record. One
// FileRecord per file flows through them; progress goes out as events (./upload/events.ts) and
// the job returns its result: it prints nothing.
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { specHash } from '../core/spec.js';
import { MAX_FILES_PER_REQUEST } from '../api/contract.js';
import { DEFAULT_LEDGER, Ledger } from '../files/ledger.js';
import { ManifestWriter } from '../files/manifest.js';
import { pause } from '../s3/retry.js';
import { slowSpecWarning } from './slow-spec.js';
import { checkBatch, filesToPresign } from './upload/check.js';
import { presignBatch } from './upload/presign.js';
import { putOne } from './upload/put.js';
import { putParts } from './upload/put-parts.js';
import { manifestOf, uploadResult } from './upload/result.js';
import { scanStage } from './upload/scan.js';
import type { FileRecord, UploadOptions, UploadResult, UploadRun } from './upload/types.js';

export type { UploadOptions, UploadResult } from './upload/types.js';
export type { UploadEvent, UploadRecord, UploadStage } from './upload/events.js';

/**
 * The `imgpipe upload` job: every file of `opts.paths` checked, asked about and sent; it prints
 * nothing (progress is `opts.onEvent`) and returns one record per file. examples/api/upload.mjs
 * runs it against the embedded local stack (test/api-examples.test.ts runs that file).
 *
 * @example
 * const result = await runUpload({ paths: ['photos'], spec: DEFAULT_SPEC, api: stack.apiUrl, manifestPath: '.imgpipe/last-upload.json',
 *   destination: { pipeline: `local:${dataDir}`, destBucket: stack.destBucket, local: true }, signal: AbortSignal.timeout(120_000) });
 * // result.uploads: [{ relPath: 'a.jpg', status: 'uploaded', key: 'uploads/<sha256 in base32>/a.jpg', … }]
 */
export async function runUpload(opts: UploadOptions): Promise<UploadResult> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {});
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };
  const slow = slowSpecWarning(opts.spec, opts.env);
  if (slow) warn(slow);

  const { scan, records } = await scanStage(opts, emit);
  const ledger = await Ledger.open(opts.ledgerPath ?? DEFAULT_LEDGER);
  // The manifest lists this run's checked files, each as far as it got; rewritten as they progress
  // (a dry run writes none).
  const writer = opts.dryRun ? undefined : new ManifestWriter(opts.manifestPath, () => manifestOf(opts, records));
  const run: UploadRun = { opts, ledger, specHash: specHash(opts.spec), emit, warn, firstOf: new Map(), twins: new Map(), stats: { retries: 0, bytes: 0 }, save: () => void writer?.save().catch(() => undefined) }; // the last save below tells a failure
  const files = records.filter((r) => r.found);
  emit({ type: 'scan-done', files: files.length, bytes: files.reduce((n, r) => n + r.size, 0) });

  await sendAll(run, files);
  const manifestWritten = !!writer && (await writer.save(true).catch((err: Error) => {
    warn(`warning: could not write the manifest ${opts.manifestPath}: ${err.message}`);
    return false;
  }));
  await ledger.append([]).catch(() => undefined); // every remembered upload is on disk (a failure was told; a dry run remembered none)
  return uploadResult(opts, scan, records, run, started, warnings, manifestWritten);
}

/** Check, presign and PUT, a batch at a time; resolves when every PUT has ended. */
async function sendAll(run: UploadRun, files: FileRecord[]): Promise<void> {
  const { signal } = run.opts;
  const concurrency = run.opts.concurrency ?? Math.max(8, availableParallelism() * 8);
  const batchSize = run.opts.batchSize ?? MAX_FILES_PER_REQUEST;
  const putLimit = pLimit(concurrency);
  const puts: Promise<void>[] = [];
  const halted = () => signal.aborted || !!run.stopped;
  const batches = batchesOf(files, Math.min(batchSize, concurrency), batchSize);
  // Each batch is read and hashed while the one before it is presigned and its PUTs start, so
  // that a PUT slot is not left waiting for the next batch's check and then its URLs.
  let checking = batches.length ? checkBatch(run, batches[0]) : undefined;
  for (let b = 0; b < batches.length && !halted(); b++) {
    const checked = await checking!;
    checking = b + 1 < batches.length ? checkBatch(run, batches[b + 1]) : undefined;
    // Do not run ahead of the uploads: URLs are short-lived and each batch holds memory.
    while (putLimit.pendingCount > batchSize && !signal.aborted) await pause(50);
    if (halted()) break;
    const toPresign = filesToPresign(run, checked);
    if (!toPresign.length) continue;
    for (const r of await presignBatch(run, toPresign)) puts.push(r.send && 'plan' in r.send ? putParts(run, r, putLimit) : putLimit(() => putOne(run, r)));
    // Keys are on disk before their PUTs start: after a crash they show what may be in the bucket.
    run.save();
  }
  await checking?.catch(() => undefined); // a check begun before the run stopped: its files stay pending
  await Promise.all(puts);
}

/**
 * The batches of a run: a small first one, so the first PUTs start while the rest is still being
 * checked, then each twice the last up to the API's limit per request.
 */
function batchesOf<T>(items: T[], first: number, most: number): T[][] {
  const out: T[][] = [];
  for (let i = 0, size = first; i < items.length; i += size, size = Math.min(most, size * 2)) out.push(items.slice(i, i + size));
  return out;
}
