// watch: wait until every source image has its record (done or failed), report each failure the
// moment its record appears, then optionally download the variants and write an HTML page.
import { withPublicUrls } from '../core/cdn-url.js';
import type { DoneRecord, ImageRecord } from '../core/record.js';
import type { Spec } from '../core/spec.js';
import { downloadBatch, planDownloads, type Downloads } from './download.js';
import { waitForRecords, type DoneMark } from '../s3/wait.js';
import { formatBytes, formatSeconds } from '../ui/format.js';
import type { Reporter } from '../ui/reporter.js';
import type { Backlog, PipelineTarget } from './target.js';

export type { Downloads } from './download.js';

export interface WatchOptions {
  sourceKeys: string[];
  /** Only for counting the variants of images that have no record yet. */
  spec: Spec;
  target: Pick<PipelineTarget, 's3' | 'destBucket'> & Partial<Pick<PipelineTarget, 'backlog' | 'cdn'>>;
  timeoutMs: number;
  downloadDir?: string;
  /** Source key → the local files (relative paths) that hold its bytes, for the download layout. */
  localNames?: Map<string, string[]>;
  /** Source key → when it was queued for resize again (lambda/heal.ts): older failure records are stale. */
  staleBefore?: Map<string, number>;
  /** Only done records made with this spec count (reprocess waits for the new versions). */
  specHash?: string;
  /** Read every done record (for --json, --html, --download); otherwise a listed one is enough. */
  details?: boolean;
  reporter: Reporter;
  signal: AbortSignal;
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
  /** Where the images without a record were when the wait ended: still queued, or being resized (the local stack's queue). */
  backlog?: Backlog;
  /** Each image's record, in the order given (a done one without `variants` when not read); each variant with its public `url` when there is a CDN. */
  records: Array<ImageRecord | DoneMark>;
  downloads?: Downloads;
}

/** Where the pending images are, every few seconds, on the bar: queued, or being resized. */
function queueWatcher(ask: ((keys: string[]) => Promise<Backlog>) | undefined, reporter: Reporter) {
  let backlog: Backlog | undefined;
  let lookedAt = 0;
  return {
    get backlog() {
      return backlog;
    },
    async look(pending: string[], now = false): Promise<Backlog | undefined> {
      if (!ask || (!now && Date.now() - lookedAt < BACKLOG_EVERY_MS)) return backlog;
      lookedAt = Date.now();
      try {
        backlog = await ask(pending);
      } catch (err) {
        // A queue this user may not read (no sqs:GetQueueAttributes) is no reason to stop waiting.
        reporter.error(`note: no backlog shown, the queue could not be read (${(err as Error).message.split('\n')[0]})`);
        ask = undefined;
        return undefined;
      }
      reporter.advance(0, { item: backlogText(backlog) });
      return backlog;
    },
  };
}

/** Source key → local relative paths, from a run's per-file records. */
export function localNamesOf(files: Array<{ key?: string; relPath: string; status: string }>): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const f of files) if (f.key && f.status !== 'failed') names.set(f.key, [...(names.get(f.key) ?? []), f.relPath]);
  return names;
}

const BACKLOG_EVERY_MS = 2_000;
const backlogText = (b: Backlog) => `${b.queued} queued, ${b.inFlight} resizing${b.wholeQueue ? ' in the queue' : ''}`;

export async function runWatch(options: WatchOptions): Promise<WatchResult> {
  const started = Date.now();
  // Files with the same bytes share one key: one image to wait for.
  const opts = { ...options, sourceKeys: [...new Set(options.sourceKeys)] };
  const { reporter } = opts;
  reporter.start(opts.sourceKeys.length, 'waiting for records', 'items', 'images');
  const queue = queueWatcher(opts.target.backlog, reporter);
  const waited = await waitForRecords({
    onRound: async (pending) => void (await queue.look(pending)),
    s3: opts.target.s3,
    bucket: opts.target.destBucket,
    sourceKeys: opts.sourceKeys,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    readDone: opts.details || !!opts.downloadDir,
    staleBefore: opts.staleBefore,
    specHash: opts.specHash,
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
    const backlog = await queue.look(waited.missing, true).catch(() => undefined);
    // Still queued is not lost: say so, and how to wait on.
    const held = backlog && backlog.queued + backlog.inFlight ? backlog : undefined;
    // SQS counts the whole queue: every upload's photos, these among them or not.
    const holds = held && (held.wholeQueue ? `the pipeline's queue (every upload's photos) still holds ${held.queued} queued, ${held.inFlight} resizing` : `the queue still holds ${backlogText(held)} of them`);
    const where = holds ? `; ${holds}: run the same watch again to wait on` : '';
    reporter.error(`timed out after ${formatSeconds(opts.timeoutMs)}: ${waited.missing.length} of ${opts.sourceKeys.length} images have no record${where}:`);
    for (const m of waited.missing) reporter.error(`missing ${m}`);
  }
  // The one place a record read back gets its variants' public URLs (--json, --html, index.json).
  const records = waited.records.map((r) => withPublicUrls(r, opts.target.cdn));
  const done = records.filter((r): r is DoneRecord | DoneMark => r.status === 'done');
  const failed = records.flatMap((r) => (r.status === 'failed' ? [{ sourceKey: r.source.key, code: r.code, error: r.reason }] : []));
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
    records,
    ...(waited.timedOut && queue.backlog ? { backlog: queue.backlog } : {}),
  };
  if (opts.downloadDir && done.length) {
    const plans = planDownloads(done.filter((r): r is DoneRecord => !!r.variants), opts.localNames);
    result.downloads = await downloadBatch(opts.target, plans, opts.downloadDir, reporter, opts.signal);
    if (result.downloads.errors.length) result.ok = false;
  }
  // Images first, as the wait's bar counts them, then their variants. A result: -q prints it too.
  reporter.summary(
    `${result.done}/${result.images} images resized: ${result.found}/${result.expected} variants present in ${opts.target.destBucket} after ${formatSeconds(result.seconds * 1000)}` +
      (failed.length ? `; ${failed.length} image${failed.length === 1 ? '' : 's'} failed` : '') +
      (result.downloads ? `; ${result.downloads.files} downloaded to ${result.downloads.dir} (${formatBytes(result.downloads.bytes)})` : ''),
  );
  return result;
}
