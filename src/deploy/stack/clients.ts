// The AWS clients a stack deployment uses, from the standard chain (env, profile, SSO…; every one
// honours AWS_ENDPOINT_URL), all in one region, every call recorded for the summary.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createS3Client } from '../../s3/client.js';
import { explainAwsError } from '../errors.js';

export interface StackClients {
  cfn: CloudFormationClient;
  s3: S3Client;
  sts: STSClient;
}

type AnyClient = CloudFormationClient | S3Client | STSClient;

/** Record every call a client makes as "service:Operation", in order. */
export function recordCalls(client: AnyClient, service: string, calls: string[]): void {
  // The stacks take the same middleware; their types differ only in the clients' I/O types.
  (client.middlewareStack as CloudFormationClient['middlewareStack']).add(
    (next, context) => async (args) => {
      calls.push(`${service}:${String((context as { commandName?: string }).commandName ?? '?').replace(/Command$/, '')}`);
      return next(args);
    },
    { step: 'initialize', name: 'imgpipeRecordCalls', override: true },
  );
}

export async function defaultStackClients(region: string | undefined): Promise<StackClients> {
  // Standard retries with backoff cover throttling.
  const cfn = new CloudFormationClient({ region, maxAttempts: 6 });
  let resolved: string;
  try {
    resolved = await cfn.config.region();
  } catch (err) {
    cfn.destroy();
    throw explainAwsError(err, 'resolving the AWS region');
  }
  return { cfn, sts: new STSClient({ region: resolved, maxAttempts: 6 }), s3: createS3Client({ region: resolved, maxAttempts: 6 }) };
}

export async function accountOf(sts: STSClient): Promise<string> {
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    if (!who.Account) throw new Error('GetCallerIdentity gave no account');
    return who.Account;
  } catch (err) {
    throw explainAwsError(err, 'sts:GetCallerIdentity');
  }
}

export function destroyClients(c: StackClients): void {
  c.cfn.destroy();
  c.s3.destroy();
  c.sts.destroy();
}
