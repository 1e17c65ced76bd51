// watch: wait until every variant of the given source keys exists in the destination bucket,
// then optionally download them all.
import pLimit from 'p-limit';
import { outputKeys } from '../core/keys.js';
import type { Spec } from '../core/spec.js';
import { downloadObject } from '../s3/download.js';
import { waitForObjects, type ExpectedObject } from '../s3/wait.js';
import { formatBytes, formatSeconds } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import type { PipelineTarget } from './target.js';

export interface WatchOptions {
  sourceKeys: string[];
  spec: Spec;
  /** Where the variants land (and, for an in-process stack, which resizes already failed). */
  target: Pick<PipelineTarget, 's3' | 'destBucket' | 'failedSource'>;
  timeoutMs: number;
  downloadDir?: string;
  reporter: Reporter;
  signal: AbortSignal;
}

export interface WatchResult {
  ok: boolean;
  bucket: string;
  expected: number;
  found: number;
  missing: string[];
  failed: { sourceKey: string; error: string }[];
  timedOut: boolean;
  seconds: number;
  downloads?: { dir: string; files: number; bytes: number; errors: { key: string; error: string }[] };
}

export function expectedOutputs(sourceKeys: string[], spec: Spec): ExpectedObject[] {
  return sourceKeys.flatMap((sourceKey) => outputKeys(sourceKey, spec).map((o) => ({ sourceKey, variant: o.variant, key: o.key })));
}

export async function runWatch(opts: WatchOptions): Promise<WatchResult> {
  const started = Date.now();
  const { reporter } = opts;
  const expected = expectedOutputs(opts.sourceKeys, opts.spec);
  // Progress per source image (all its variants there), not per variant: a third of the lines.
  const perSource = opts.spec.variants.length;
  const seen = new Map<string, number>();
  reporter.start(opts.sourceKeys.length, 'waiting for variants');
  const waited = await waitForObjects({
    s3: opts.target.s3,
    bucket: opts.target.destBucket,
    expected,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    failedSource: opts.target.failedSource,
    onFound: (o) => {
      const n = (seen.get(o.sourceKey) ?? 0) + 1;
      seen.set(o.sourceKey, n);
      if (n === perSource) reporter.step(`ready ${o.sourceKey} (${n} variants)`, o.sourceKey);
    },
  });
  reporter.stop();
  for (const f of waited.failed) reporter.error(`error ${f.sourceKey}: resize failed: ${f.error}`);
  if (waited.timedOut) {
    reporter.error(`timed out after ${formatSeconds(opts.timeoutMs)}: ${waited.missing.length} of ${expected.length} variants missing:`);
    for (const m of waited.missing) reporter.error(`missing ${m.key}`);
  }

  const result: WatchResult = {
    ok: waited.missing.length === 0 && waited.failed.length === 0,
    bucket: opts.target.destBucket,
    expected: expected.length,
    found: waited.found.length,
    missing: waited.missing.map((m) => m.key),
    failed: waited.failed,
    timedOut: waited.timedOut,
    seconds: (Date.now() - started) / 1000,
  };

  if (opts.downloadDir && waited.found.length) {
    const limit = pLimit(8);
    const downloads = { dir: opts.downloadDir, files: 0, bytes: 0, errors: [] as { key: string; error: string }[] };
    reporter.start(waited.found.length, 'downloading');
    await Promise.all(
      waited.found.map((o) =>
        limit(async () => {
          try {
            const { bytes } = await downloadObject(opts.target.s3, opts.target.destBucket, o.key, opts.downloadDir!, opts.signal);
            downloads.files++;
            downloads.bytes += bytes;
            reporter.step('', o.key);
          } catch (err) {
            downloads.errors.push({ key: o.key, error: (err as Error).message });
            reporter.error(`error downloading ${o.key}: ${(err as Error).message}`);
          }
        }),
      ),
    );
    reporter.stop();
    result.downloads = downloads;
    if (downloads.errors.length) result.ok = false;
  }

  reporter.info(
    `${result.found}/${result.expected} variants present in ${opts.target.destBucket} after ${formatSeconds(result.seconds * 1000)}` +
      (result.downloads ? `; ${result.downloads.files} downloaded to ${result.downloads.dir} (${formatBytes(result.downloads.bytes)})` : ''),
  );
  return result;
}
