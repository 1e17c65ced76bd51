// What a publish would send, for --dry-run: the same inputs publish.ts and trigger.ts build,
// with the zip shown by size and hash, and when each conditional call would happen. Nothing
// here talks to AWS, so what depends on the function's current state is stated as a condition.
import { formatBytes } from '../core/bytes.js';
import { LIMITS, needsS3Staging } from './limits.js';
import { stagingKey, versionDescription, type PublishablePackage, type PublishOptions } from './publish.js';
import { notificationFor, permissionInput } from './trigger.js';

export interface PlannedCall {
  call: string;
  params: Record<string, unknown>;
  when?: string;
}

/** What a publish would be given, plus where the trigger goes. */
export type PlanOptions = Pick<PublishOptions, 'functionName' | 'create' | 'role' | 'alias' | 'settings' | 'codeBucket'> & {
  region?: string;
  trigger?: { sourceBucket: string; prefix?: string };
};

export function planCalls(pkg: PublishablePackage, opts: PlanOptions): PlannedCall[] {
  const name = opts.functionName;
  const s = opts.settings;
  const staged = needsS3Staging(pkg.bytes);
  const zip = staged
    ? { S3Bucket: opts.codeBucket ?? '<--code-bucket>', S3Key: stagingKey(name, pkg) }
    : { ZipFile: `<${formatBytes(pkg.bytes)} zip, CodeSha256 ${pkg.codeSha256}>` };
  const waitUpdated = { call: 'lambda:GetFunctionConfiguration', params: { FunctionName: name }, when: 'polled by the SDK waiter until LastUpdateStatus is Successful' };
  const calls: PlannedCall[] = [{ call: 'lambda:GetFunction', params: { FunctionName: name } }];
  if (staged) {
    calls.push({ call: 's3:PutObject', params: { Bucket: zip.S3Bucket, Key: zip.S3Key }, when: `if the zip is over the ${formatBytes(LIMITS.directUploadBytes)} direct-upload limit` });
  }
  if (opts.create) {
    calls.push(
      {
        call: 'lambda:CreateFunction',
        params: { FunctionName: name, Role: opts.role, Runtime: s.Runtime, Handler: s.Handler, Architectures: s.Architectures, MemorySize: s.MemorySize, Timeout: s.Timeout, Environment: { Variables: s.variables }, Code: zip, Publish: false },
        when: 'if the function does not exist',
      },
      { call: 'lambda:GetFunctionConfiguration', params: { FunctionName: name }, when: 'after CreateFunction: polled by the SDK waiter until State is Active' },
    );
  }
  const exists = opts.create ? 'if the function exists and ' : 'if ';
  calls.push(
    { call: 'lambda:UpdateFunctionCode', params: { FunctionName: name, ...zip, Architectures: s.Architectures, Publish: false }, when: `${exists}its CodeSha256 or architecture differs (otherwise the upload is skipped)` },
    { ...waitUpdated, when: `after UpdateFunctionCode: ${waitUpdated.when}` },
    {
      call: 'lambda:UpdateFunctionConfiguration',
      params: { FunctionName: name, Runtime: s.Runtime, Handler: s.Handler, MemorySize: s.MemorySize, Timeout: s.Timeout, Environment: { Variables: s.variables } },
      when: `${exists}its configuration differs; these variables are merged over the ones it has`,
    },
    { ...waitUpdated, when: `after UpdateFunctionConfiguration: ${waitUpdated.when}` },
    { call: 'lambda:PublishVersion', params: { FunctionName: name, CodeSha256: pkg.codeSha256, Description: versionDescription(pkg) } },
    { call: 'lambda:GetAlias', params: { FunctionName: name, Name: opts.alias } },
    { call: 'lambda:CreateAlias', params: { FunctionName: name, Name: opts.alias, FunctionVersion: '<published version>' }, when: 'if the alias does not exist' },
    { call: 'lambda:UpdateAlias', params: { FunctionName: name, Name: opts.alias, FunctionVersion: '<published version>' }, when: 'if the alias points at another version' },
  );
  if (opts.trigger) {
    const functionArn = `arn:aws:lambda:${opts.region ?? '<region>'}:<account>:function:${name}`;
    const t = { ...opts.trigger, functionArn, alias: opts.alias };
    calls.push(
      { call: 'lambda:GetPolicy', params: { FunctionName: name, Qualifier: opts.alias } },
      { call: 'lambda:AddPermission', params: permissionInput(t), when: 'if the statement is not in the policy yet' },
      { call: 's3:GetBucketNotificationConfiguration', params: { Bucket: t.sourceBucket } },
      {
        call: 's3:PutBucketNotificationConfiguration',
        params: { Bucket: t.sourceBucket, NotificationConfiguration: { LambdaFunctionConfigurations: ['<the existing ones>', notificationFor(t)], '…': 'every existing topic, queue and EventBridge configuration, unchanged' } },
        when: 'if this configuration is missing or differs',
      },
    );
  }
  return calls;
}
