// The deploy jobs' events as a person sees them: an ora spinner per step on a terminal, one plain
// line per finished step otherwise; the change set one line per resource; the stack's events as
// they arrive, under a spinner naming the resources in progress; nothing under --json (the job's
// report says it all). "A terminal" is isLiveTerminal's rule, and Ctrl-C takes the spinners down
// (src/ui/live.ts) like every other widget.
import ora, { type Ora } from 'ora';
import type { DeployEvent, ShownEvent, StepRecord } from '../deploy/progress.js';
import type { ResourceChange } from '../deploy/stack/change-set.js';
import { printable } from './format.js';
import { isLiveTerminal, registerWidgets } from './live.js';

const MARK: Record<string, string> = { Add: '+', Modify: '~', Remove: '-', Import: '>', Dynamic: '?' };

/** On a narrow terminal the resource types go, all of them: names and what happens to them stay whole. */
const NARROW = 72;
const fit = (full: string, short: string, columns?: number): string => (columns && columns < NARROW ? short : full);

function changeLine(c: ResourceChange, columns?: number): string {
  const replace = c.action === 'Modify' && c.replacement && c.replacement !== 'False' ? (c.replacement === 'True' ? 'replaces it' : 'may replace it') : '';
  const head = `  ${MARK[c.action] ?? '?'} ${c.action.toLowerCase().padEnd(6)} ${c.logicalId}`;
  return fit(`${head} (${c.type}${replace && `, ${replace}`})`, `${head}${replace && ` (${replace})`}`, columns);
}

function eventLine(e: ShownEvent, columns?: number): string {
  const reason = e.reason && e.status.endsWith('FAILED') ? `: ${e.reason}` : '';
  return fit(`  ${e.status.padEnd(20)} ${e.logicalId} (${e.type})${reason}`, `  ${e.status} ${e.logicalId}${reason}`, columns);
}

export interface DeployViewOptions {
  json: boolean;
  /** Default: isLiveTerminal(stderr). */
  interactive?: boolean;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

export class DeployView {
  readonly interactive: boolean;
  private readonly json: boolean;
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  /** The running step's spinner, and the one over the stack's events. */
  private stepSpinner?: Ora;
  private stackSpinner?: Ora;
  private readonly moving = new Set<string>();
  private finished = 0;
  /** Resources the change set touches, for "n/total done". */
  private total = 0;
  /** Ctrl-C took the spinners down: none is drawn again. */
  private halted = false;
  private readonly unregister: () => void;

  constructor(opts: DeployViewOptions) {
    this.json = opts.json;
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    this.interactive = !this.json && (opts.interactive ?? isLiveTerminal(this.err));
    this.unregister = this.interactive ? registerWidgets({ halt: () => this.halt() }) : () => {};
  }

  /** Pass as the job's `onEvent` (new DeployProgress(view.onEvent)). */
  readonly onEvent = (e: DeployEvent): void => {
    if (this.json) return;
    switch (e.type) {
      case 'step-start':
        if (this.interactive && !this.halted) this.stepSpinner = ora({ text: e.step, stream: this.err, discardStdin: false }).start();
        return;
      case 'step-end':
        return this.stepEnded(e.record);
      case 'note':
        return this.line(e.line);
      case 'changes':
        this.total = e.changes.length;
        for (const c of e.changes) this.line(changeLine(c, this.columns));
        return;
      case 'stack-event':
        return this.stackEvent(e.event);
      case 'follow-end':
        this.stackSpinner?.stop();
        this.stackSpinner = undefined;
        return;
    }
  };

  /** The run is over: no spinner stays on screen, nor in Ctrl-C's list. */
  stop(): void {
    this.stepSpinner?.stop();
    this.stackSpinner?.stop();
    this.stepSpinner = this.stackSpinner = undefined;
    this.unregister();
  }

  private halt(): void {
    this.halted = true;
    this.stepSpinner?.stop();
    this.stackSpinner?.stop();
    this.stepSpinner = this.stackSpinner = undefined;
  }

  private stepEnded(r: StepRecord): void {
    const spinner = this.stepSpinner;
    this.stepSpinner = undefined;
    if (r.status === 'failed') {
      spinner?.fail(printable(r.step));
      return;
    }
    const line = printable(r.detail ? `${r.step}: ${r.detail}` : r.step);
    if (r.status === 'done') {
      if (spinner) spinner.succeed(line);
      else if (!this.interactive) this.out.write(`✓ ${line}\n`);
    } else if (this.interactive) {
      if (!this.halted) ora({ stream: this.err, discardStdin: false }).info(line);
    } else this.out.write(`- ${line}\n`);
  }

  /** The terminal's width, when the lines go to one. */
  private get columns(): number | undefined {
    return (this.out as NodeJS.WriteStream).isTTY ? (this.out as NodeJS.WriteStream).columns : undefined;
  }

  private line(text: string): void {
    this.stackSpinner?.clear();
    this.out.write(`${printable(text)}\n`);
    this.stackSpinner?.render();
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
  private stackEvent(e: ShownEvent): void {
    const done = !e.status.endsWith('_IN_PROGRESS');
    if (!this.interactive) {
      this.out.write(`${printable(eventLine(e, this.columns))}\n`);
      return;
    }
    // The stack's own events frame the run; the spinner counts its resources.
    const ofStack = e.type === 'AWS::CloudFormation::Stack';
    if (!ofStack && done && this.moving.delete(e.logicalId)) this.finished++;
    else if (!ofStack && !done) this.moving.add(e.logicalId);
    if (this.halted) return;
    this.stackSpinner ??= ora({ stream: this.err, discardStdin: false }).start();
    if (done) {
      this.stackSpinner.clear();
      this.out.write(`${printable(eventLine(e, this.columns))}\n`);
    }
    this.stackSpinner.text = this.progressText();
    this.stackSpinner.render();
  }
}
