// A CloudFormation change set: made, waited for, read (every page of changes), then executed or
// deleted. "No changes" is an answer, not a failure.
import { ImgpipeError } from '../../core/errors.js';
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  type CloudFormationClient,
  type Parameter,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { setTimeout as sleep } from 'node:timers/promises';
import { awsCall, explainAwsError, isAwsError } from '../errors.js';

export interface Timing {
  /** Between polls of a change set or of the stack's events. */
  pollMs: number;
  /** Give up waiting after this long. */
  timeoutMs: number;
}

export const DEFAULT_TIMING: Timing = { pollMs: 3000, timeoutMs: 60 * 60 * 1000 };


/** The stack, or undefined when there is none of that name (CloudFormation says so with a ValidationError). */
export async function findStack(cfn: CloudFormationClient, name: string): Promise<Stack | undefined> {
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: name }));
    return out.Stacks?.[0];
  } catch (err) {
    if (isAwsError(err, 'ValidationError') && /does not exist/i.test((err as Error).message)) return undefined;
    throw explainAwsError(err, `cloudformation:DescribeStacks ${name}`);
  }
}

export interface ResourceChange {
  action: 'Add' | 'Modify' | 'Remove' | string;
  logicalId: string;
  type: string;
  /** Modify only: 'True', 'False' or 'Conditional'. */
  replacement?: string;
}

/** `stackId`: CloudFormation's answer names the stack's ARN, which outlives its name. */
export type ChangeSetOutcome = { kind: 'ready'; name: string; stackId: string; changes: ResourceChange[] } | { kind: 'empty'; name: string; stackId: string };

export interface ChangeSetRequest {
  stack: string;
  type: 'CREATE' | 'UPDATE';
  template: string;
  parameters: Parameter[];
  /** The CLI's own tag on the stack, so people can find what imgpipe made. */
  tags: Record<string, string>;
}

const NO_CHANGES = /didn't contain changes|No updates are to be performed/i;

export async function createChangeSet(cfn: CloudFormationClient, r: ChangeSetRequest, timing: Timing): Promise<ChangeSetOutcome> {
  const name = `imgpipe-${new Date().toISOString().replace(/[-:.TZ]/g, '')}`;
  const made = await awsCall(`cloudformation:CreateChangeSet on ${r.stack}`, () =>
    cfn.send(
      new CreateChangeSetCommand({
        StackName: r.stack,
        ChangeSetName: name,
        ChangeSetType: r.type,
        TemplateBody: r.template,
        Parameters: r.parameters,
        // The template makes roles with fixed policies and no custom names.
        Capabilities: ['CAPABILITY_IAM'],
        Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })),
        Description: 'imgpipe deploy',
      }),
    ),
  );
  const stackId = made.StackId ?? r.stack;
  const started = Date.now();
  for (;;) {
    const { status, reason, changes } = await readChangeSet(cfn, r.stack, name);
    if (status === 'CREATE_COMPLETE') return { kind: 'ready', name, stackId, changes };
    if (status === 'FAILED') {
      if (NO_CHANGES.test(reason ?? '')) return { kind: 'empty', name, stackId };
      throw new ImgpipeError(`CloudFormation could not make the change set: ${reason ?? 'no reason given'}`, 'ChangeSetFailed');
    }
    if (Date.now() - started > timing.timeoutMs) {
      // Not left behind to be executed by mistake later; if even this fails, the message names it.
      await cfn.send(new DeleteChangeSetCommand({ StackName: r.stack, ChangeSetName: name })).catch(() => undefined);
      throw new ImgpipeError(`the change set ${name} was still ${status} after ${Math.max(1, Math.round(timing.timeoutMs / 1000))} s; it was deleted`, 'Timeout');
    }
    await sleep(timing.pollMs);
  }
}

/** One look at a change set: its status, and once it is ready, every page of its changes. */
async function readChangeSet(cfn: CloudFormationClient, stack: string, name: string): Promise<{ status?: string; reason?: string; changes: ResourceChange[] }> {
  const changes: ResourceChange[] = [];
  let next: string | undefined;
  for (;;) {
    const page = await awsCall(`cloudformation:DescribeChangeSet ${name}`, () => cfn.send(new DescribeChangeSetCommand({ StackName: stack, ChangeSetName: name, NextToken: next })));
    for (const c of page.Changes ?? []) {
      const rc = c.ResourceChange;
      if (rc) changes.push({ action: rc.Action ?? '?', logicalId: rc.LogicalResourceId ?? '?', type: rc.ResourceType ?? '?', ...(rc.Replacement && { replacement: rc.Replacement }) });
    }
    next = page.Status === 'CREATE_COMPLETE' ? page.NextToken : undefined;
    if (!next) return { status: page.Status, reason: page.StatusReason, changes };
  }
}

export async function deleteChangeSet(cfn: CloudFormationClient, stack: string, name: string): Promise<void> {
  await awsCall(`cloudformation:DeleteChangeSet ${name}`, () => cfn.send(new DeleteChangeSetCommand({ StackName: stack, ChangeSetName: name })));
}

export async function executeChangeSet(cfn: CloudFormationClient, stack: string, name: string): Promise<void> {
  // A rollback otherwise keeps the (empty) buckets this very run made (DeletionPolicy Retain),
  // and the next deploy stops at "bucket already exists". Buckets from earlier runs stay kept.
  await awsCall(`cloudformation:ExecuteChangeSet ${name}`, () => cfn.send(new ExecuteChangeSetCommand({ StackName: stack, ChangeSetName: name, RetainExceptOnCreate: true })));
}
