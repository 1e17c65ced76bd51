// watch: wait until every source image has its record (done or failed), report each failure the
// moment its record appears, then optionally download the variants and write an HTML page.
import pLimit from 'p-limit';
import type { DoneRecord, ImageRecord } from '../core/record.js';
import type { Spec } from '../core/spec.js';
import { downloadObject } from '../s3/download.js';
import { waitForRecords, type DoneMark } from '../s3/wait.js';
import { formatBytes, formatSeconds } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import type { PipelineTarget } from './target.js';

export interface WatchOptions {
  sourceKeys: string[];
  /** Only for counting the variants of images that have no record yet. */
  spec: Spec;
  target: Pick<PipelineTarget, 's3' | 'destBucket'>;
  timeoutMs: number;
  downloadDir?: string;
  /** Read every done record (for --json, --html, --download); otherwise a listed one is enough. */
  details?: boolean;
  reporter: Reporter;
  signal: AbortSignal;
}

export interface Downloads {
  dir: string;
  files: number;
  bytes: number;
  errors: { key: string; error: string }[];
}

export interface WatchResult {
  ok: boolean;
  bucket: string;
  images: number;
  done: number;
  /** Images the pipeline gave up on, with the reason its failure record gives. */
  failed: { sourceKey: string; code: string; error: string }[];
  /** Images with no record when the wait ended. */
  missing: string[];
  /** Variants: those the done records list, plus the spec's for every image without one. */
  expected: number;
  found: number;
  timedOut: boolean;
  seconds: number;
  /** S3 requests the wait made. */
  requests: number;
  /** Each image's record, in the order given (a done one without `variants` when not read). */
  records: Array<ImageRecord | DoneMark>;
  downloads?: Downloads;
}

async function downloadVariants(opts: WatchOptions, done: DoneRecord[]): Promise<Downloads> {
  const { reporter } = opts;
  const keys = done.flatMap((r) => r.variants.map((v) => v.key));
  const limit = pLimit(8);
  const downloads: Downloads = { dir: opts.downloadDir!, files: 0, bytes: 0, errors: [] };
  reporter.start(keys.length, 'downloading');
  await Promise.all(
    keys.map((key) =>
      limit(async () => {
        try {
          const { bytes } = await downloadObject(opts.target.s3, opts.target.destBucket, key, opts.downloadDir!, opts.signal);
          downloads.files++;
          downloads.bytes += bytes;
          reporter.step('', key);
        } catch (err) {
          downloads.errors.push({ key, error: (err as Error).message });
          reporter.error(`error downloading ${key}: ${(err as Error).message}`);
        }
      }),
    ),
  );
  reporter.stop();
  return downloads;
}

export async function runWatch(opts: WatchOptions): Promise<WatchResult> {
  const started = Date.now();
  const { reporter } = opts;
  reporter.start(opts.sourceKeys.length, 'waiting for records');
  const waited = await waitForRecords({
    s3: opts.target.s3,
    bucket: opts.target.destBucket,
    sourceKeys: opts.sourceKeys,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    readDone: opts.details || !!opts.downloadDir,
    onRecord: (r) => {
      if (r.status === 'done') reporter.step(`ready ${r.source.key}${r.variants ? ` (${r.variants.length} variants)` : ''}`, r.source.key);
      else {
        reporter.error(`error ${r.source.key}: resize failed: ${r.reason} (${r.code})`);
        reporter.step('', r.source.key);
      }
    },
  });
  reporter.stop();
  if (waited.timedOut) {
    reporter.error(`timed out after ${formatSeconds(opts.timeoutMs)}: ${waited.missing.length} of ${opts.sourceKeys.length} images have no record:`);
    for (const m of waited.missing) reporter.error(`missing ${m}`);
  }
  const done = waited.records.filter((r): r is DoneRecord | DoneMark => r.status === 'done');
  const failed = waited.records.flatMap((r) => (r.status === 'failed' ? [{ sourceKey: r.source.key, code: r.code, error: r.reason }] : []));
  const found = done.reduce((n, r) => n + (r.variants?.length ?? opts.spec.variants.length), 0);
  const result: WatchResult = {
    ok: waited.missing.length === 0 && failed.length === 0,
    bucket: opts.target.destBucket,
    images: opts.sourceKeys.length,
    done: done.length,
    failed,
    missing: waited.missing,
    expected: found + opts.spec.variants.length * (failed.length + waited.missing.length),
    found,
    timedOut: waited.timedOut,
    seconds: (Date.now() - started) / 1000,
    requests: waited.requests,
    records: waited.records,
  };
  if (opts.downloadDir && done.length) {
    result.downloads = await downloadVariants(opts, done.filter((r): r is DoneRecord => !!r.variants));
    if (result.downloads.errors.length) result.ok = false;
  }
  reporter.info(
    `${result.found}/${result.expected} variants present in ${opts.target.destBucket} after ${formatSeconds(result.seconds * 1000)}` +
      (failed.length ? `; ${failed.length} image${failed.length === 1 ? '' : 's'} failed` : '') +
      (result.downloads ? `; ${result.downloads.files} downloaded to ${result.downloads.dir} (${formatBytes(result.downloads.bytes)})` : ''),
  );
  return result;
}
