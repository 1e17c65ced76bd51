// What every deploy verb does with its AWS clients: record each call for the summary, and resolve
// the region from the standard chain with a clear line when there is none.
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { explainAwsError } from './errors.js';

type AnyClient = CloudFormationClient | LambdaClient | S3Client | STSClient;

/** Record every call a client makes as "service:Operation", in order. */
export function recordCalls(client: AnyClient, service: string, calls: string[]): void {
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
export async function resolvedRegion(client: AnyClient): Promise<string> {
  try {
    return await client.config.region();
  } catch (err) {
    client.destroy();
    throw explainAwsError(err, 'resolving the AWS region');
  }
}
