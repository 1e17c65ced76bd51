// watch: wait until every source image has its record (done or failed), report each failure the
// moment its record appears, then optionally download the variants. The job prints nothing: it
// emits WatchEvents (rendered by src/ui/watch-view.ts: the bar, the ready/error lines, the
// timeout's lines, the summary) and returns a WatchResult (--json prints it as it is).
import { withPublicUrls } from '../core/cdn-url.js';
import type { DoneRecord, ImageRecord } from '../core/record.js';
import type { Spec } from '../core/spec.js';
import { downloadBatch, planDownloads, type DownloadEvent, type Downloads } from './download.js';
import { waitForRecords, type DoneMark } from '../s3/wait.js';
import type { Backlog } from './queue-backlog.js';
import type { PipelineTarget } from './target.js';

/** What the watch says while it runs, as the upload's events do (src/jobs/upload/events.ts). */
export type WatchEvent =
  /** The wait begins: `images` source keys (the same bytes once) to wait for. */
  | { type: 'wait-start'; images: number }
  /** Where the images without a record are, every few seconds: still queued, or being resized. */
  | { type: 'backlog'; backlog: Backlog }
  /** The queue could not be read (no sqs:GetQueueAttributes, say): the wait goes on without a backlog. */
  | { type: 'backlog-unreadable'; error: string }
  /** An image's record appeared: done (with its variants when read), or failed with the pipeline's reason. */
  | { type: 'record'; record: ImageRecord | DoneMark }
  /** The wait is over: every image has its record, or it timed out with `missing` images. */
  | { type: 'wait-end'; images: number; timedOut: boolean; missing: string[] }
  /** It timed out after `timeoutMs`; `held`: what the queue still holds then (not lost: watch again). */
  | { type: 'timed-out'; images: number; timeoutMs: number; missing: string[]; held?: Backlog }
  /** --download: the variants being fetched (./download.ts). */
  | DownloadEvent;

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
  onEvent?: (e: WatchEvent) => void;
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
function queueWatcher(ask: ((keys: string[]) => Promise<Backlog>) | undefined, onEvent: (e: WatchEvent) => void) {
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
        onEvent({ type: 'backlog-unreadable', error: (err as Error).message.split('\n')[0] });
        ask = undefined;
        return undefined;
      }
      onEvent({ type: 'backlog', backlog });
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

export async function runWatch(options: WatchOptions): Promise<WatchResult> {
  const started = Date.now();
  // Files with the same bytes share one key: one image to wait for.
  const opts = { ...options, sourceKeys: [...new Set(options.sourceKeys)] };
  const onEvent = opts.onEvent ?? (() => {});
  onEvent({ type: 'wait-start', images: opts.sourceKeys.length });
  const queue = queueWatcher(opts.target.backlog, onEvent);
  const waited = await waitForRecords({
    onRound: async (pending) => void (await queue.look(pending)),
    s3: await opts.target.s3(),
    bucket: opts.target.destBucket,
    sourceKeys: opts.sourceKeys,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    readDone: opts.details || !!opts.downloadDir,
    staleBefore: opts.staleBefore,
    specHash: opts.specHash,
    onRecord: (record) => onEvent({ type: 'record', record }),
  });
  const images = opts.sourceKeys.length;
  onEvent({ type: 'wait-end', images, timedOut: waited.timedOut, missing: waited.missing });
  if (waited.timedOut) {
    // Still queued is not lost: the timeout's lines say so, and how to wait on.
    const backlog = await queue.look(waited.missing, true).catch(() => undefined);
    const held = backlog && backlog.queued + backlog.inFlight ? backlog : undefined;
    onEvent({ type: 'timed-out', images, timeoutMs: opts.timeoutMs, missing: waited.missing, ...(held ? { held } : {}) });
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
    result.downloads = await downloadBatch(opts.target, plans, opts.downloadDir, onEvent, opts.signal);
    if (result.downloads.errors.length) result.ok = false;
  }
  return result;
}
