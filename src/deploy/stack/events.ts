// Follow a stack's events after a given one, oldest first, until the stack reaches a final state.
// DescribeStackEvents answers newest first, a page at a time: read back until an event already
// seen, then hand the new ones over in order. Event ids, not clocks: a deploy a second after the
// last must not read that one's final event as its own.
import { ImgpipeError } from '../../core/errors.js';
import { DescribeStackEventsCommand, type CloudFormationClient, type StackEvent } from '@aws-sdk/client-cloudformation';
import { awsCall } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Timing } from './change-set.js';
import type { DeployProgress, ShownEvent } from '../progress.js';

/** States a stack rests in; anything else is still moving. */
const FINAL_STATES = new Set([
  'CREATE_COMPLETE',
  'CREATE_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'UPDATE_COMPLETE',
  'UPDATE_FAILED',
  'UPDATE_ROLLBACK_COMPLETE',
  'UPDATE_ROLLBACK_FAILED',
  'DELETE_COMPLETE',
  'DELETE_FAILED',
]);

export const SUCCESS_STATES = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'DELETE_COMPLETE']);

export interface FollowResult {
  status: string;
  events: ShownEvent[];
  /** The first resource that failed, and why: what a person needs to read. */
  firstFailure?: ShownEvent;
}

const shown = (e: StackEvent): ShownEvent => ({
  logicalId: e.LogicalResourceId ?? '?',
  type: e.ResourceType ?? '?',
  status: e.ResourceStatus ?? '?',
  ...(e.ResourceStatusReason && { reason: e.ResourceStatusReason }),
  at: (e.Timestamp ?? new Date(0)).toISOString(),
});

/** The newest event's id: the mark to follow from. */
async function lastEventId(cfn: CloudFormationClient, stackId: string): Promise<string | undefined> {
  const page = await awsCall(`cloudformation:DescribeStackEvents ${stackId}`, () => cfn.send(new DescribeStackEventsCommand({ StackName: stackId })));
  return page.StackEvents?.[0]?.EventId;
}

/** The events not yet seen, oldest first. */
async function newEvents(cfn: CloudFormationClient, stackId: string, seen: Set<string>): Promise<StackEvent[]> {
  const fresh: StackEvent[] = [];
  let next: string | undefined;
  do {
    const page = await awsCall(`cloudformation:DescribeStackEvents ${stackId}`, () => cfn.send(new DescribeStackEventsCommand({ StackName: stackId, NextToken: next })));
    let reachedOld = false;
    for (const e of page.StackEvents ?? []) {
      if (seen.has(e.EventId ?? '')) {
        reachedOld = true;
        break;
      }
      fresh.push(e);
    }
    next = reachedOld ? undefined : page.NextToken;
  } while (next);
  for (const e of fresh) seen.add(e.EventId ?? '');
  return fresh.reverse();
}

const isStackEvent = (e: StackEvent, stackId: string): boolean => e.ResourceType === 'AWS::CloudFormation::Stack' && (e.PhysicalResourceId === stackId || e.StackId === stackId);

/** Follow until the stack's own event shows a final state. `stackId` (an ARN) survives the stack's deletion, its name does not. */
async function followStack(cfn: CloudFormationClient, stackId: string, after: string | undefined, timing: Timing, onEvent: (e: ShownEvent) => void): Promise<FollowResult> {
  const seen = new Set<string>(after ? [after] : []);
  const events: ShownEvent[] = [];
  let firstFailure: ShownEvent | undefined;
  const started = Date.now();
  for (;;) {
    for (const raw of await newEvents(cfn, stackId, seen)) {
      const e = shown(raw);
      events.push(e);
      onEvent(e);
      // "Resource creation cancelled" follows the real failure; the first *_FAILED with a reason is the cause.
      if (!firstFailure && e.status.endsWith('_FAILED') && !isStackEvent(raw, stackId) && !/cancelled/i.test(e.reason ?? '')) firstFailure = e;
      if (isStackEvent(raw, stackId) && FINAL_STATES.has(e.status)) return { status: e.status, events, ...(firstFailure && { firstFailure }) };
    }
    if (Date.now() - started > timing.timeoutMs) throw new ImgpipeError(`the stack was still changing after ${Math.round(timing.timeoutMs / 60000)} min; see its events in the CloudFormation console`, 'Timeout');
    await sleep(timing.pollMs);
  }
}

/** Start a change (execute a change set, delete the stack) and follow it to its end, from the last event before it. */
export async function changeAndFollow(cfn: CloudFormationClient, stackId: string, timing: Timing, progress: DeployProgress, start: () => Promise<unknown>): Promise<FollowResult> {
  const mark = await lastEventId(cfn, stackId);
  await start();
  try {
    return await followStack(cfn, stackId, mark, timing, (event) => progress.emit({ type: 'stack-event', event }));
  } finally {
    progress.emit({ type: 'follow-end' });
  }
}

/** The one line a person reads about a failed change: the first resource that failed, and why. */
export function failureCause(f: FollowResult): string {
  const first = f.firstFailure;
  return first ? `${first.logicalId} (${first.type}): ${first.reason ?? first.status}` : `no resource gave a reason (${f.status})`;
}
