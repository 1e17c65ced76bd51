// What the deploy jobs (`deploy`, `deploy --delete`, `deploy-lambda`) say while they run, as the
// upload job's events do: typed events for whoever renders them (src/ui/deploy-view.ts: spinners,
// plain lines, nothing under --json). The jobs print nothing; every step is also recorded for the
// report they return (its `steps`), which is what --json prints.
import type { ResourceChange } from './stack/change-set.js';

export interface StepRecord {
  step: string;
  status: 'done' | 'skipped' | 'failed';
  detail?: string;
}

/** One CloudFormation stack event, as a person reads it. */
export interface ShownEvent {
  logicalId: string;
  type: string;
  status: string;
  reason?: string;
  at: string;
}

/** What every deploy job returns (and --json prints): whether it worked, the AWS calls it made, its steps. */
export interface DeployReport {
  ok: boolean;
  /** AWS calls made, in order ("lambda:GetFunction", …); waiter polls included. */
  calls: string[];
  steps: StepRecord[];
}

export type DeployEvent =
  /** A step began (building a zip, a change set, a call and its wait). */
  | { type: 'step-start'; step: string }
  /** It ended: done (with what it gave), failed (with why), or skipped as not needed. */
  | { type: 'step-end'; record: StepRecord }
  /** A line for the person that is no step: a parameter that changes, a note about the account. */
  | { type: 'note'; line: string }
  /** The change set's resource changes, before any is made. */
  | { type: 'changes'; changes: ResourceChange[] }
  /** The stack's events while a change runs, oldest first; `follow-end` when it rests. */
  | { type: 'stack-event'; event: ShownEvent }
  | { type: 'follow-end' };

export type OnDeployEvent = (e: DeployEvent) => void;

/** A job's voice: runs its steps, records them, and hands every event to `onEvent`. */
export class DeployProgress {
  readonly records: StepRecord[] = [];

  constructor(private readonly onEvent: OnDeployEvent = () => {}) {}

  emit(e: DeployEvent): void {
    this.onEvent(e);
  }

  /** Run one step; `describe` turns its result into the detail shown when it is done. */
  async run<T>(label: string, fn: () => Promise<T>, describe?: (result: T) => string | undefined): Promise<T> {
    this.emit({ type: 'step-start', step: label });
    try {
      const result = await fn();
      const detail = describe?.(result);
      this.end({ step: label, status: 'done', ...(detail && { detail }) });
      return result;
    } catch (err) {
      this.end({ step: label, status: 'failed', detail: (err as Error).message });
      throw err;
    }
  }

  /** A step that did not need doing, and why. */
  skip(label: string, why: string): void {
    this.end({ step: label, status: 'skipped', detail: why });
  }

  note(line: string): void {
    this.emit({ type: 'note', line });
  }

  private end(record: StepRecord): void {
    this.records.push(record);
    this.emit({ type: 'step-end', record });
  }
}
