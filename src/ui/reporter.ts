// How a batch talks to the person (or script) running it: a progress bar on a terminal, one
// plain line per item otherwise, and with --json nothing but one JSON document at the end.
// Errors always go to stderr, one line each.
import cliProgress from 'cli-progress';
import ora, { type Ora } from 'ora';
import { formatBytes, printable } from './format.js';

export interface ReporterOptions {
  json: boolean;
  /** Defaults to whether stderr is a terminal (and CI is not set). */
  interactive?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** -q: nothing but errors and the final summary line. */
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
  private bar?: cliProgress.SingleBar;

  constructor(opts: ReporterOptions) {
    this.json = opts.json;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    const ws = this.err as NodeJS.WriteStream;
    // A pty that reports 0 columns makes the widgets redraw forever: treat it as no terminal.
    const tty = ws.isTTY === true && (ws.columns ?? 0) > 0 && !process.env.CI;
    this.quiet = !!opts.quiet;
    this.isVerbose = !!opts.verbose;
    this.interactive = !this.json && !this.quiet && (opts.interactive ?? tty);
  }

  private spinner?: Ora;

  /** Start a bar of `total` items, or of `total` bytes (terminal only). */
  start(total: number, label: string, unit: 'items' | 'bytes' = 'items'): void {
    if (!this.interactive || total === 0) return;
    const counts = unit === 'bytes' ? '{done}/{size} | {files}' : '{value}/{total}';
    this.bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | ${counts} | eta {eta_formatted} | {item}`,
        stream: this.err,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { item: '', done: formatBytes(0), size: formatBytes(total), files: '' });
  }

  /** Partial progress (bytes sent): moves the bar only. */
  advance(delta: number, payload: Record<string, string> = {}): void {
    if (!this.bar) return;
    const value = Math.max(0, (this.bar as unknown as { value: number }).value + delta);
    this.bar.update(value, { ...payload, done: formatBytes(value) });
  }

  /** One item done: advance the bar, or print a plain line when there is no terminal. */
  step(line: string, item = '', increment = 1): void {
    if (this.bar) this.bar.increment(increment, { item: printable(item).slice(-40) });
    else if (!this.json && !this.quiet && line) this.out.write(`${printable(line)}\n`);
  }

  /** A spinner for a wait of unknown length (terminal only); returns its stop. */
  spin(text: string): () => void {
    if (!this.interactive) return () => {};
    // Two widgets redrawing one line fight forever: with a bar up, the bar shows the text.
    if (this.bar) {
      this.bar.update({ item: text });
      return () => {};
    }
    this.spinner = ora({ text, stream: this.err, discardStdin: false }).start();
    return () => {
      this.spinner?.stop();
      this.spinner = undefined;
    };
  }

  /** A problem with one item: always one line on stderr, even under --json. */
  error(line: string): void {
    // Over a bar: clear its line, print, and let the bar redraw itself below on its next tick.
    this.err.write(`${this.bar ? '\r\x1b[2K' : ''}${printable(line)}\n`);
  }

  info(line: string): void {
    if (this.json || this.quiet) return;
    this.stop();
    this.out.write(`${line}\n`);
  }

  /** The run's last line: printed even with -q (not with --json, whose document says it all). */
  summary(line: string): void {
    if (this.json) return;
    this.stop();
    this.out.write(`${line}\n`);
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
