// `imgpipe deploy` against moto's server, through the built CLI as a user runs it. moto creates
// the buckets, roles and functions from infra/template.yaml for real; what it cannot check:
// - AWS::ApiGatewayV2::* are not implemented in moto's CloudFormation (no API, so no ApiUrl);
// - stacks made through a change set keep no Outputs (the CLI falls back to the stack's resources);
// - a change set lists changes from the template only: a parameter-only change (the variant
//   spec) shows no resource, so the CLI's own "~ parameter" line is what is asserted here;
// - the bucket notification from the template is not applied, nor is the queue policy that lets
//   S3 send (AWS::SQS::QueuePolicy is not implemented; test/deploy-infra.test.ts checks both in the
//   template), and no Lambda code runs (the mappings, their queues and roles are checked);
// - a bucket's LifecycleConfiguration in the template is not applied (moto's stack-made buckets
//   take only the encryption and tags): the lifecycle parameters are read back from the stack,
//   and the rules they make are checked in the template (test/deploy-infra.test.ts, cfn-lint);
// - a bucket policy's Condition is ignored, so the TLS-only Deny of the artifacts bucket deploy
//   makes would refuse every call here: the bucket is made beforehand, as an existing --code-bucket
//   would be (test/deploy-artifacts-moto.test.ts makes one as deploy does and reads it back);
// - lambda:GetAccountSettings is not implemented: the deploy says the bound went unchecked
//   (test/deploy-concurrency.test.ts checks the request and the verdict against a stub).
// test/deploy-stack.test.ts checks those parts against the project's own fake endpoint.
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetRolePolicyCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, GetPolicyCommand, LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { MOTO_ACCOUNT, MOTO_REGION, noApiLine, startDeployMoto, type DeployMoto, type Moto } from './helpers/moto.js';
import { have, TOOLS } from './helpers/tools.js';
import { readmeBlock } from './helpers/readme.js';

const HAS_MOTO = have(TOOLS.moto, 'deploy-stack-moto.test');

const ACCOUNT = MOTO_ACCOUNT;
const REGION = MOTO_REGION;
const SOURCE = `imgpipe-uploads-${ACCOUNT}-${REGION}`;
const DEST = `imgpipe-variants-${ACCOUNT}-${REGION}`;
// moto's stacks have no API (see above): every deploy that brings one up must say so and fail.
const NO_API = noApiLine;

describe.skipIf(!HAS_MOTO)('imgpipe deploy against moto', () => {
  let moto: Moto;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let clientConfig: DeployMoto['clientConfig'];
  // --no-cdn: moto accepts CloudFront resources but creates none, and the CdnUrl output's GetAtt on
  // the distribution fails there; the CDN is checked statically (test/deploy-infra.test.ts, cfn-lint).
  const deploy = (args: string[]) => runCli(['deploy', '--no-cdn', ...args], { cwd, env, timeoutMs: 300_000 });
  const config = async () => JSON.parse(await readFile(path.join(cwd, 'imgpipe.config.json'), 'utf8'));

  beforeAll(async () => {
    ({ moto, cwd, env, clientConfig } = await startDeployMoto('imgpipe-deploy-moto-'));
    // A user's own settings, which the deploy must keep.
    await writeFile(path.join(cwd, 'imgpipe.config.json'), JSON.stringify({ variants: [{ name: 'thumb', width: 320 }, { name: 'large', width: 1600, format: 'webp' }] }));
  }, 60_000);
  afterAll(async () => {
    await moto?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it("README's deploy line creates the stack: the functions with the spec, the queue and its dead-letter queue with their mappings, each role's exact rights, both buckets; the config gains the place and keeps the spec; no ApiUrl output fails the run, naming it", async () => {
    const [line] = await readmeBlock('Deploy to AWS');
    // README's line plus --no-cdn, as every deploy here (see `deploy` above).
    const r = await runCli([...line.replace(/^npm install && npx imgpipe /, '').split(' '), '--no-cdn'], { cwd, env, timeoutMs: 300_000 });
    expect(r.stderr).toBe(NO_API());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}API {8}\(no ApiUrl output\)$/m);
    expect(r.stdout).toMatch(/^ {2}config {5}\S+imgpipe\.config\.json: destBucket, queue, region, stack$/m);
    expect(r.stdout).not.toContain('next:');
    for (const want of [
      /^✓ Staging the resize zip: uploaded [\d.]+ MB: imgpipe\/resize-x86_64-[0-9a-f]{12}…\.zip$/m,
      /^✓ Change set for stack imgpipe \(create\): 35 changes$/m,
      /^ {2}\+ add {4}ResizeQueue \(AWS::SQS::Queue\)$/m,
      /^ {2}\+ add {4}FailureRecorderFunction \(AWS::Lambda::Function\)$/m,
      /^ {2}\+ add {4}SourceBucket \(AWS::S3::Bucket\)$/m,
      /^ {2}\+ add {4}ResizeFunction \(AWS::Lambda::Function\)$/m,
      /^ {2}\+ add {4}HttpApi \(AWS::ApiGatewayV2::Api\)$/m,
      /^ {2}CREATE_COMPLETE +imgpipe \(AWS::CloudFormation::Stack\)$/m,
      /^stack imgpipe created in us-east-1$/m,
      new RegExp(`^ {2}variants {3}s3://${DEST}$`, 'm'),
      /^ {2}note {7}no IMGPIPE_API_KEY: anyone with the URL may upload; set it and deploy again$/m,
    ]) {
      expect(r.stdout).toMatch(want);
    }

    const cfn = new CloudFormationClient(clientConfig);
    const lambda = new LambdaClient(clientConfig);
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    const iam = new IAMClient(clientConfig);
    const sqs = new SQSClient(clientConfig);
    try {
      const made = (await cfn.send(new DescribeStacksCommand({ StackName: 'imgpipe' }))).Stacks?.[0];
      expect(made?.StackStatus).toBe('CREATE_COMPLETE');
      // Deployed with the CDN off (see `deploy` above): the template's Cdn, and no CdnUrl output.
      expect(made?.Parameters?.find((p) => p.ParameterKey === 'Cdn')?.ParameterValue).toBe('false');
      expect((made?.Outputs ?? []).map((o) => o.OutputKey)).not.toContain('CdnUrl');
      const specOf = async (fn: string) => (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }))).Environment?.Variables?.IMGPIPE_SPEC;
      for (const fn of ['imgpipe-resize', 'imgpipe-presign']) expect(JSON.parse((await specOf(fn)) ?? '{}').variants.map((v: { name: string }) => v.name)).toEqual(['thumb', 'large']);
      const resize = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'imgpipe-resize' }));
      expect(resize.Environment?.Variables).toMatchObject({ DEST_BUCKET: DEST, SOURCE_BUCKET: SOURCE });
      for (const b of [SOURCE, DEST, `imgpipe-artifacts-${ACCOUNT}-${REGION}`]) await s3.send(new HeadBucketCommand({ Bucket: b }));
      // The staged zip is the packager's bytes under its content-addressed key.
      const shown = /imgpipe\/resize-x86_64-([0-9a-f]{12})…\.zip/.exec(r.stdout)![1];
      const artifacts = `imgpipe-artifacts-${ACCOUNT}-${REGION}`;
      const listed = (await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: 'imgpipe/' }))).Contents?.map((o) => o.Key ?? '') ?? [];
      expect(listed).toHaveLength(3);
      const key = listed.find((k) => k.startsWith(`imgpipe/resize-x86_64-${shown}`))!;
      const staged = await s3.send(new GetObjectCommand({ Bucket: artifacts, Key: key }));
      expect(`imgpipe/resize-x86_64-${createHash('sha256').update(await staged.Body!.transformToByteArray()).digest('hex')}.zip`).toBe(key);
      const roles = (await iam.send(new ListRolesCommand({}))).Roles?.map((x) => x.RoleName ?? '') ?? [];
      expect(roles.filter((n) => /ResizeRole|PresignRole|FailureRecorderRole/.test(n))).toHaveLength(3);
      // AWS sends a role's document URL-encoded JSON; moto sends a stack-made one as a Python repr.
      const statementsOf = async (role: string, policy: string) => {
        const text = decodeURIComponent((await iam.send(new GetRolePolicyCommand({ RoleName: roles.find((n) => n.includes(role))!, PolicyName: policy }))).PolicyDocument!);
        return (JSON.parse(text.startsWith("{'") ? text.replace(/'/g, '"') : text) as { Statement: { Sid: string; Action: string | string[]; Resource: string | string[] }[] }).Statement;
      };
      const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:`;
      // AWS's GetAtt of a log group ends in ':*'; moto's does not.
      const logGroup = (fn: string) => expect.stringMatching(new RegExp(`^arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/imgpipe-${fn}(:\\*)?$`));
      const queues = (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? [];
      expect(queues).toHaveLength(2);
      const attrs = async (url: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
      const withRedrive = await Promise.all(queues.map(attrs));
      const work = withRedrive.find((a) => a.RedrivePolicy)!;
      const dead = withRedrive.find((a) => !a.RedrivePolicy)!;
      // The queue of resizes: six times the function's 60 s, three receives, then the dead-letter queue, which keeps messages longer.
      expect(work).toMatchObject({ VisibilityTimeout: '360', MessageRetentionPeriod: '345600' });
      expect(JSON.parse(work.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dead.QueueArn, maxReceiveCount: 3 });
      expect(dead.MessageRetentionPeriod).toBe('1209600');
      expect([work.QueueArn, dead.QueueArn].every((arn) => arn?.startsWith(queueArn))).toBe(true);
      // The mappings: one message per resize with partial failures, at most ResizeConcurrency (5 by default) at once; the recorder on the dead-letter queue.
      const mapping = async (fn: string) => (await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: fn }))).EventSourceMappings ?? [];
      expect(await mapping('imgpipe-resize')).toEqual([expect.objectContaining({ EventSourceArn: work.QueueArn, BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 5 } })]);
      expect(await mapping('imgpipe-failure-recorder')).toEqual([expect.objectContaining({ EventSourceArn: dead.QueueArn, BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: 2 } })]);
      const recorder = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'imgpipe-failure-recorder' }));
      expect(recorder).toMatchObject({ Handler: 'index.handler', MemorySize: 256, Timeout: 30 });
      expect(recorder.Environment?.Variables).toMatchObject({ DEST_BUCKET: DEST, MAX_RECEIVE_COUNT: '3' });
      // Each role: exactly these actions on exactly these resources.
      expect(await statementsOf('ResizeRole', 'resize')).toEqual([
        { Sid: 'ReadUploads', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${SOURCE}/*` },
        { Sid: 'KnowDeletedUploads', Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${SOURCE}` },
        { Sid: 'WriteVariants', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${DEST}/*` },
        { Sid: 'ClearFailureRecords', Effect: 'Allow', Action: 's3:DeleteObject', Resource: `arn:aws:s3:::${DEST}/_imgpipe/failed/*` },
        { Sid: 'RemoveDeletedOutputs', Effect: 'Allow', Action: 's3:DeleteObject', Resource: [`arn:aws:s3:::${DEST}/*/????????/uploads/*`, `arn:aws:s3:::${DEST}/_imgpipe/done/uploads/*`] },
        { Sid: 'WriteAttemptNotes', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${DEST}/_imgpipe/attempts/*` },
        { Sid: 'ConsumeQueue', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: work.QueueArn },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroup('resize') },
      ]);
      expect(await statementsOf('FailureRecorderRole', 'failure-recorder')).toEqual([
        { Sid: 'ReadRecordsAndNotes', Effect: 'Allow', Action: 's3:GetObject', Resource: [`arn:aws:s3:::${DEST}/_imgpipe/done/*`, `arn:aws:s3:::${DEST}/_imgpipe/attempts/*`] },
        { Sid: 'WriteFailureRecords', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${DEST}/_imgpipe/failed/*` },
        { Sid: 'ConsumeDeadLetters', Effect: 'Allow', Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: dead.QueueArn },
        { Sid: 'Logs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroup('failure-recorder') },
      ]);
      // Nothing may invoke the resize directly: S3 sends to the queue.
      await expect(lambda.send(new GetPolicyCommand({ FunctionName: 'imgpipe-resize' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    } finally {
      for (const c of [cfn, lambda, s3, iam, sqs]) c.destroy();
    }
    const cfg = await config();
    expect(cfg).toMatchObject({ stack: 'imgpipe', region: REGION, destBucket: DEST });
    expect(cfg.variants).toEqual([{ name: 'thumb', width: 320 }, { name: 'large', width: 1600, format: 'webp' }]);
    // moto has no API Gateway v2 in CloudFormation: no API URL to write.
    expect(cfg.api).toBeUndefined();
    expect(cfg.cdn).toBeUndefined();
    expect(r.stdout).not.toMatch(/^ {2}CDN /m);
  }, 300_000);

  it('a second deploy of the same sources has nothing to change and uploads nothing', async () => {
    const r = await deploy(['--json']);
    expect(r.stderr).toBe(NO_API());
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ ok: false, action: 'unchanged', missingOutputs: ['ApiUrl'] });
    expect(s.artifacts.map((a: { status: string }) => a.status)).toEqual(['present', 'present', 'present']);
    expect(s.calls).not.toContain('s3:PutObject');
    expect(s.calls).not.toContain('cloudformation:CreateChangeSet');
    expect(s.calls).not.toContain('cloudformation:ExecuteChangeSet');
    const text = await deploy([]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/nothing to change/);
  }, 300_000);

  it('a new variant spec changes the VariantSpec parameter, and both functions run the new spec', async () => {
    const r = await deploy(['--widths', '200,800']);
    expect(r.stderr).toBe(NO_API());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}~ parameter VariantSpec$/m);
    expect(r.stdout).not.toMatch(/parameter (SourceBucketName|DestBucketName|ResizeCodeKey|PresignCodeKey)/);
    expect(r.stdout).toMatch(/stack imgpipe updated in us-east-1/);
    const lambda = new LambdaClient(clientConfig);
    try {
      for (const fn of ['imgpipe-resize', 'imgpipe-presign']) {
        const env = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }))).Environment?.Variables;
        expect(JSON.parse(env?.IMGPIPE_SPEC ?? '{}').variants.map((v: { width: number }) => v.width)).toEqual([200, 800]);
      }
    } finally {
      lambda.destroy();
    }
  }, 300_000);

  it('--dry-run shows the change and changes nothing', async () => {
    const r = await deploy(['--widths', '100', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.action).toBe('dry-run');
    expect(s.changedParameters).toEqual(['VariantSpec']);
    expect(s.calls).toContain('cloudformation:DeleteChangeSet');
    expect(s.calls).not.toContain('cloudformation:ExecuteChangeSet');
    expect(s.calls).not.toContain('s3:PutObject');
    const lambda = new LambdaClient(clientConfig);
    try {
      const env = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'imgpipe-resize' }))).Environment?.Variables;
      expect(JSON.parse(env?.IMGPIPE_SPEC ?? '{}').variants.map((v: { width: number }) => v.width)).toEqual([200, 800]);
    } finally {
      lambda.destroy();
    }
  }, 300_000);

  it("--resize-concurrency sets the resize mapping's maximum concurrency, a later deploy keeps it, and one outside SQS's 2-1000 is refused", async () => {
    const refused = await deploy(['--widths', '200,800', '--resize-concurrency', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--resize-concurrency: "1" must be a whole number from 2 to 1000');
    const r = await deploy(['--widths', '200,800', '--resize-concurrency', '8']);
    expect(r.stderr).toBe(NO_API());
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}~ parameter ResizeConcurrency$/m);
    // moto has no GetAccountSettings: the deploy says the bound went unchecked, and goes on.
    expect(r.stdout).toMatch(/^ {2}note: ResizeConcurrency 8 not checked against the account: /m);
    const lambda = new LambdaClient(clientConfig);
    try {
      const [m] = (await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'imgpipe-resize' }))).EventSourceMappings ?? [];
      expect(m.ScalingConfig).toEqual({ MaximumConcurrency: 8 });
    } finally {
      lambda.destroy();
    }
    const again = await deploy(['--widths', '200,800', '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'unchanged', parameters: { ResizeConcurrency: '8' } });
  }, 300_000);

  it('the lifecycle flags reach the stack, a later deploy keeps them, and STANDARD_IA before 30 days or days that are not a number are refused before any change', async () => {
    const cfn = new CloudFormationClient(clientConfig);
    const parameters = async () => {
      const stack = (await cfn.send(new DescribeStacksCommand({ StackName: 'imgpipe' }))).Stacks?.[0];
      return Object.fromEntries((stack?.Parameters ?? []).filter((p) => /^(Originals|FailedRecord)/.test(p.ParameterKey ?? '')).map((p) => [p.ParameterKey, p.ParameterValue]));
    };
    try {
      // The stack so far: the template's defaults, nothing moves, nothing expires.
      expect(await parameters()).toEqual({ OriginalsTransitionDays: '0', OriginalsStorageClass: 'STANDARD_IA', FailedRecordDays: '0' });

      const refused = await deploy(['--widths', '200,800', '--originals-transition-days', '10']);
      expect(refused.stderr).toBe('imgpipe: --originals-transition-days: S3 moves nothing to STANDARD_IA before 30 days (10 given); pass 30 or more, or --originals-storage-class INTELLIGENT_TIERING or GLACIER_IR\n');
      expect(refused.code).toBe(2);
      const notDays = await deploy(['--widths', '200,800', '--failed-record-days', 'soon']);
      expect(notDays.stderr).toBe('imgpipe: --failed-record-days: "soon" must be a whole number of days (0: never)\n');
      expect(notDays.code).toBe(2);
      expect(await parameters()).toEqual({ OriginalsTransitionDays: '0', OriginalsStorageClass: 'STANDARD_IA', FailedRecordDays: '0' });

      const r = await deploy(['--widths', '200,800', '--originals-transition-days', '30', '--failed-record-days', '90']);
      expect(r.stderr).toBe(NO_API());
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^ {2}~ parameter OriginalsTransitionDays$/m);
      expect(r.stdout).toMatch(/^ {2}~ parameter FailedRecordDays$/m);
      expect(r.stdout).not.toMatch(/parameter OriginalsStorageClass/);
      expect(await parameters()).toEqual({ OriginalsTransitionDays: '30', OriginalsStorageClass: 'STANDARD_IA', FailedRecordDays: '90' });
      // A deploy without the flags keeps them; another class needs no other flag.
      const again = await deploy(['--widths', '200,800', '--json']);
      expect(JSON.parse(again.stdout)).toMatchObject({ action: 'unchanged', parameters: { OriginalsTransitionDays: '30', OriginalsStorageClass: 'STANDARD_IA', FailedRecordDays: '90' } });
      const glacier = await deploy(['--widths', '200,800', '--originals-storage-class', 'GLACIER_IR', '--failed-record-days', '0', '--json']);
      expect(JSON.parse(glacier.stdout)).toMatchObject({ action: 'updated', changedParameters: ['OriginalsStorageClass', 'FailedRecordDays'] });
      expect(await parameters()).toEqual({ OriginalsTransitionDays: '30', OriginalsStorageClass: 'GLACIER_IR', FailedRecordDays: '0' });
    } finally {
      cfn.destroy();
    }
  }, 300_000);

  it('--delete removes the stack and keeps both buckets with their objects; the config forgets the stack, keeps the rest', async () => {
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    try {
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: 'uploads/abc/photo.jpg', Body: 'a photo' }));
      // Without a terminal to ask on, --delete alone deletes nothing.
      const refused = await deploy(['--delete']);
      expect(refused.stderr).toBe('imgpipe: --delete deletes the stack imgpipe: pass --yes as well (there is no terminal to ask on); its buckets and photos are kept\n');
      expect(refused.code).toBe(2);
      const cfn = new CloudFormationClient(clientConfig);
      try {
        expect((await cfn.send(new DescribeStacksCommand({ StackName: 'imgpipe' }))).Stacks?.[0].StackStatus).toMatch(/_COMPLETE$/);
      } finally {
        cfn.destroy();
      }
      const r = await deploy(['--delete', '--yes']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('stack imgpipe deleted from us-east-1');
      expect(r.stdout).toContain(`kept (with their objects): s3://${SOURCE}, s3://${DEST}`);
      expect(r.stdout).toContain(`kept: the artifacts bucket s3://imgpipe-artifacts-${ACCOUNT}-${REGION} (the Lambda zips, for every stack of this account and region)`);
      expect(r.stdout).not.toContain('aws s3 rb');
      const kept = await s3.send(new GetObjectCommand({ Bucket: SOURCE, Key: 'uploads/abc/photo.jpg' }));
      expect(await kept.Body?.transformToString()).toBe('a photo');
      await s3.send(new HeadBucketCommand({ Bucket: DEST }));
    } finally {
      s3.destroy();
    }
    const cfg = await config();
    expect(cfg.stack).toBeUndefined();
    expect(cfg).toMatchObject({ region: REGION, destBucket: DEST, variants: [{ name: 'thumb', width: 320 }, { name: 'large', width: 1600, format: 'webp' }] });
    const again = await deploy(['--delete', '--yes']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no stack imgpipe in us-east-1: nothing to delete');
  }, 300_000);

  it('deploying again over the kept buckets stops before CloudFormation, naming the bucket and the flag', async () => {
    const r = await deploy([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the bucket ${SOURCE} already exists (kept from an earlier stack?)`);
    expect(r.stderr).toContain('--source-bucket NEW-NAME');
    const ok = await deploy(['--source-bucket', 'imgpipe-uploads-second', '--dest-bucket', 'imgpipe-variants-second', '--json']);
    expect(ok.code).toBe(1);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: false, action: 'created', outputs: { sourceBucket: 'imgpipe-uploads-second', destBucket: 'imgpipe-variants-second' } });
    expect(await config()).toMatchObject({ stack: 'imgpipe', destBucket: 'imgpipe-variants-second' });
  }, 300_000);

  it('--delete --empty-buckets needs --yes without a terminal, then removes both buckets and their objects', async () => {
    const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
    try {
      for (let i = 0; i < 3; i++) await s3.send(new PutObjectCommand({ Bucket: 'imgpipe-uploads-second', Key: `uploads/k${i}/p.jpg`, Body: `photo ${i}` }));
      const refused = await deploy(['--delete', '--empty-buckets']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--empty-buckets deletes every photo in both buckets: pass --yes as well');
      await s3.send(new HeadBucketCommand({ Bucket: 'imgpipe-uploads-second' })); // untouched
      const r = await deploy(['--delete', '--empty-buckets', '--yes']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('removed s3://imgpipe-uploads-second and its 3 objects');
      expect(r.stdout).toContain('removed s3://imgpipe-variants-second and its 0 objects');
      for (const b of ['imgpipe-uploads-second', 'imgpipe-variants-second']) {
        await expect(s3.send(new HeadBucketCommand({ Bucket: b }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      }
      // The first stack's kept buckets are not this stack's: still there.
      await s3.send(new HeadBucketCommand({ Bucket: SOURCE }));
    } finally {
      s3.destroy();
    }
  }, 300_000);
});
