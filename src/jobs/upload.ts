// upload: find images, check and hash each in one streaming read, ask the API for pre-signed
// URLs a batch at a time, PUT them concurrently with retries, and keep the manifest current.
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { FileRequest, UploadAnswer } from '../api/contract.js';
import { requestUploads, uploadsUrl } from '../api/client.js';
import { stat } from 'node:fs/promises';
import { inspectFile, type Inspected } from '../files/inspect.js';
import { DEFAULT_LEDGER, Ledger, type LedgerEntry } from '../files/ledger.js';
import { ManifestWriter, type Manifest, type ManifestFile } from '../files/manifest.js';
import { diskPath, scanPaths, walkSkips, walkSkipsText, type FoundFile, type PathFilter, type ScanResult, type WalkSkips } from '../files/scan.js';
import { putWithRetry, type SignedPut } from '../s3/put.js';
import { pause } from '../s3/retry.js';
import { formatBytes, formatSeconds } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import type { Spec } from '../core/spec.js';

export interface UploadOptions {
  paths: string[];
  /** Limits checked before upload (pixel limit, frames), the same the resize applies. */
  spec: Spec;
  api: string;
  apiKey?: string;
  concurrency?: number;
  batchSize?: number;
  manifestPath: string;
  /** Every upload of this working folder, across runs (default .imgpipe/ledger.jsonl). */
  ledgerPath?: string;
  /** Recorded in the manifest so `watch` can find the outputs later. */
  destination: Pick<Manifest, 'destBucket' | 'endpoint' | 'region' | 'local' | 'target'>;
  reporter: Reporter;
  signal: AbortSignal;
  timeoutMs?: number;
  /** --exclude/--include in order, matched against each file's relPath. */
  filters?: PathFilter[];
}

export interface UploadRecord {
  path: string;
  relPath: string;
  status: 'uploaded' | 'skipped' | 'failed' | 'pending';
  key?: string;
  size?: number;
  retries?: number;
  error?: string;
}

export interface UploadResult {
  ok: boolean;
  interrupted: boolean;
  api: string;
  files: number;
  uploaded: number;
  skipped: number;
  failed: number;
  retries: number;
  bytes: number;
  seconds: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
  manifest: string;
  uploads: UploadRecord[];
  /** Every key that is in the bucket for this run (uploaded now or before). */
  keys: string[];
  /** Entries of the folders walked that were not images (or hidden), by kind. */
  walkSkipped: WalkSkips;
  /** Files left out by --exclude/--include. */
  excluded: number;
}

/** One run's shared state: what its steps read (options) and update (counters, the finished files). */
interface UploadRun {
  opts: UploadOptions;
  ledger: Ledger;
  /** The first file of this run with each SHA-256: the only one of its content that is sent. */
  firstOf: Map<string, PendingPut>;
  stats: { retries: number; bytes: number };
  /** Every file ends here exactly once, whatever its status. */
  finish: (record: UploadRecord, entry: ManifestFile | undefined, line: string) => void;
}

/** A file that passed inspection (or that the ledger knows unchanged): it needs a URL and a PUT, or the API's "exists". */
interface PendingPut {
  file: FoundFile;
  request: FileRequest;
  entry: ManifestFile;
  mtimeMs: number;
  /** Files of this run with the same bytes: they take this one's key when it is in the bucket. */
  twins: PendingPut[];
}

/** What a file is, from the ledger when its size and mtime are unchanged (no read), else from one read. */
interface Checked {
  file: FoundFile;
  inspected: Inspected;
  mtimeMs: number;
}

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

/** -v lists what the walk passed over and what the filters left out (dry runs too). */
export function reportScanSkips(reporter: Reporter, scan: ScanResult): void {
  for (const p of [...scan.skipped, ...scan.hidden].sort()) reporter.verbose(`skip ${p}: ${scan.hidden.includes(p) ? 'hidden' : 'not an image (by its extension)'}`);
  for (const e of scan.excluded) reporter.verbose(`skip ${e.relPath}: excluded by --exclude ${e.pattern}`);
}

/** Records a finished file (any status), reports it, advances the progress bar and saves the manifest. */
function finisher(reporter: Reporter, files: FoundFile[], records: UploadRecord[], writer: ManifestWriter): UploadRun['finish'] {
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

/**
 * A file the ledger has seen for this pipeline, with the same size and mtime, is not read again:
 * its recorded SHA-256 goes to the API, which still decides ("exists", or a URL if the bucket lost it).
 */
async function checkFile(run: UploadRun, file: FoundFile): Promise<Checked> {
  const mtimeMs = await stat(diskPath(file)).then((s) => s.mtimeMs, () => NaN);
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
function filesToPresign(run: UploadRun, checks: Checked[], entries: ManifestFile[]): PendingPut[] {
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
    if (first) {
      // The same bytes twice in one run (a copy in another folder): sent once, both recorded.
      if (first.entry.status === 'uploaded') alreadyThere(run, { ...pending, entry: Object.assign(entry, { key: first.entry.key }) }, first);
      else first.twins.push(pending);
      continue;
    }
    run.firstOf.set(inspected.sha256, pending);
    requests.push(pending);
  }
  return requests;
}

/** The file is in the bucket under `r.entry.key`: remember it for the next run. */
function remember(run: UploadRun, r: PendingPut): void {
  const { request, entry } = r;
  if (r.file.fsPath) return; // its shown path (U+FFFD for bytes that are not UTF-8) may be another file's too
  void run.ledger
    .append([{ pipeline: run.opts.destination.target ?? run.opts.api, path: r.file.path, size: request.size, mtimeMs: r.mtimeMs, sha256: request.sha256, contentType: request.contentType, key: entry.key!, at: new Date().toISOString() }])
    .catch((err: Error) => run.opts.reporter.error(`warning: could not write the ledger ${run.ledger.file}: ${err.message}`));
}

/** URLs for a batch, or undefined when the call failed (its files are then finished as failed, unless interrupted). */
async function presignBatch(run: UploadRun, requests: PendingPut[]): Promise<UploadAnswer[] | undefined> {
  const { opts } = run;
  const stopSpin = opts.reporter.spin(`presigning ${requests.length} files`);
  let answers: UploadAnswer[];
  try {
    opts.reporter.verbose(`request POST ${uploadsUrl(opts.api)} (${requests.length} files)`);
    answers = await requestUploads(requests.map((r) => r.request), { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  } catch (err) {
    stopSpin();
    if (opts.signal.aborted) return undefined;
    for (const r of requests) failPending(run, r, (err as Error).message);
    return undefined;
  }
  stopSpin();
  return answers;
}

/** The bucket holds these bytes already (from any folder, machine, earlier or interrupted run, or a twin of this run): nothing to send. */
function alreadyThere(run: UploadRun, r: PendingPut, twinOf?: PendingPut): void {
  r.entry.status = 'uploaded';
  r.entry.uploadedAt ??= new Date().toISOString();
  remember(run, r);
  run.opts.reporter.advance(r.request.size);
  const why = twinOf ? `same bytes as ${twinOf.file.relPath}, stored as ${r.entry.key}` : `already there as ${r.entry.key}`;
  run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'skipped', key: r.entry.key, size: r.request.size }, r.entry, `skip ${r.file.relPath}: ${why}`);
  settleTwins(run, r);
}

/** A file is done: its twins are in the bucket too, or fail with it. */
function settleTwins(run: UploadRun, r: PendingPut): void {
  const twins = r.twins.splice(0);
  for (const t of twins) {
    if (r.entry.status === 'uploaded') alreadyThere(run, { ...t, entry: Object.assign(t.entry, { key: r.entry.key }) }, r);
    else failPending(run, t, `same bytes as ${r.file.relPath}, which failed: ${r.entry.error ?? 'not uploaded'}`);
  }
}

/** Thrown out of a PUT's retries when a fresh presign says the bytes have arrived meanwhile. */
class AlreadyThere extends Error {}

async function signOne(run: UploadRun, file: FileRequest): Promise<SignedPut & { key: string }> {
  const { opts } = run;
  opts.reporter.verbose(`request POST ${uploadsUrl(opts.api)} (1 file, a fresh URL for ${file.name})`);
  const [answer] = await requestUploads([file], { api: opts.api, apiKey: opts.apiKey, signal: opts.signal, timeoutMs: opts.timeoutMs, onRetry: retried(run, 'POST /uploads') });
  if ('error' in answer) throw new Error(`${answer.error.code}: ${answer.error.message}`);
  if ('exists' in answer) throw Object.assign(new AlreadyThere(answer.key), { key: answer.key });
  return { url: answer.url, headers: answer.headers, key: answer.key };
}

/** One file's PUT (with retries), run under the concurrency limit. */
async function putOne(run: UploadRun, r: PendingPut, answer: SignedPut): Promise<void> {
  const { opts } = run;
  if (opts.signal.aborted) return;
  let fileRetries = 0;
  opts.reporter.verbose(`request PUT ${r.file.relPath} → ${r.entry.key} (${formatBytes(r.request.size)})`);
  try {
    fileRetries = await putWithRetry({
      path: diskPath(r.file),
      size: r.request.size,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
      // The batch's URL first; when it has expired, a fresh one (the same key: it comes from the content).
      sign: async (fresh) => {
        if (!fresh) return { url: answer.url, headers: answer.headers };
        const signed = await signOne(run, r.request);
        r.entry.key = signed.key;
        return signed;
      },
      onRetry: retried(run, `PUT ${r.file.relPath}`),
      onBytes: (n) => opts.reporter.advance(n),
    });
    r.entry.status = 'uploaded';
    r.entry.uploadedAt = new Date().toISOString();
    remember(run, r);
    run.stats.bytes += r.request.size;
    run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'uploaded', key: r.entry.key, size: r.request.size, retries: fileRetries }, r.entry, `ok ${r.file.relPath} → ${r.entry.key}${fileRetries ? ` (${fileRetries} retries)` : ''}`);
    settleTwins(run, r);
  } catch (err) {
    if (opts.signal.aborted) return; // stays 'pending': the re-run uploads it
    if (err instanceof AlreadyThere) {
      r.entry.key = err.message;
      return alreadyThere(run, r);
    }
    failPending(run, r, (err as Error).message, { retries: fileRetries });
  }
}

/** Counts a retry, and says it with -v. */
const retried = (run: UploadRun, what: string) => (reason: string) => {
  run.stats.retries++;
  run.opts.reporter.verbose(`retry ${what}: ${reason}`);
};

function failPending(run: UploadRun, r: PendingPut, error: string, extra: Pick<UploadRecord, 'retries'> = {}): void {
  r.entry.status = 'failed';
  r.entry.error = error;
  run.finish({ path: r.file.path, relPath: r.file.relPath, status: 'failed', error, ...extra }, r.entry, `error ${r.file.path}: ${error}`);
  settleTwins(run, r);
}

/** Files never reached (interrupted) are listed as pending. */
function addNeverReached(files: FoundFile[], records: UploadRecord[], entries: ManifestFile[]): void {
  const listed = new Set(records.map((r) => r.path));
  const entryOf = new Map(entries.map((e) => [e.path, e]));
  for (const f of files) {
    if (listed.has(f.path)) continue;
    const e = entryOf.get(f.path);
    records.push({ path: f.path, relPath: f.relPath, status: 'pending', key: e?.key, size: f.size });
  }
}

function uploadResult(
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

function summaryLine(result: UploadResult): string {
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
