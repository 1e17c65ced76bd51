// `imgpipe deploy --delete`: remove the stack and keep the photos. The template retains both
// buckets, so they outlive the stack; this says which were kept, and takes the pipeline out of
// imgpipe.config.json when it points at this stack.
import { DeleteStackCommand, DescribeStackResourcesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { writeFileAtomic } from '../../files/atomic.js';
import { DeployError } from '../errors.js';
import type { StepRecord, Steps } from '../steps.js';
import { call, DEFAULT_TIMING, findStack, type Timing } from './change-set.js';
import { defaultStackClients, destroyClients, recordCalls, type StackClients } from './clients.js';
import type { StackDisplay } from './display.js';
import { followStack, lastEventId, type ShownEvent } from './events.js';
import { emptyAndRemoveBucket } from './empty.js';
import { readConfigObject } from './outputs.js';

export interface StackDeleteRequest {
  stack: string;
  region?: string;
  configFile: string;
  /** Also delete the kept buckets and every object in them, once `confirm` says so. */
  emptyBuckets?: { confirm: (buckets: string[]) => Promise<boolean> };
}

export interface StackDeleteSummary {
  ok: boolean;
  action: 'deleted' | 'absent';
  stack: string;
  region: string;
  /** Buckets the stack made that still exist, with their objects. */
  keptBuckets: string[];
  /** --empty-buckets: the buckets removed and how many objects each held. */
  removedBuckets?: { bucket: string; objects: number }[];
  events: ShownEvent[];
  calls: string[];
  steps: StepRecord[];
}

async function bucketsOf(cfn: CloudFormationClient, stackId: string): Promise<string[]> {
  const res = await call(`cloudformation:DescribeStackResources ${stackId}`, () => cfn.send(new DescribeStackResourcesCommand({ StackName: stackId })));
  return (res.StackResources ?? []).filter((r) => r.ResourceType === 'AWS::S3::Bucket' && r.PhysicalResourceId).map((r) => r.PhysicalResourceId as string);
}

async function exists(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch {
    return false;
  }
}

/** The config no longer points at a stack that is gone (the kept variants bucket stays named). */
async function forgetStack(file: string, stack: string): Promise<void> {
  const current = await readConfigObject(file);
  if (current.stack !== stack) return;
  const { api: _api, stack: _stack, ...rest } = current;
  await writeFileAtomic(file, `${JSON.stringify(rest, null, 2)}\n`);
}

export async function deleteStack(r: StackDeleteRequest, steps: Steps, display: StackDisplay, deps: { clients?: StackClients; timing?: Timing } = {}): Promise<StackDeleteSummary> {
  const owned = !deps.clients;
  const c = deps.clients ?? (await defaultStackClients(r.region));
  const calls: string[] = [];
  for (const [client, service] of [[c.cfn, 'cloudformation'], [c.s3, 's3'], [c.sts, 'sts']] as const) recordCalls(client, service, calls);
  try {
    const region = await c.cfn.config.region();
    const summary: StackDeleteSummary = { ok: true, action: 'absent', stack: r.stack, region, keptBuckets: [], events: [], calls, steps: steps.records };
    const stack = await findStack(c.cfn, r.stack);
    if (!stack?.StackId) {
      steps.skip(`Deleting stack ${r.stack}`, `there is no stack of that name in ${region}`);
      return summary;
    }
    if (stack.StackStatus?.endsWith('_IN_PROGRESS') && stack.StackStatus !== 'REVIEW_IN_PROGRESS') {
      throw new DeployError(`the stack ${r.stack} is busy (${stack.StackStatus}): wait until it settles, then delete it`, 'StackBusy');
    }
    const buckets = await bucketsOf(c.cfn, stack.StackId);
    if (r.emptyBuckets && !(await r.emptyBuckets.confirm(buckets))) throw new DeployError('not confirmed: nothing was deleted', 'NotConfirmed');
    const mark = await lastEventId(c.cfn, stack.StackId);
    await call(`cloudformation:DeleteStack ${r.stack}`, () => c.cfn.send(new DeleteStackCommand({ StackName: stack.StackId })));
    const timing = deps.timing ?? DEFAULT_TIMING;
    let followed;
    try {
      followed = await followStack(c.cfn, stack.StackId, mark, timing, (e) => display.event(e));
    } finally {
      display.stop();
    }
    summary.events = followed.events;
    if (followed.status !== 'DELETE_COMPLETE') {
      const why = followed.firstFailure ? `${followed.firstFailure.logicalId}: ${followed.firstFailure.reason ?? followed.firstFailure.status}` : followed.status;
      throw new DeployError(`deleting the stack ${r.stack} failed at ${why}`, 'StackDeleteFailed');
    }
    summary.action = 'deleted';
    for (const b of buckets) if (await exists(c.s3, b)) summary.keptBuckets.push(b);
    if (r.emptyBuckets) {
      summary.removedBuckets = [];
      for (const bucket of summary.keptBuckets) {
        const objects = await steps.run(`Emptying and removing s3://${bucket}`, () => emptyAndRemoveBucket(c.s3, bucket), (n) => `${n} object${n === 1 ? '' : 's'} deleted`);
        summary.removedBuckets.push({ bucket, objects });
      }
      summary.keptBuckets = [];
    }
    await forgetStack(r.configFile, r.stack);
    return summary;
  } finally {
    if (owned) destroyClients(c);
  }
}
