// The progress bar: one line redrawn in place with \r, laid out to fit the terminal's width.
// Fields that do not fit are dropped whole (the file's name first, then the eta, then the
// bytes), never cut; a field with nothing to say is left out, never drawn empty (`|  |`).
import { cells, fitName, formatBytes, formatEta, printable } from './format.js';

export interface BarState {
  label: string;
  value: number;
  total: number;
  unit: 'items' | 'bytes';
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
export function layoutBar(s: BarState, width: number): string {
  const ratio = s.total > 0 ? Math.min(1, Math.max(0, s.value / s.total)) : 1;
  const pct = `${Math.floor(ratio * 100)}%`;
  const counts = s.unit === 'bytes' ? s.files : `${Math.min(s.value, s.total)}/${s.total}`;
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
  stream: NodeJS.WritableStream;
  /** Redraw period (ms). */
  everyMs?: number;
}

/** A bar on a terminal stream, redrawn on a timer while anything changed; stop() clears its line. */
export class ProgressBar {
  private value = 0;
  private files?: string;
  private item?: string;
  private readonly started = Date.now();
  private timer?: NodeJS.Timeout;
  private drawn = '';
  private readonly showCursor = () => this.write('\x1b[?25h');

  constructor(private readonly o: BarOptions) {}

  start(): void {
    this.write('\x1b[?25l');
    process.once('exit', this.showCursor);
    this.draw();
    this.timer = setInterval(() => this.draw(), this.o.everyMs ?? 100);
    this.timer.unref();
  }

  get current(): number {
    return this.value;
  }

  /** Move by `delta` (clamped to 0…total) and/or change the file count or item shown. */
  add(delta: number, payload: { files?: string; item?: string } = {}): void {
    this.value = Math.min(this.o.total, Math.max(0, this.value + delta));
    if (payload.files !== undefined) this.files = payload.files || undefined;
    if (payload.item !== undefined) this.item = payload.item || undefined;
  }

  /** Forget the drawn line (something else was printed over it): the next tick draws it again. */
  invalidate(): void {
    this.drawn = '';
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.off('exit', this.showCursor);
    this.write(`${this.drawn ? '\r\x1b[2K' : ''}\x1b[?25h`);
    this.drawn = '';
  }

  private draw(): void {
    const columns = (this.o.stream as NodeJS.WriteStream).columns || 80;
    const line = layoutBar({ label: this.o.label, value: this.value, total: this.o.total, unit: this.o.unit, files: this.files, etaSeconds: this.eta(), item: this.item }, columns - 1);
    if (line === this.drawn) return;
    this.write(`\r\x1b[2K${line}`);
    this.drawn = line;
  }

  /** From the average rate so far; unknown in the first second or before any progress. */
  private eta(): number | undefined {
    const elapsed = (Date.now() - this.started) / 1000;
    if (elapsed < 1 || this.value <= 0 || this.value >= this.o.total) return undefined;
    return Math.ceil(((this.o.total - this.value) * elapsed) / this.value);
  }

  private write(s: string): void {
    this.o.stream.write(s);
  }
}
