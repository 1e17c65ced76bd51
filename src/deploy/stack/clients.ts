// The AWS clients a stack deployment uses, from the standard chain (env, profile, SSO…; every one
// honours AWS_ENDPOINT_URL), all in one region, every call recorded for the summary.
import { ImgpipeError } from '../../core/errors.js';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createS3Client } from '../../s3/client.js';
import { guardLocalKeys } from '../../s3/local-keys.js';
import { recordCalls, resolvedRegion } from '../aws-clients.js';
import { awsCall } from '../errors.js';

export interface StackClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  sts: STSClient;
  /** For the account's concurrency (GetAccountSettings); without it the bound is not checked. */
  lambda?: LambdaClient;
}

/** The clients of one run: handed in (tests) or made from the standard chain; every call is
 * recorded into `calls`; `close` destroys only what was made here. */
export async function openStackClients(region: string | undefined, given: StackClients | undefined, calls: string[]): Promise<{ c: StackClients; close: () => void }> {
  const c = given ?? (await defaultStackClients(region));
  for (const [client, service] of [[c.cfn, 'cloudformation'], [c.s3, 's3'], [c.sts, 'sts']] as const) recordCalls(client, service, calls);
  if (c.lambda) recordCalls(c.lambda, 'lambda', calls);
  return { c, close: () => (given ? undefined : destroyClients(c)) };
}

async function defaultStackClients(region: string | undefined): Promise<StackClients> {
  // Standard retries with backoff cover throttling.
  const cfn = guardLocalKeys(new CloudFormationClient({ region, maxAttempts: 6 }), 'AWS CloudFormation');
  const resolved = await resolvedRegion(cfn);
  const sts = guardLocalKeys(new STSClient({ region: resolved, maxAttempts: 6 }), 'AWS STS');
  const lambda = guardLocalKeys(new LambdaClient({ region: resolved, maxAttempts: 6 }), 'AWS Lambda');
  return { cfn, sts, s3: createS3Client({ region: resolved, maxAttempts: 6 }), lambda };
}

export async function accountOf(sts: STSClient): Promise<string> {
  const who = await awsCall('sts:GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  if (!who.Account) throw new ImgpipeError('sts:GetCallerIdentity gave no account', 'NoAccount');
  return who.Account;
}

function destroyClients(c: StackClients): void {
  c.cfn.destroy();
  c.s3.destroy();
  c.sts.destroy();
  c.lambda?.destroy();
}
