// What a deployed stack tells its users: the API URL and the buckets, from the stack's outputs,
// or (where an implementation keeps no outputs) from its resources; src/config/write.ts then
// writes them into imgpipe.config.json so every later verb finds the pipeline with no flags.
import { DescribeStackResourcesCommand, type CloudFormationClient, type Stack } from '@aws-sdk/client-cloudformation';
import { awsCall } from '../errors.js';

export interface StackOutputs {
  api?: string;
  sourceBucket?: string;
  destBucket?: string;
  /** The CDN's base URL in front of the variants (CdnUrl), when the stack has one. */
  cdn?: string;
  /** The resize queue's URL (ResizeQueueUrl): its depth is the backlog `watch` shows. */
  queue?: string;
}

export async function stackOutputs(cfn: CloudFormationClient, stack: Stack, region: string): Promise<StackOutputs> {
  const o = Object.fromEntries((stack.Outputs ?? []).map((x) => [x.OutputKey, x.OutputValue]));
  const out: StackOutputs = { api: o.ApiUrl, sourceBucket: o.SourceBucket, destBucket: o.DestBucket, ...(o.CdnUrl ? { cdn: o.CdnUrl } : {}), ...queueUrl(o.ResizeQueueUrl) };
  if (out.api && out.sourceBucket && out.destBucket) return out;
  const res = await awsCall(`cloudformation:DescribeStackResources ${stack.StackName}`, () => cfn.send(new DescribeStackResourcesCommand({ StackName: stack.StackId })));
  const physical = (id: string) => res.StackResources?.find((r) => r.LogicalResourceId === id)?.PhysicalResourceId;
  const apiId = physical('HttpApi');
  return {
    api: out.api ?? (apiId ? `https://${apiId}.execute-api.${region}.amazonaws.com` : undefined),
    sourceBucket: out.sourceBucket ?? physical('SourceBucket'),
    destBucket: out.destBucket ?? physical('DestBucket'),
    ...(out.cdn ? { cdn: out.cdn } : {}),
    ...queueUrl(out.queue ?? physical('ResizeQueue')), // an SQS queue's physical id is its URL
  };
}

/** Only a URL goes into the config as `queue` (the config refuses anything else, and every verb reads it). */
function queueUrl(value: string | undefined): { queue?: string } {
  return value && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) ? { queue: value } : {};
}
