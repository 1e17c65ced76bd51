// Progress of a deployment, one step at a time: an ora spinner per step on a terminal, one
// plain line per finished step otherwise, nothing under --json (the steps are in the summary).
import ora from 'ora';
import { printable } from '../ui/format.js';

export interface StepRecord {
  step: string;
  status: 'done' | 'skipped' | 'failed';
  detail?: string;
}

export interface StepsOptions {
  json?: boolean;
  /** Default: stderr is a terminal and CI is unset. */
  interactive?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export class Steps {
  readonly records: StepRecord[] = [];
  private readonly json: boolean;
  private readonly interactive: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;

  constructor(opts: StepsOptions = {}) {
    this.json = !!opts.json;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    const err = this.err as NodeJS.WriteStream;
    // A terminal that reports no width (a bare pty) would make ora redraw forever.
    const tty = err.isTTY === true && (err.columns ?? 0) > 0 && !process.env.CI;
    this.interactive = !this.json && (opts.interactive ?? tty);
  }

  /** Run one step; `describe` turns its result into the line shown when it is done. */
  async run<T>(label: string, fn: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    const spinner = this.interactive ? ora({ text: label, stream: this.err, discardStdin: false }).start() : undefined;
    try {
      const result = await fn();
      const detail = describe?.(result);
      this.records.push({ step: label, status: 'done', ...(detail && { detail }) });
      const line = detail ? `${label}: ${detail}` : label;
      if (spinner) spinner.succeed(printable(line));
      else if (!this.json) this.out.write(`✓ ${printable(line)}\n`);
      return result;
    } catch (err) {
      this.records.push({ step: label, status: 'failed', detail: (err as Error).message });
      spinner?.fail(printable(label));
      throw err;
    }
  }

  /** A step that did not need doing, and why. */
  skip(label: string, why: string): void {
    this.records.push({ step: label, status: 'skipped', detail: why });
    const line = `${label}: ${why}`;
    if (this.interactive) ora({ stream: this.err, discardStdin: false }).info(printable(line));
    else if (!this.json) this.out.write(`- ${printable(line)}\n`);
  }
}
