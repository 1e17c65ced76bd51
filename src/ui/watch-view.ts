// The watch job's events as a person (or script) sees them, through a Reporter: a bar of images
// on a terminal (its item the queue's backlog), one `ready` line per image otherwise, failures and
// the timeout's lines on stderr, the download's bar, and the summary line at the end (--json: the
// CLI prints the result document instead).
import type { Backlog } from '../jobs/queue-backlog.js';
import type { WatchEvent, WatchResult } from '../jobs/watch.js';
import { formatSeconds } from './format.js';
import { formatBytes } from '../core/bytes.js';
import type { Reporter } from './reporter.js';

export class WatchView {
  constructor(private readonly reporter: Reporter) {}

  /** Pass as the job's `onEvent`. */
  readonly onEvent = (e: WatchEvent): void => {
    const { reporter } = this;
    switch (e.type) {
      case 'wait-start':
        return reporter.start(e.images, 'waiting for records', 'items', 'images');
      case 'backlog':
        return reporter.advance(0, { item: backlogText(e.backlog) });
      case 'backlog-unreadable':
        return reporter.error(`note: no backlog shown, the queue could not be read (${e.error})`);
      case 'record': {
        const r = e.record;
        if (r.status === 'done') return reporter.step(`ready ${r.source.key}${r.variants ? ` (${r.variants.length} variants)` : ''}`, r.source.key);
        reporter.error(`error ${r.source.key}: resize failed: ${r.reason} (${r.code})`);
        return reporter.step('', r.source.key);
      }
      case 'wait-end':
        return reporter.stop();
      case 'timed-out': {
        const { held } = e;
        // SQS counts the whole queue: every upload's photos, these among them or not.
        const holds = held && (held.wholeQueue ? `the pipeline's queue (every upload's photos) still holds ${held.queued} queued, ${held.inFlight} resizing` : `the queue still holds ${backlogText(held)} of them`);
        const where = holds ? `; ${holds}: run the same watch again to wait on` : '';
        reporter.error(`timed out after ${formatSeconds(e.timeoutMs)}: ${e.missing.length} of ${e.images} images have no record${where}:`);
        for (const m of e.missing) reporter.error(`missing ${m}`);
        return;
      }
      case 'download-start':
        return reporter.start(e.variants, 'downloading', 'items', 'variants');
      case 'variant-downloaded':
        return reporter.step('', e.path);
      case 'download-failed':
        return reporter.error(`error downloading ${e.key}: ${e.error}`);
      case 'download-end':
        return reporter.stop();
    }
  };

  /** The watch is over: its summary line (a result: -q prints it too). */
  finish(result: WatchResult): void {
    this.reporter.summary(summaryLine(result));
  }
}

/** Images first, as the wait's bar counts them, then their variants, then what --download fetched. */
function summaryLine(result: WatchResult): string {
  const failed = result.failed.length;
  return (
    `${result.done}/${result.images} images resized: ${result.found}/${result.expected} variants present in ${result.bucket} after ${formatSeconds(result.seconds * 1000)}` +
    (failed ? `; ${failed} image${failed === 1 ? '' : 's'} failed` : '') +
    (result.downloads ? `; ${result.downloads.files} downloaded to ${result.downloads.dir} (${formatBytes(result.downloads.bytes)})` : '')
  );
}

const backlogText = (b: Backlog) => `${b.queued} queued, ${b.inFlight} resizing${b.wholeQueue ? ' in the queue' : ''}`;
