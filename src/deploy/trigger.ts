// Wire S3 → resize: let s3.amazonaws.com invoke the alias (for this bucket, from this account
// only), then add an ObjectCreated notification to the bucket, merged into the configurations
// already there. S3 has one notification document per bucket, so writing ours alone would
// silently drop everybody else's.
import { ImgpipeError } from '../core/errors.js';
import { AddPermissionCommand, GetPolicyCommand } from '@aws-sdk/client-lambda';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type Event as S3Event,
  type LambdaFunctionConfiguration,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import { explainAwsError, isAwsError } from './errors.js';
import type { PublishClients } from './clients.js';
import type { DeployProgress } from './progress.js';

const TRIGGER_EVENTS: S3Event[] = ['s3:ObjectCreated:*'];

export interface TriggerOptions {
  sourceBucket: string;
  /** Unqualified function ARN. */
  functionArn: string;
  alias: string;
  /** Only keys under this prefix trigger the function. */
  prefix?: string;
}

export interface TriggerResult {
  bucket: string;
  target: string;
  permission: 'added' | 'present';
  notification: 'added' | 'replaced' | 'unchanged';
  /** Ids (or targets) of the other configurations kept as they were. */
  kept: string[];
}

function parseFunctionArn(arn: string): { partition: string; region: string; account: string; name: string } {
  const m = /^arn:([^:]+):lambda:([^:]+):([^:]+):function:([^:]+)/.exec(arn);
  if (!m) throw new ImgpipeError(`not a Lambda function ARN: ${arn}`, 'BadArn');
  return { partition: m[1], region: m[2], account: m[3], name: m[4] };
}

/** Statement ids allow [A-Za-z0-9_-]; one per bucket, so re-runs find their own. */
const permissionStatementId = (bucket: string): string => `imgpipe-s3-${bucket.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 100);

export function permissionInput(opts: TriggerOptions) {
  const { partition, account, name } = parseFunctionArn(opts.functionArn);
  return {
    FunctionName: name,
    Qualifier: opts.alias,
    StatementId: permissionStatementId(opts.sourceBucket),
    Action: 'lambda:InvokeFunction',
    Principal: 's3.amazonaws.com',
    SourceArn: `arn:${partition}:s3:::${opts.sourceBucket}`,
    // Bucket names are global: without the account, a bucket of that name elsewhere could invoke us.
    SourceAccount: account,
  };
}

export function notificationFor(opts: TriggerOptions): LambdaFunctionConfiguration {
  const { name } = parseFunctionArn(opts.functionArn);
  return {
    Id: `imgpipe-trigger-${name}`,
    LambdaFunctionArn: `${opts.functionArn}:${opts.alias}`,
    Events: TRIGGER_EVENTS,
    ...(opts.prefix && { Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: opts.prefix }] } } }),
  };
}

type AnyConfiguration = { Id?: string; Events?: string[]; Filter?: LambdaFunctionConfiguration['Filter'] };

function rule(c: AnyConfiguration, name: 'prefix' | 'suffix'): string {
  return c.Filter?.Key?.FilterRules?.find((r) => r.Name?.toLowerCase() === name)?.Value ?? '';
}

const coversCreated = (events: string[] = []) => events.some((e) => e === 's3:ObjectCreated:*' || e.startsWith('s3:ObjectCreated:'));

/** S3 refuses two configurations whose event types and prefix and suffix filters overlap. */
function overlaps(a: AnyConfiguration, b: AnyConfiguration): boolean {
  if (!coversCreated(a.Events) || !coversCreated(b.Events)) return false;
  const [pa, pb, sa, sb] = [rule(a, 'prefix'), rule(b, 'prefix'), rule(a, 'suffix'), rule(b, 'suffix')];
  return (pa.startsWith(pb) || pb.startsWith(pa)) && (sa.endsWith(sb) || sb.endsWith(sa));
}

function sameConfiguration(a: LambdaFunctionConfiguration, b: LambdaFunctionConfiguration): boolean {
  const norm = (c: LambdaFunctionConfiguration) =>
    JSON.stringify([c.Id, c.LambdaFunctionArn, [...(c.Events ?? [])].sort(), rule(c, 'prefix'), rule(c, 'suffix')]);
  return norm(a) === norm(b);
}

interface MergedNotification {
  configuration: NotificationConfiguration;
  status: TriggerResult['notification'];
  kept: string[];
}

/**
 * Ours replaces an earlier configuration of ours (same Id) or one that already sends
 * ObjectCreated to this function (any qualifier); everything else is kept as it is. A kept
 * configuration that overlaps ours would make S3 refuse the whole document: say which one.
 */
function mergeNotification(existing: NotificationConfiguration, ours: LambdaFunctionConfiguration, functionArn: string): MergedNotification {
  const ourFunction = (arn = '') => arn === functionArn || arn.startsWith(`${functionArn}:`);
  const lambdas = existing.LambdaFunctionConfigurations ?? [];
  const replaced = lambdas.filter((c) => c.Id === ours.Id || (ourFunction(c.LambdaFunctionArn) && coversCreated(c.Events)));
  const others = lambdas.filter((c) => !replaced.includes(c));
  const label = (c: AnyConfiguration & Record<string, unknown>, kind: string) =>
    c.Id ?? `${kind} ${String(c.LambdaFunctionArn ?? c.QueueArn ?? c.TopicArn ?? '')}`;
  const kept = [
    ...(existing.TopicConfigurations ?? []).map((c) => ({ c: c as AnyConfiguration, id: label(c as never, 'topic') })),
    ...(existing.QueueConfigurations ?? []).map((c) => ({ c: c as AnyConfiguration, id: label(c as never, 'queue') })),
    ...others.map((c) => ({ c: c as AnyConfiguration, id: label(c as never, 'lambda') })),
  ];
  const clash = kept.find((k) => overlaps(k.c, ours));
  if (clash) {
    throw new ImgpipeError(
      `the bucket's notification "${clash.id}" already receives ObjectCreated events for overlapping keys; S3 allows one target per event and key range: use --prefix, or remove that configuration`,
      'OverlappingNotification',
    );
  }
  const ids = kept.map((k) => k.id);
  if (existing.EventBridgeConfiguration) ids.push('EventBridge');
  const unchanged = replaced.length === 1 && sameConfiguration(replaced[0], ours);
  const configuration: NotificationConfiguration = {
    ...(existing.TopicConfigurations?.length && { TopicConfigurations: existing.TopicConfigurations }),
    ...(existing.QueueConfigurations?.length && { QueueConfigurations: existing.QueueConfigurations }),
    LambdaFunctionConfigurations: [...others, ours],
    ...(existing.EventBridgeConfiguration && { EventBridgeConfiguration: existing.EventBridgeConfiguration }),
  };
  return { configuration, status: unchanged ? 'unchanged' : replaced.length ? 'replaced' : 'added', kept: ids };
}

interface PolicyDocument {
  Statement?: { Sid?: string }[];
}

export async function wireTrigger(opts: TriggerOptions, clients: PublishClients, steps: DeployProgress): Promise<TriggerResult> {
  const input = permissionInput(opts);
  const target = `${opts.functionArn}:${opts.alias}`;
  const permission = await steps.run(
    `Allowing s3://${opts.sourceBucket} to invoke ${input.FunctionName}:${opts.alias}`,
    async (): Promise<TriggerResult['permission']> => {
      const action = `lambda permissions of ${input.FunctionName}:${opts.alias}`;
      try {
        let policy: PolicyDocument = {};
        try {
          const got = await clients.lambda.send(new GetPolicyCommand({ FunctionName: input.FunctionName, Qualifier: opts.alias }));
          policy = JSON.parse(got.Policy ?? '{}') as PolicyDocument;
        } catch (err) {
          if (!isAwsError(err, 'ResourceNotFoundException')) throw err; // no policy yet
        }
        if (policy.Statement?.some((s) => s.Sid === input.StatementId)) return 'present';
        try {
          await clients.lambda.send(new AddPermissionCommand(input));
        } catch (err) {
          // Added by a concurrent run between our read and our write.
          if (isAwsError(err, 'ResourceConflictException') && /already exists/i.test((err as Error).message)) return 'present';
          throw err;
        }
        return 'added';
      } catch (err) {
        throw explainAwsError(err, action);
      }
    },
    (p) => (p === 'added' ? 'permission added' : 'permission already there'),
  );

  const merged = await steps.run(
    `Adding the ObjectCreated notification on s3://${opts.sourceBucket}`,
    async () => {
      const action = `s3 notification configuration of ${opts.sourceBucket}`;
      try {
        const { $metadata: _, ...existing } = await clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: opts.sourceBucket }));
        const result = mergeNotification(existing, notificationFor(opts), opts.functionArn);
        if (result.status !== 'unchanged') {
          await clients.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: opts.sourceBucket, NotificationConfiguration: result.configuration }));
        }
        return result;
      } catch (err) {
        throw explainAwsError(err, action);
      }
    },
    (m) => `${m.status === 'unchanged' ? 'already there' : m.status}; ${m.kept.length} other configuration(s) kept`,
  );
  return { bucket: opts.sourceBucket, target, permission, notification: merged.status, kept: merged.kept };
}
