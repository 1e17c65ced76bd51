// upload: find images, check and hash each in one streaming read, ask the API for pre-signed
// URLs a batch at a time, PUT them concurrently with retries, and keep the manifest current.
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { FileRequest, UploadAnswer } from '../../lambda/presign.js';
import { requestUploads } from '../api/client.js';
import { inspectFile } from '../files/inspect.js';
import { ManifestWriter, readManifest, type Manifest, type ManifestFile } from '../files/manifest.js';
import { scanPaths } from '../files/scan.js';
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
  /** Recorded in the manifest so `watch` can find the outputs later. */
  destination: Pick<Manifest, 'destBucket' | 'endpoint' | 'region' | 'local' | 'target'>;
  reporter: Reporter;
  signal: AbortSignal;
  timeoutMs?: number;
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
}

export async function runUpload(opts: UploadOptions): Promise<UploadResult> {
  const started = Date.now();
  const { reporter, signal } = opts;
  const concurrency = opts.concurrency ?? Math.max(8, availableParallelism() * 8);
  const batchSize = opts.batchSize ?? 100;

  const scan = await scanPaths(opts.paths);
  const records: UploadRecord[] = [];
  for (const p of scan.problems) {
    records.push({ path: p.path, relPath: p.path, status: 'failed', error: p.reason });
    reporter.error(`error ${p.path}: ${p.reason}`);
  }

  const previous = await readManifest(opts.manifestPath).catch(() => undefined);
  const done = new Map<string, ManifestFile>();
  const sameTarget = (m: Manifest) => (m.target ?? m.api) === (opts.destination.target ?? opts.api);
  if (previous && sameTarget(previous)) for (const f of previous.files) if (f.status === 'uploaded' && f.key) done.set(f.path, f);

  // The manifest lists this run's files; each entry is updated in place as it progresses.
  const entries: ManifestFile[] = [];
  const manifest = (): Manifest => ({ version: 1, api: opts.api, ...opts.destination, updatedAt: '', files: entries });
  const writer = new ManifestWriter(opts.manifestPath, manifest);

  const sizeOf = new Map(scan.files.map((f) => [f.path, f.size]));
  reporter.start(scan.files.reduce((n, f) => n + f.size, 0), 'uploading', 'bytes');
  let filesDone = 0;
  const fileCount = () => ({ files: `${filesDone}/${scan.files.length} files` });

  const putLimit = pLimit(concurrency);
  const puts: Promise<void>[] = [];
  let retries = 0;
  let bytes = 0;

  const finish = (record: UploadRecord, entry: ManifestFile | undefined, line: string) => {
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

  async function signOne(file: FileRequest): Promise<SignedPut & { key: string }> {
    const [answer] = await requestUploads([file], { api: opts.api, apiKey: opts.apiKey, signal, timeoutMs: opts.timeoutMs, onRetry: () => retries++ });
    if ('error' in answer) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    return { url: answer.url, headers: answer.headers, key: answer.key };
  }

  // Reading and hashing a few files at a time keeps memory flat (all 100 of a batch at once
  // peaked 75 MB higher, no faster).
  const inspectLimit = pLimit(4);
  // A small first batch, so the first PUTs start while the rest is still being checked.
  for (let i = 0, size = Math.min(batchSize, concurrency); i < scan.files.length && !signal.aborted; i += size, size = batchSize) {
    // Do not run ahead of the uploads: URLs are short-lived and each batch holds memory.
    while (putLimit.pendingCount > batchSize && !signal.aborted) await pause(50);
    const batch = scan.files.slice(i, i + size);
    const checks = await Promise.all(batch.map((file) => inspectLimit(async () => ({ file, inspected: await inspectFile(file.path, opts.spec) }))));
    const requests: { file: (typeof batch)[number]; request: FileRequest; entry: ManifestFile }[] = [];
    for (const { file, inspected } of checks) {
      if (!inspected.ok) {
        finish({ path: file.path, relPath: file.relPath, status: 'failed', error: inspected.reason }, undefined, `error ${file.path}: ${inspected.reason}`);
        continue;
      }
      const prior = done.get(file.path);
      if (prior && prior.sha256 === inspected.sha256 && prior.key) {
        const entry: ManifestFile = { ...prior, relPath: file.relPath };
        entries.push(entry);
        reporter.advance(inspected.size);
        finish({ path: file.path, relPath: file.relPath, status: 'skipped', key: prior.key, size: inspected.size }, entry, `skip ${file.relPath}: already uploaded as ${prior.key}`);
        continue;
      }
      const entry: ManifestFile = { path: file.path, relPath: file.relPath, size: inspected.size, sha256: inspected.sha256, contentType: inspected.contentType, status: 'pending' };
      entries.push(entry);
      const name = file.relPath.split('/').pop()!;
      requests.push({ file, entry, request: { name, size: inspected.size, contentType: inspected.contentType, sha256: inspected.sha256 } });
    }
    if (!requests.length) continue;

    const stopSpin = reporter.spin(`presigning ${requests.length} files`);
    let answers: UploadAnswer[];
    try {
      answers = await requestUploads(requests.map((r) => r.request), { api: opts.api, apiKey: opts.apiKey, signal, timeoutMs: opts.timeoutMs, onRetry: () => retries++ });
    } catch (err) {
      stopSpin();
      if (signal.aborted) break;
      for (const r of requests) {
        r.entry.status = 'failed';
        r.entry.error = (err as Error).message;
        finish({ path: r.file.path, relPath: r.file.relPath, status: 'failed', error: r.entry.error }, r.entry, `error ${r.file.path}: ${r.entry.error}`);
      }
      continue;
    }
    stopSpin();

    requests.forEach((r, j) => {
      const answer = answers[j];
      if ('error' in answer) {
        r.entry.status = 'failed';
        r.entry.error = `refused by the API: ${answer.error.code}: ${answer.error.message}`;
        finish({ path: r.file.path, relPath: r.file.relPath, status: 'failed', error: r.entry.error }, r.entry, `error ${r.file.path}: ${r.entry.error}`);
        return;
      }
      r.entry.key = answer.key;
      puts.push(
        putLimit(async () => {
          if (signal.aborted) return;
          let fileRetries = 0;
          try {
            fileRetries = await putWithRetry({
              path: r.file.path,
              size: r.request.size,
              signal,
              timeoutMs: opts.timeoutMs,
              // The batch's URL first; when it has expired, a fresh one (under a new key).
              sign: async (fresh) => {
                if (!fresh) return { url: answer.url, headers: answer.headers };
                const signed = await signOne(r.request);
                r.entry.key = signed.key;
                return signed;
              },
              onRetry: () => retries++,
              onBytes: (n) => reporter.advance(n),
            });
            r.entry.status = 'uploaded';
            r.entry.uploadedAt = new Date().toISOString();
            bytes += r.request.size;
            finish({ path: r.file.path, relPath: r.file.relPath, status: 'uploaded', key: r.entry.key, size: r.request.size, retries: fileRetries }, r.entry, `ok ${r.file.relPath} → ${r.entry.key}${fileRetries ? ` (${fileRetries} retries)` : ''}`);
          } catch (err) {
            if (signal.aborted) return; // stays 'pending': the re-run uploads it
            r.entry.status = 'failed';
            r.entry.error = (err as Error).message;
            finish({ path: r.file.path, relPath: r.file.relPath, status: 'failed', error: r.entry.error, retries: fileRetries }, r.entry, `error ${r.file.path}: ${r.entry.error}`);
          }
        }),
      );
    });
    // Keys are on disk before their PUTs start: after a crash they show what may be in the bucket.
    void writer.save();
  }
  await Promise.all(puts);
  await writer.save();
  reporter.stop();

  // Files never reached (interrupted) are listed as pending.
  const listed = new Set(records.map((r) => r.path));
  const entryOf = new Map(entries.map((e) => [e.path, e]));
  for (const f of scan.files) {
    if (listed.has(f.path)) continue;
    const e = entryOf.get(f.path);
    records.push({ path: f.path, relPath: f.relPath, status: 'pending', key: e?.key, size: f.size });
  }

  const seconds = (Date.now() - started) / 1000;
  const count = (s: UploadRecord['status']) => records.filter((r) => r.status === s).length;
  const result: UploadResult = {
    ok: !signal.aborted && count('failed') === 0 && count('pending') === 0,
    interrupted: signal.aborted,
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
  };
  reporter.info(
    `${result.uploaded} uploaded, ${result.skipped} already there, ${result.failed} failed` +
      (signal.aborted ? `, ${count('pending')} not done (interrupted)` : '') +
      ` of ${result.files} files; ${formatBytes(bytes)} in ${formatSeconds(seconds * 1000)}` +
      (result.uploaded ? ` (${result.filesPerSecond.toFixed(1)} files/s, ${result.megabytesPerSecond.toFixed(1)} MB/s)` : '') +
      (retries ? `; ${retries} retries` : '') +
      `; manifest ${opts.manifestPath}`,
  );
  return result;
}
