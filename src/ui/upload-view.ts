// The upload job's events as a person (or script) sees them, through a Reporter: one bytes bar on a
// terminal, one plain line per file otherwise, -v's request and skip lines, errors and warnings on
// stderr, and the summary line at the end (--json: the CLI prints the result document instead).
import type { UploadEvent } from '../jobs/upload/events.js';
import type { UploadResult } from '../jobs/upload/types.js';
import { costLine } from '../core/cost.js';
import { walkSkipsText } from '../files/scan.js';
import { formatSeconds } from './format.js';
import { formatBytes } from '../core/bytes.js';
import type { Reporter } from './reporter.js';

export class UploadView {
  /** Files found by the scan, and how many of them have ended (the bar's "12/30 files"). */
  private files = 0;
  private done = 0;
  private stopSpin?: () => void;
  /** Files being sent, by size: the bar names the largest, which the run waits for longest. */
  private readonly sending = new Map<string, number>();

  /** `dryRun`: the job's --dry-run, said as aws s3's `(dryrun) upload …` lines; no bar. */
  constructor(
    private readonly reporter: Reporter,
    private readonly dryRun = false,
  ) {}

  /** Pass as the job's `onEvent`. */
  readonly onEvent = (e: UploadEvent): void => {
    const { reporter } = this;
    switch (e.type) {
      case 'warning':
        return reporter.error(e.message);
      case 'file-passed-over':
        return reporter.verbose(passedOverLine(e));
      case 'scan-done':
        this.files = e.files;
        if (this.dryRun) return;
        return reporter.start(e.bytes, 'uploading', 'bytes');
      case 'file-checked':
        return;
      case 'batch-presigning':
        this.stopSpin = reporter.spin(`presigning ${e.files} file${e.files === 1 ? '' : 's'}`);
        return reporter.verbose(`request POST ${e.url} (${e.files} files)`);
      case 'batch-presigned':
        this.stopSpin?.();
        this.stopSpin = undefined;
        return;
      case 'url-refresh':
        return reporter.verbose(`request POST ${e.url} (1 file, a fresh URL for ${e.relPath.split('/').pop()})`);
      case 'put-start':
        this.sending.set(e.relPath, e.size);
        return reporter.verbose(`request PUT ${e.relPath} → ${e.key} (${formatBytes(e.size)})`);
      case 'put-progress':
        return reporter.advance(e.bytes);
      case 'retry':
        return reporter.verbose(`retry ${e.what}: ${e.reason}`);
      case 'file-uploaded': {
        const { relPath, key, retries } = e.file;
        return this.ended(relPath, `ok ${relPath} → ${key}${retries ? ` (${retries} retries)` : ''}`);
      }
      case 'file-would-upload':
        return reporter.step(`(dryrun) upload ${e.file.relPath}`);
      case 'file-exists': {
        const { relPath, key, size } = e.file;
        if (this.dryRun) return reporter.step(`(dryrun) skip ${relPath}: ${e.file.twinOf ? `same bytes as ${e.file.twinOf}` : `unchanged since its upload as ${key}`}`);
        reporter.advance(size ?? 0);
        const why = e.file.twinOf
          ? `same bytes as ${e.file.twinOf}, stored as ${key}`
          : e.file.resized
            ? `already there as ${key}, resized (the ledger knows; --verify asks)`
            : e.file.requeuedAt
              ? `already there as ${key}, but never resized: queued for resize again`
              : `already there as ${key}`;
        return this.ended(relPath, `skip ${relPath}: ${why}`);
      }
      case 'file-failed':
        reporter.error(`error ${e.file.path}: ${e.file.error}`);
        if (e.stage === 'scan' || this.dryRun) return; // an argument the scan could not read: not one of the bar's files
        reporter.advance(e.bytes); // the bar still ends at 100 %
        return this.ended(e.file.relPath, '');
    }
  };

  /** The run is over: take the bar down and print the summary line. */
  finish(result: UploadResult): void {
    this.reporter.stop();
    if (result.stopped) this.reporter.error(`imgpipe: ${result.stopped.message}`);
    if (result.aws?.photos) this.reporter.info(`(dryrun) ${costLine(result.aws, result.aws.deployment)}`);
    this.reporter.summary(result.dryRun ? dryRunLine(result) : summaryLine(result));
  }

  /** A file ended: its plain line (none for a failure: its error line said it), the bar's file count. */
  private ended(relPath: string, line: string): void {
    this.done++;
    this.sending.delete(relPath);
    // A 200 MB scan still going while small files end: the bar keeps its name, not the last small one's.
    const largest = [...this.sending].reduce<[string, number] | undefined>((a, b) => (!a || b[1] > a[1] ? b : a), undefined);
    this.reporter.step(line, largest?.[0] ?? relPath, 0);
    this.reporter.advance(0, { files: `${this.done}/${this.files} files` });
  }
}

/** -v's line for an entry the scan passed over (dry runs print it too). */
function passedOverLine(e: Extract<UploadEvent, { type: 'file-passed-over' }>): string {
  if (e.reason === 'excluded') return `skip ${e.relPath}: excluded by --exclude ${e.pattern}`;
  if (e.reason === 'hidden') return `skip ${e.path}: hidden`;
  if (e.reason === 'not-an-image') return `skip ${e.path}: not an image (by its extension)`;
  return `skip ${e.path}: not a regular file (a ${e.reason === 'fifo' ? 'FIFO' : e.reason})`;
}

function summaryLine(result: UploadResult): string {
  const pending = result.uploads.filter((r) => r.status === 'pending').length;
  return (
    `${result.uploaded} uploaded, ${result.exists} already there, ${result.failed} failed` +
    (result.interrupted ? `, ${pending} not done (interrupted)` : '') +
    (result.stopped ? `, ${pending} not sent (the API could not be reached)` : '') +
    ` of ${result.files} files; ${formatBytes(result.bytes)} in ${formatSeconds(result.seconds * 1000)}` +
    (result.uploaded ? ` (${result.filesPerSecond.toFixed(1)} files/s, ${result.megabytesPerSecond.toFixed(1)} MB/s)` : '') +
    (result.retries ? `; ${result.retries} retries` : '') +
    (result.walkSkipped.total ? `; ${walkSkipsText(result.walkSkipped)}` : '') +
    (result.excluded ? `; ${result.excluded} excluded by filters` : '') +
    (result.manifestWritten ? `; manifest ${result.manifest}` : '')
  );
}

/** --dry-run's summary: what would be sent, what is there already, what would fail. */
function dryRunLine(result: UploadResult): string {
  return (
    `(dryrun) ${result.toUpload} to upload (${formatBytes(result.toUploadBytes ?? 0)}), ${result.exists} already there, ${result.failed} failed of ${result.files} files` +
    (result.walkSkipped.total ? `; ${walkSkipsText(result.walkSkipped)}` : '') +
    (result.excluded ? `; ${result.excluded} excluded by filters` : '') +
    '; nothing sent'
  );
}

/**
 * `--wait`'s line for the images it did not wait for, the ledger knowing them resized with this
 * spec: alone, or after the wait's own line (`more`). Said as the wait's line says it, images first.
 */
export function alreadyResizedLine(images: number, more: boolean, variantsEach: number, bucket: string): string {
  const counted = more ? `and ${images} more image${images === 1 ? '' : 's'}` : `${images}/${images} image${images === 1 ? '' : 's'}`;
  return `${counted} already resized: ${images * variantsEach} variants in ${bucket} (the ledger knows; --verify asks)`;
}
