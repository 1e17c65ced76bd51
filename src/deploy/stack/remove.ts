// `imgpipe deploy --delete`: remove the stack and keep the photos. The template retains both
// buckets, so they outlive the stack; this says which were kept, and takes the pipeline out of
// imgpipe.config.json when it points at this stack.
import { ImgpipeError } from '../../core/errors.js';
import { DeleteStackCommand, DescribeStackResourcesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { forgetStack } from '../../config/write.js';
import { awsCall } from '../errors.js';
import type { DeployProgress, DeployReport, ShownEvent } from '../progress.js';
import { DEFAULT_TIMING, findStack, type Timing } from './change-set.js';
import { accountOf, openStackClients, type StackClients } from '../clients.js';
import { changeAndFollow, failureCause } from './events.js';
import { isBusy } from './state.js';
import { bucketState } from './artifacts.js';
import { emptyAndRemoveBucket } from './empty.js';
import { defaultCodeBucket } from './names.js';

/** What a delete is about to do, for the question asked before it does it. */
export interface DeletePlan {
  stack: string;
  region: string;
  /** The stack's buckets: kept, or with emptyBuckets deleted with every object in them. */
  buckets: string[];
  emptyBuckets: boolean;
  /** The artifacts bucket (the Lambda zips; outside the stack, shared by its account and region), when it exists. */
  artifactsBucket?: string;
}

export interface StackDeleteRequest {
  stack: string;
  region?: string;
  configFile: string;
  /** --code-bucket or the config's; else imgpipe-artifacts-<account>-<region>. */
  codeBucket?: string;
  /** Also delete the kept buckets and every object in them. */
  emptyBuckets?: boolean;
  /** Asked once the stack is found, before anything is deleted; false stops with nothing deleted. */
  confirm?: (plan: DeletePlan) => Promise<boolean>;
}

export interface StackDeleteSummary extends DeployReport {
  action: 'deleted' | 'absent';
  stack: string;
  region: string;
  /** Buckets the stack made that still exist, with their objects. */
  keptBuckets: string[];
  /** The artifacts bucket, which the stack never owned: kept either way. */
  artifactsBucket?: string;
  /** --empty-buckets: the buckets removed and how many objects each held. */
  removedBuckets?: { bucket: string; objects: number }[];
  events: ShownEvent[];
}

async function bucketsOf(cfn: CloudFormationClient, stackId: string): Promise<string[]> {
  const res = await awsCall(`cloudformation:DescribeStackResources ${stackId}`, () => cfn.send(new DescribeStackResourcesCommand({ StackName: stackId })));
  return (res.StackResources ?? []).filter((r) => r.ResourceType === 'AWS::S3::Bucket' && r.PhysicalResourceId).map((r) => r.PhysicalResourceId as string);
}

export async function deleteStack(r: StackDeleteRequest, steps: DeployProgress, deps: { clients?: StackClients; timing?: Timing } = {}): Promise<StackDeleteSummary> {
  const calls: string[] = [];
  const { c, close } = await openStackClients(r.region, deps.clients, calls);
  try {
    const region = await c.cfn.config.region();
    const summary: StackDeleteSummary = { ok: true, action: 'absent', stack: r.stack, region, keptBuckets: [], events: [], calls, steps: steps.records };
    const stack = await findStack(c.cfn, r.stack);
    if (!stack?.StackId) {
      steps.skip(`Deleting stack ${r.stack}`, `there is no stack of that name in ${region}`);
      return summary;
    }
    if (isBusy(stack.StackStatus)) {
      throw new ImgpipeError(`the stack ${r.stack} is busy (${stack.StackStatus}): wait until it settles, then delete it`, 'StackBusy');
    }
    const buckets = await bucketsOf(c.cfn, stack.StackId);
    const artifacts = r.codeBucket ?? defaultCodeBucket({ account: await accountOf(c.sts), region });
    if ((await bucketState(c.s3, artifacts)) === 'present') summary.artifactsBucket = artifacts;
    const plan: DeletePlan = { stack: r.stack, region, buckets, emptyBuckets: !!r.emptyBuckets, artifactsBucket: summary.artifactsBucket };
    if (r.confirm && !(await r.confirm(plan))) throw new ImgpipeError('not confirmed: nothing was deleted', 'NotConfirmed');
    const stackId = stack.StackId;
    const followed = await changeAndFollow(c.cfn, stackId, deps.timing ?? DEFAULT_TIMING, steps, () =>
      awsCall(`cloudformation:DeleteStack ${r.stack}`, () => c.cfn.send(new DeleteStackCommand({ StackName: stackId }))),
    );
    summary.events = followed.events;
    if (followed.status !== 'DELETE_COMPLETE') throw new ImgpipeError(`deleting the stack ${r.stack} failed at ${failureCause(followed)}`, 'StackDeleteFailed');
    summary.action = 'deleted';
    for (const b of buckets) if ((await bucketState(c.s3, b)) === 'present') summary.keptBuckets.push(b);
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
    close();
  }
}
