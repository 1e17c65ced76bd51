// The progress bar: cli-progress draws it (its timer, redraw, eta and cursor handling); its format
// callback is layoutBar, which fits the line to the terminal's width. Fields that do not fit are
// dropped whole (the file's name first, then the eta, then the bytes), never cut; a field with
// nothing to say is left out, never drawn empty (`|  |`).
import cliProgress from 'cli-progress';
import { BarTerminal } from './bar-terminal.js';
import { cells, fitName, formatEta, printable } from './format.js';
import { formatBytes } from '../core/bytes.js';

interface BarState {
  label: string;
  value: number;
  total: number;
  unit: 'items' | 'bytes';
  /** What an items bar counts, said after its count ("2/4 images"), so it reads as the line after it. */
  noun?: string;
  /** "12/30 files" (bytes bars: how many files are done). */
  files?: string;
  /** Seconds left, when known. */
  etaSeconds?: number;
  /** The item in hand: a path or key (its last segment is shown), or a short status. */
  item?: string;
}

const MIN_BAR = 8;
const MAX_BAR = 40;
const MIN_NAME = 8;
const MAX_NAME = 32;

/** The bar's line for a terminal `width` columns wide: at most width columns as a terminal counts them. */
function layoutBar(s: BarState, width: number): string {
  const ratio = s.total > 0 ? Math.min(1, Math.max(0, s.value / s.total)) : 1;
  const pct = `${Math.floor(ratio * 100)}%`;
  const counts = s.unit === 'bytes' ? s.files : `${Math.min(s.value, s.total)}/${s.total}${s.noun ? ` ${s.noun}` : ''}`;
  const essential = [pct, counts].filter((f): f is string => !!f);
  const bytes = s.unit === 'bytes' ? `${formatBytes(Math.min(s.value, s.total))}/${formatBytes(s.total)}` : undefined;
  const eta = s.etaSeconds !== undefined && ratio < 1 ? `eta ${formatEta(s.etaSeconds)}` : undefined;
  // Dropped in this order when space runs out: the name is handled last, below.
  const optional = [bytes, eta].filter((f): f is string => !!f);
  const head = `${s.label} [`;
  const fixed = (fields: string[]) => cells(head) + 2 + cells(fields.join(' | ')); // "] " after the bar
  let fields = [...essential, ...optional];
  while (optional.length && fixed(fields) + MIN_BAR > width) {
    optional.pop();
    fields = [...essential, ...optional];
  }
  if (fixed(fields) + MIN_BAR > width) {
    // No room for a bar at all: the numbers alone, with the label if it fits.
    const bare = essential.join(' | ');
    if (cells(s.label) + 1 + cells(bare) <= width) return `${s.label} ${bare}`;
    return cells(bare) <= width ? bare : pct;
  }
  let room = width - fixed(fields);
  const all = optional.length === (bytes ? 1 : 0) + (eta ? 1 : 0);
  const itemText = s.item ? printable(s.item) : '';
  if (all && itemText && room - MIN_BAR - 3 >= MIN_NAME) {
    const name = fitName(itemText, Math.min(MAX_NAME, room - MIN_BAR - 3));
    fields = [...fields, name];
    room -= cells(name) + 3;
  }
  const size = Math.min(MAX_BAR, room);
  const full = Math.round(size * ratio);
  return `${head}${'█'.repeat(full)}${'░'.repeat(size - full)}] ${fields.join(' | ')}`;
}

export interface BarOptions {
  label: string;
  total: number;
  unit: 'items' | 'bytes';
  noun?: string;
  stream: NodeJS.WritableStream;
  /** Redraw period (ms). */
  everyMs?: number;
}

/** What the bar shows beside the value: layoutBar's optional fields, as cli-progress's payload. */
interface Payload {
  files?: string;
  item?: string;
}

/** The eta is not shown in the first second: a rate from a few chunks is noise. */
const ETA_AFTER_MS = 1000;

/** A cli-progress bar on a terminal stream, laid out by layoutBar on each redraw; stop() clears its line. */
export class ProgressBar {
  private value = 0;
  private item?: string;
  private readonly bar: cliProgress.SingleBar;
  private readonly showCursor = () => this.o.stream.write('\x1b[?25h');

  constructor(private readonly o: BarOptions) {
    const options: cliProgress.Options & { terminal: BarTerminal } = {
      format: (_options, params, payload: Payload) => this.line(params, payload),
      stream: o.stream,
      terminal: new BarTerminal(o.stream),
      fps: 1000 / (o.everyMs ?? 100),
      hideCursor: true,
      clearOnComplete: true,
      // true: cli-progress leaves autowrap alone (false would turn it off, and text past the edge
      // would be lost unseen); the line fits already, so BarTerminal does not trim it.
      linewrap: true,
      // Error lines are printed over the bar (Reporter.error): redraw it below them on the next tick
      // even when its numbers did not change.
      forceRedraw: true,
      // Ctrl-C is src/cli/signals.ts's: it takes every widget down before its notice.
      gracefulExit: false,
      // A rate over the last updates, refreshed on every frame, so a stall shows in the eta.
      etaBuffer: 100,
      etaAsynchronousUpdate: true,
    };
    this.bar = new cliProgress.SingleBar(options);
  }

  start(): void {
    process.once('exit', this.showCursor);
    this.bar.start(this.o.total, 0, {});
  }

  get current(): number {
    return this.value;
  }

  /** Move by `delta` (clamped to 0…total) and/or change the file count or item shown. */
  add(delta: number, payload: Payload = {}): void {
    this.value = Math.min(this.o.total, Math.max(0, this.value + delta));
    const next: Payload = {};
    if (payload.files !== undefined) next.files = payload.files || undefined;
    if (payload.item !== undefined) next.item = this.item = payload.item || undefined;
    this.bar.update(this.value, next);
  }

  /** Stop showing `item` if it is still the one shown (a status whose moment has passed). */
  clearItem(item: string): void {
    if (this.item === item) this.add(0, { item: '' });
  }

  stop(): void {
    process.off('exit', this.showCursor);
    this.bar.stop();
  }

  /** The format callback: the line for the terminal's width now, one column short of the edge (no pending wrap). */
  private line(params: cliProgress.Params, payload: Payload): string {
    const known = typeof params.eta === 'number' && Date.now() - params.startTime >= ETA_AFTER_MS && params.value > 0;
    return layoutBar({ label: this.o.label, noun: this.o.noun, value: params.value, total: params.total, unit: this.o.unit, files: payload.files, item: payload.item, etaSeconds: known ? params.eta : undefined }, params.maxWidth - 1);
  }
}
