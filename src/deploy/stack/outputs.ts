// What a deployed stack tells its users: the API URL and the buckets, from the stack's outputs,
// or (where an implementation keeps no outputs) from its resources; then written into
// imgpipe.config.json so every later verb finds the pipeline with no flags.
import { DescribeStackResourcesCommand, type CloudFormationClient, type Stack } from '@aws-sdk/client-cloudformation';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../core/errors.js';
import { writeFileAtomic } from '../../files/atomic.js';
import { call } from './change-set.js';

export interface StackOutputs {
  api?: string;
  sourceBucket?: string;
  destBucket?: string;
}

export async function stackOutputs(cfn: CloudFormationClient, stack: Stack, region: string): Promise<StackOutputs> {
  const o = Object.fromEntries((stack.Outputs ?? []).map((x) => [x.OutputKey, x.OutputValue]));
  const out: StackOutputs = { api: o.ApiUrl, sourceBucket: o.SourceBucket, destBucket: o.DestBucket };
  if (out.api && out.sourceBucket && out.destBucket) return out;
  const res = await call(`cloudformation:DescribeStackResources ${stack.StackName}`, () => cfn.send(new DescribeStackResourcesCommand({ StackName: stack.StackId })));
  const physical = (id: string) => res.StackResources?.find((r) => r.LogicalResourceId === id)?.PhysicalResourceId;
  const apiId = physical('HttpApi');
  return {
    api: out.api ?? (apiId ? `https://${apiId}.execute-api.${region}.amazonaws.com` : undefined),
    sourceBucket: out.sourceBucket ?? physical('SourceBucket'),
    destBucket: out.destBucket ?? physical('DestBucket'),
  };
}

/** The config file as JSON, or {} when there is none; anything else stops the deploy before it starts. */
export async function readConfigObject(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`${file}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Merge the pipeline's place into the config: the user's other settings stay as they were. */
export async function writePipelineConfig(file: string, place: { api?: string; destBucket?: string; region: string; stack: string }): Promise<Record<string, unknown>> {
  const current = await readConfigObject(file);
  const next: Record<string, unknown> = { ...current, stack: place.stack, region: place.region };
  if (place.api) next.api = place.api;
  if (place.destBucket) next.destBucket = place.destBucket;
  await writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
  return next;
}
