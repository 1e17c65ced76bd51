// How a batch talks to the person (or script) running it: a progress bar on a terminal, one
// plain line per item otherwise, and with --json nothing but one JSON document at the end.
// Errors always go to stderr, one line each.
import ora, { type Ora } from 'ora';
import { ProgressBar } from './bar.js';
import { fitToColumns, printable } from './format.js';
import { isLiveTerminal, registerWidgets } from './live.js';

/** What a spinner says when its caller gave no text: never a bare spinner. */
const DEFAULT_SPIN_LABEL = 'working';

export interface ReporterOptions {
  json: boolean;
  /** Defaults to whether stderr is a terminal (and CI is not set). */
  interactive?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** -q (aws s3's --quiet): no progress and no per-item lines; errors and results (summary lines) still print. */
  quiet?: boolean;
  /** -v: one line per request and retry, and every skipped entry (stderr). */
  verbose?: boolean;
}

export class Reporter {
  readonly json: boolean;
  readonly interactive: boolean;
  readonly quiet: boolean;
  readonly isVerbose: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  private bar?: ProgressBar;
  /** Ctrl-C took the widgets down: none is drawn again, nor are per-item lines printed. */
  private halted = false;

  constructor(opts: ReporterOptions) {
    this.json = opts.json;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    const tty = isLiveTerminal(this.err);
    this.quiet = !!opts.quiet;
    this.isVerbose = !!opts.verbose;
    this.interactive = !this.json && !this.quiet && (opts.interactive ?? tty);
    if (this.interactive) {
      registerWidgets({
        halt: () => {
          this.halted = true;
          this.stop();
        },
      });
    }
  }

  private spinner?: Ora;

  /** Start a bar of `total` items (`noun`: what they are), or of `total` bytes (terminal only). */
  start(total: number, label: string, unit: 'items' | 'bytes' = 'items', noun?: string): void {
    if (!this.interactive || this.halted || total === 0) return;
    this.stop();
    this.bar = new ProgressBar({ label, total, unit, noun, stream: this.err });
    this.bar.start();
  }

  /** Partial progress (bytes sent): moves the bar only. */
  advance(delta: number, payload: { files?: string; item?: string } = {}): void {
    this.bar?.add(delta, payload);
  }

  /** One item done: advance the bar, or print a plain line when there is no terminal. */
  step(line: string, item = '', increment = 1): void {
    if (this.bar) this.bar.add(increment, { item });
    else if (!this.json && !this.quiet && !this.halted && line) this.out.write(`${printable(line)}\n`);
  }

  /** A spinner for a wait of unknown length (terminal only); returns its stop. */
  spin(text: string): () => void {
    if (!this.interactive || this.halted) return () => {};
    const label = printable(text).trim() || DEFAULT_SPIN_LABEL;
    // Two widgets redrawing one line fight forever: with a bar up, the bar shows the text, until its stop.
    if (this.bar) {
      const bar = this.bar;
      bar.add(0, { item: label });
      return () => bar.clearItem(label);
    }
    this.spinner?.stop();
    const spinner = ora({ text: label, stream: this.err, discardStdin: false }).start();
    this.spinner = spinner;
    return () => {
      spinner.stop();
      if (this.spinner === spinner) this.spinner = undefined;
    };
  }

  /** A problem with one item: always one line on stderr, even under --json. */
  error(line: string): void {
    // Over a bar or spinner: clear its line, print, and let it redraw itself below on its next tick.
    this.spinner?.clear();
    this.err.write(`${this.bar ? '\r\x1b[2K' : ''}${printable(line)}\n`);
  }

  /**
   * A line for the person: where progress is drawn for someone watching, broken between clauses
   * (else words) to the terminal's width rather than cut by it anywhere; otherwise (piped,
   * --no-progress, -q) one line, as scripts and logs read it.
   */
  private fitted(line: string): string {
    const { isTTY, columns } = this.out as Partial<NodeJS.WriteStream>;
    return this.interactive && isTTY && columns ? fitToColumns(line, columns) : line;
  }

  info(line: string): void {
    if (this.json || this.quiet) return;
    this.stop();
    this.out.write(`${this.fitted(line)}\n`);
  }

  /** The run's last line: printed even with -q (not with --json, whose document says it all). */
  summary(line: string): void {
    if (this.json) return;
    this.stop();
    this.out.write(`${this.fitted(line)}\n`);
  }

  /** A detail for -v (each request, retry, skipped entry): stderr, so stdout stays the result. */
  verbose(line: string): void {
    if (this.isVerbose) this.error(line);
  }

  stop(): void {
    this.spinner?.stop();
    this.spinner = undefined;
    this.bar?.stop();
    this.bar = undefined;
  }

  result(doc: unknown): void {
    this.stop();
    if (this.json) this.out.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
}
