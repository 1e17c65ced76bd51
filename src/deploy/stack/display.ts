// What `imgpipe deploy` shows while it works: the change set, one line per resource, and the
// stack's events as they arrive — a spinner naming the resources in progress on a terminal,
// plain lines otherwise, nothing under --json (all of it is in the summary).
import ora, { type Ora } from 'ora';
import { printable } from '../../ui/format.js';
import type { ResourceChange } from './change-set.js';
import type { ShownEvent } from './events.js';

const MARK: Record<string, string> = { Add: '+', Modify: '~', Remove: '-', Import: '>', Dynamic: '?' };

/** On a narrow terminal the resource types go, all of them: names and what happens to them stay whole. */
const NARROW = 72;
const fit = (full: string, short: string, columns?: number): string => (columns && columns < NARROW ? short : full);

export function changeLine(c: ResourceChange, columns?: number): string {
  const replace = c.action === 'Modify' && c.replacement && c.replacement !== 'False' ? (c.replacement === 'True' ? 'replaces it' : 'may replace it') : '';
  const head = `  ${MARK[c.action] ?? '?'} ${c.action.toLowerCase().padEnd(6)} ${c.logicalId}`;
  return fit(`${head} (${c.type}${replace && `, ${replace}`})`, `${head}${replace && ` (${replace})`}`, columns);
}

export function eventLine(e: ShownEvent, columns?: number): string {
  const reason = e.reason && e.status.endsWith('FAILED') ? `: ${e.reason}` : '';
  return fit(`  ${e.status.padEnd(20)} ${e.logicalId} (${e.type})${reason}`, `  ${e.status} ${e.logicalId}${reason}`, columns);
}

export class StackDisplay {
  private spinner?: Ora;
  private readonly moving = new Set<string>();
  private finished = 0;
  /** Resources the change set touches, for "n/total done". */
  private total = 0;

  constructor(
    private readonly json: boolean,
    private readonly interactive: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The terminal's width, when the lines go to one. */
  private get columns(): number | undefined {
    return (this.out as NodeJS.WriteStream).isTTY ? (this.out as NodeJS.WriteStream).columns : undefined;
  }

  line(text: string): void {
    if (this.json) return;
    this.spinner?.clear();
    this.out.write(`${printable(text)}\n`);
    this.spinner?.render();
  }

  changes(changes: ResourceChange[]): void {
    this.total = changes.length;
    for (const c of changes) this.line(changeLine(c, this.columns));
  }

  /** The spinner's one line: how far along, and what is moving now; never wider than the terminal. */
  private progressText(): string {
    const names = [...this.moving];
    const done = this.total ? `${this.finished}/${this.total} done` : `${this.finished} done`;
    const text = names.length ? `${done} · in progress: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` +${names.length - 3}` : ''}` : `${done} · waiting for CloudFormation…`;
    const room = (this.columns ?? (this.err as NodeJS.WriteStream).columns ?? 80) - 3;
    return text.length > room ? `${text.slice(0, room - 1)}…` : text;
  }

  /** One event: a finished or failed resource is a line; one in progress joins the spinner's list. */
  event(e: ShownEvent): void {
    if (this.json) return;
    const done = !e.status.endsWith('_IN_PROGRESS');
    if (!this.interactive) {
      this.out.write(`${printable(eventLine(e, this.columns))}\n`);
      return;
    }
    // The stack's own events frame the run; the spinner counts its resources.
    const ofStack = e.type === 'AWS::CloudFormation::Stack';
    if (!ofStack && done && this.moving.delete(e.logicalId)) this.finished++;
    else if (!ofStack && !done) this.moving.add(e.logicalId);
    this.spinner ??= ora({ stream: this.err, discardStdin: false }).start();
    if (done) {
      this.spinner.clear();
      this.out.write(`${printable(eventLine(e, this.columns))}\n`);
    }
    this.spinner.text = this.progressText();
    this.spinner.render();
  }

  stop(): void {
    this.spinner?.stop();
    this.spinner = undefined;
  }
}
