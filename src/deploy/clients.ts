// The AWS clients of both deploy verbs, from the standard chain (env, profile, SSO…; every one
// honours AWS_ENDPOINT_URL), all in one region, with standard retries and backoff for throttling;
// every call is recorded as "service:Operation" for the summary. `deploy` uses CloudFormation, S3,
// STS (and Lambda for the account's concurrency); `deploy-lambda` uses Lambda and S3.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ImgpipeError } from '../core/errors.js';
import { createS3Client } from '../s3/client.js';
import { guardLocalKeys } from '../s3/local-keys.js';
import { awsCall, explainAwsError } from './errors.js';

type AnyClient = CloudFormationClient | LambdaClient | S3Client | STSClient;

/** The clients a deploy may use; a verb opens the ones it needs. */
export interface DeployClients {
  cfn?: CloudFormationClient;
  s3: S3Client;
  sts?: STSClient;
  lambda?: LambdaClient;
}

/** `imgpipe deploy`'s: without `lambda` the account's concurrency is not checked. */
export type StackClients = DeployClients & { cfn: CloudFormationClient; sts: STSClient };

/** `imgpipe deploy-lambda`'s. */
export type PublishClients = { lambda: LambdaClient; s3: S3Client };

const SERVICES = { cfn: 'cloudformation', s3: 's3', sts: 'sts', lambda: 'lambda' } as const;

/** Record every call a client makes as "service:Operation", in order. */
function recordCalls(client: AnyClient, service: string, calls: string[]): void {
  // The stacks take the same middleware; their types differ only in the clients' I/O types.
  (client.middlewareStack as LambdaClient['middlewareStack']).add(
    (next, context) => async (args) => {
      calls.push(`${service}:${String((context as { commandName?: string }).commandName ?? '?').replace(/Command$/, '')}`);
      return next(args);
    },
    { step: 'initialize', name: 'imgpipeRecordCalls', override: true },
  );
}

/** The client's region (flag, environment, profile); destroys the client when there is none. */
async function resolvedRegion(client: AnyClient): Promise<string> {
  try {
    return await client.config.region();
  } catch (err) {
    client.destroy();
    throw explainAwsError(err, 'resolving the AWS region');
  }
}

/**
 * The clients of one run: handed in (tests) or made by `make`; every call is recorded into
 * `calls`; `close` destroys only what was made here.
 */
async function openClients<C extends DeployClients>(given: C | undefined, make: () => Promise<C>, calls: string[]): Promise<{ c: C; close: () => void }> {
  const c = given ?? (await make());
  for (const [k, service] of Object.entries(SERVICES)) {
    const client = c[k as keyof DeployClients];
    if (client) recordCalls(client, service, calls);
  }
  const destroy = () => {
    for (const k of Object.keys(SERVICES)) c[k as keyof DeployClients]?.destroy();
  };
  return { c, close: () => (given ? undefined : destroy()) };
}

/** `deploy`'s clients, all in the region CloudFormation resolves. */
export function openStackClients(region: string | undefined, given: StackClients | undefined, calls: string[]): Promise<{ c: StackClients; close: () => void }> {
  return openClients(
    given,
    async () => {
      const cfn = guardLocalKeys(new CloudFormationClient({ region, maxAttempts: 6 }), 'AWS CloudFormation');
      const resolved = await resolvedRegion(cfn);
      const sts = guardLocalKeys(new STSClient({ region: resolved, maxAttempts: 6 }), 'AWS STS');
      const lambda = guardLocalKeys(new LambdaClient({ region: resolved, maxAttempts: 6 }), 'AWS Lambda');
      return { cfn, sts, s3: createS3Client({ region: resolved, maxAttempts: 6 }), lambda };
    },
    calls,
  );
}

/** `deploy-lambda`'s clients, both in the function's region; `endpoint`: an S3-compatible store for the S3 calls. */
export function openPublishClients(region: string | undefined, endpoint: string | undefined, given: PublishClients | undefined, calls: string[]): Promise<{ c: PublishClients; close: () => void }> {
  return openClients(
    given,
    async () => {
      const lambda = guardLocalKeys(new LambdaClient({ region, maxAttempts: 6 }), 'AWS Lambda');
      const resolved = await resolvedRegion(lambda);
      // S3 notifications can only target a function in the bucket's region: talk to S3 there too.
      return { lambda, s3: createS3Client({ region: resolved, endpoint, maxAttempts: 6 }) };
    },
    calls,
  );
}

export async function accountOf(sts: STSClient): Promise<string> {
  const who = await awsCall('sts:GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({})));
  if (!who.Account) throw new ImgpipeError('sts:GetCallerIdentity gave no account', 'NoAccount');
  return who.Account;
}
