// The resize-local job's events as a person (or script) sees them, through a Reporter: a bar of
// inputs on a terminal, one `ok` (or, in a dry run, `plan`) line per input otherwise, errors and
// the slow-spec warning on stderr, and the summary line at the end (--json: the CLI prints the
// result document instead).
import type { ResizeLocalEvent, ResizeLocalResult } from '../jobs/resize-local.js';
import { formatSeconds } from './format.js';
import { formatBytes } from '../core/bytes.js';
import type { Reporter } from './reporter.js';

/** The scan's FIFOs, sockets and devices: the summary counts them. */
type Special = Extract<ResizeLocalEvent, { type: 'scan-done' }>['special'];

export class ResizeView {
  private special: Special = [];

  constructor(private readonly reporter: Reporter) {}

  /** Pass as the job's `onEvent`. */
  readonly onEvent = (e: ResizeLocalEvent): void => {
    const { reporter } = this;
    switch (e.type) {
      case 'warning':
        return reporter.error(e.message);
      case 'scan-done':
        this.special = e.special;
        return;
      case 'input-refused':
        return reporter.error(`error ${e.path}: ${e.error}`);
      case 'resize-start':
        return reporter.start(e.files, e.dryRun ? 'planning' : 'resizing');
      case 'input-done': {
        const { input } = e;
        if (input.status === 'error') {
          reporter.error(`error ${input.path}: ${input.error}`);
          return reporter.step('', input.relPath);
        }
        const { format, width, height } = input.source!;
        const sizes = input.outputs.map((o) => `${o.key} ${o.width}×${o.height} ${o.format}${o.bytes !== undefined ? ` ${formatBytes(o.bytes)}` : ''}`);
        return reporter.step(`${e.dryRun ? 'plan' : 'ok'} ${input.relPath} (${format} ${width}×${height}) → ${sizes.join(', ')}`, input.relPath);
      }
    }
  };

  /** The run is over: take the bar down and print the summary line. */
  finish(result: ResizeLocalResult): void {
    this.reporter.stop();
    this.reporter.info(summaryLine(result, this.special));
  }
}

function summaryLine(result: ResizeLocalResult, special: Special): string {
  const verb = result.dryRun ? 'planned (dry run, nothing written)' : `written to ${result.outDir}`;
  return (
    `${result.succeeded}/${result.files} files, ${result.outputs} outputs ${verb}; ` +
    `${formatBytes(result.bytesIn)} in${result.dryRun ? '' : `, ${formatBytes(result.bytesOut)} out`}; ` +
    `${formatSeconds(result.seconds * 1000)}` +
    (result.failed ? `; ${result.failed} failed` : '') +
    (result.skipped.length ? `; ${result.skipped.length} non-image file${result.skipped.length === 1 ? '' : 's'} skipped` : '') +
    (special.length ? `; ${special.length} not regular file${special.length === 1 ? '' : 's'} skipped (${[...new Set(special.map((s) => s.kind))].join(', ')})` : '')
  );
}
