// The publish flow against a local endpoint that speaks the Lambda and S3 control APIs: the
// exact calls, in order, with their parameters; the waiters; the unchanged-code skip; the alias;
// the notification merge; and the errors a user meets first.
import { GetBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { explainAwsError } from '../src/deploy/errors.js';
import { functionSettings } from '../src/deploy/function-config.js';
import { publishFunction, stagingKey, type PublishablePackage, type PublishOptions } from '../src/deploy/publish.js';
import { runDeploy } from '../src/deploy/run.js';
import { DeployProgress } from '../src/deploy/progress.js';
import { wireTrigger } from '../src/deploy/trigger.js';
import { deterministicZip } from '../src/deploy/zip.js';
import { createS3Client } from '../src/s3/client.js';
import { ACCOUNT, CREDENTIALS, REGION, startFakeAws, type FakeAws } from './helpers/deploy-fake-aws.js';

const NAME = 'imgpipe-resize';
const ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${NAME}`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/imgpipe`;
const WAIT = { minDelay: 0.005, maxDelay: 0.01, maxWaitTime: 10 };
const settings = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: 'arm64', destBucket: 'imgpipe-dest', sourceBucket: 'imgpipe-source', spec: DEFAULT_SPEC });

async function pkg(source = 'export const handler = async () => 1;'): Promise<PublishablePackage> {
  const z = await deterministicZip([{ name: 'index.mjs', data: Buffer.from(source) }]);
  return { ...z, handler: 'resize' };
}

const S3_NOTIFICATION = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</NotificationConfiguration>`;
const OTHERS = [
  '<TopicConfiguration><Id>restores</Id><Topic>arn:aws:sns:us-east-1:123456789012:restores</Topic><Event>s3:ObjectRestore:Completed</Event></TopicConfiguration>',
  '<QueueConfiguration><Id>audit</Id><Queue>arn:aws:sqs:us-east-1:123456789012:audit</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>',
  '<CloudFunctionConfiguration><Id>avatars</Id><CloudFunction>arn:aws:lambda:us-east-1:210987654321:function:avatars</CloudFunction><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>Prefix</Name><Value>avatars/</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration>',
  '<EventBridgeConfiguration></EventBridgeConfiguration>',
].join('');

describe('deploy-lambda publish', () => {
  let fake: FakeAws;
  let clients: { lambda: LambdaClient; s3: ReturnType<typeof createS3Client> };
  const makeClients = (maxAttempts = 3) => ({
    lambda: new LambdaClient({ endpoint: fake.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts }),
    s3: createS3Client({ endpoint: fake.endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts }),
  });
  const publish = (p: PublishablePackage, over: Partial<PublishOptions> = {}, steps = new DeployProgress(), c = clients) =>
    publishFunction(p, { functionName: NAME, create: false, alias: 'live', settings, waiter: WAIT, roleRetry: { attempts: 2, delayMs: 5 }, ...over }, c, steps);
  const body = (op: string, nth = 0) => fake.calls.filter((c) => c.op === op)[nth]?.body;

  beforeAll(async () => {
    fake = await startFakeAws();
    clients = makeClients();
  });
  afterAll(async () => {
    clients.lambda.destroy();
    clients.s3.destroy();
    await fake?.close();
  });
  beforeEach(() => {
    fake.reset();
    fake.pollsPerUpdate = 2;
  });

  it('creates a missing function with --create, waits until it is Active, publishes version 1 and creates the alias', async () => {
    const p = await pkg();
    const result = await publish(p, { create: true, role: ROLE });
    expect(fake.ops()).toEqual([
      'lambda:GetFunction',
      'lambda:CreateFunction',
      'lambda:GetFunctionConfiguration', // Pending
      'lambda:GetFunctionConfiguration', // Active
      'lambda:PublishVersion',
      'lambda:GetAlias',
      'lambda:CreateAlias',
    ]);
    expect(fake.calls.every((c) => c.service === 'lambda')).toBe(true);
    expect(body('lambda:CreateFunction')).toEqual({
      FunctionName: NAME,
      Role: ROLE,
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Architectures: ['arm64'],
      MemorySize: 1769,
      Timeout: 60,
      Environment: {
        Variables: {
          MALLOC_ARENA_MAX: '1',
          IMGPIPE_SPEC: JSON.stringify(DEFAULT_SPEC),
          DEST_BUCKET: 'imgpipe-dest',
          SOURCE_BUCKET: 'imgpipe-source',
        },
      },
      Code: { ZipFile: { bytes: p.bytes, sha256: p.codeSha256 } },
      Description: `imgpipe resize ${p.sha256.slice(0, 12)}`,
      Publish: false,
    });
    expect(body('lambda:PublishVersion')).toEqual({ CodeSha256: p.codeSha256, Description: `imgpipe resize ${p.sha256.slice(0, 12)}` });
    expect(body('lambda:CreateAlias')).toEqual({ Name: 'live', FunctionVersion: '1' });
    expect(result).toEqual({
      functionName: NAME,
      functionArn: ARN,
      code: { status: 'created', codeSha256: p.codeSha256 },
      configuration: { status: 'created' },
      version: '1',
      alias: { name: 'live', arn: `${ARN}:live`, version: '1', status: 'created' },
    });
  });

  it('updates the code, waits, merges the configuration, publishes and moves the alias', async () => {
    const old = await pkg('old');
    const fn = fake.addFunction(NAME, { zip: old.zip, arch: 'x86_64', memory: 512, env: { CACHE_CONTROL: 'public, max-age=60', DEST_BUCKET: 'old-dest' } });
    fn.versions.push({ version: '1', codeSha256: old.codeSha256, config: '' });
    fn.aliases.set('live', '1');
    const p = await pkg();
    const result = await publish(p);
    expect(fake.ops()).toEqual([
      'lambda:GetFunction',
      'lambda:UpdateFunctionCode',
      'lambda:GetFunctionConfiguration', // InProgress
      'lambda:GetFunctionConfiguration', // Successful
      'lambda:UpdateFunctionConfiguration',
      'lambda:GetFunctionConfiguration',
      'lambda:GetFunctionConfiguration',
      'lambda:PublishVersion',
      'lambda:GetAlias',
      'lambda:UpdateAlias',
    ]);
    expect(body('lambda:UpdateFunctionCode')).toEqual({ ZipFile: { bytes: p.bytes, sha256: p.codeSha256 }, Architectures: ['arm64'], Publish: false });
    expect(fake.calls.find((c) => c.op === 'lambda:UpdateFunctionCode')).toMatchObject({ method: 'PUT', path: `/2015-03-31/functions/${NAME}/code` });
    expect(body('lambda:UpdateFunctionConfiguration')).toEqual({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 60,
      Environment: {
        Variables: {
          CACHE_CONTROL: 'public, max-age=60', // set by someone else: kept
          DEST_BUCKET: 'imgpipe-dest', // ours: replaced
          MALLOC_ARENA_MAX: '1',
          IMGPIPE_SPEC: JSON.stringify(DEFAULT_SPEC),
          SOURCE_BUCKET: 'imgpipe-source',
        },
      },
    });
    expect(body('lambda:UpdateAlias')).toEqual({ FunctionVersion: '2' });
    expect(result.code).toEqual({ status: 'updated', codeSha256: p.codeSha256, previousCodeSha256: old.codeSha256 });
    expect(result.configuration.status).toBe('updated');
    expect(result.alias).toEqual({ name: 'live', arn: `${ARN}:live`, version: '2', status: 'moved', previousVersion: '1' });
    expect(fn.config.Architectures).toEqual(['arm64']);
  });

  it('skips the upload when the deployed CodeSha256 is already this package, and changes nothing else', async () => {
    const p = await pkg();
    await publish(p, { create: true, role: ROLE });
    fake.calls.length = 0;
    const steps = new DeployProgress();
    const again = await publish(p, {}, steps);
    expect(fake.ops()).toEqual(['lambda:GetFunction', 'lambda:PublishVersion', 'lambda:GetAlias']);
    expect(again).toMatchObject({ code: { status: 'unchanged' }, configuration: { status: 'unchanged' }, version: '1', alias: { status: 'unchanged', version: '1' } });
    expect(steps.records).toContainEqual({ step: 'Uploading code', status: 'skipped', detail: expect.stringContaining(`unchanged (deployed CodeSha256 ${p.codeSha256}`) });
  });

  it('the same code for another architecture is uploaded (presign zips are the same for both)', async () => {
    const p = await pkg();
    fake.addFunction(NAME, { zip: p.zip, arch: 'x86_64' });
    await publish(p);
    expect(body('lambda:UpdateFunctionCode')).toMatchObject({ Architectures: ['arm64'] });
  });

  it('waits for an update already in progress before writing anything', async () => {
    const fn = fake.addFunction(NAME, { zip: (await pkg('old')).zip });
    fn.config.LastUpdateStatus = 'InProgress';
    fn.pollsLeft = 2;
    await publish(await pkg());
    expect(fake.ops().slice(0, 4)).toEqual(['lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode']);
  });

  it('reports a failed update with Lambda\'s reason and publishes nothing', async () => {
    fake.addFunction(NAME, { zip: (await pkg('old')).zip });
    fake.failNextUpdate(NAME, 'Lambda was unable to unzip the package');
    await expect(publish(await pkg())).rejects.toMatchObject({ code: 'InvalidImage', message: expect.stringMatching(/code update of imgpipe-resize failed: Lambda was unable to unzip/) });
    expect(fake.ops()).not.toContain('lambda:PublishVersion');
  });

  it('refuses a missing function without --create, after one read', async () => {
    await expect(publish(await pkg())).rejects.toMatchObject({ code: 'FunctionNotFound', message: 'function imgpipe-resize does not exist: pass --create --role ARN to create it' });
    expect(fake.ops()).toEqual(['lambda:GetFunction']);
  });

  it('says clearly when Lambda cannot assume the role (after retrying for IAM propagation)', async () => {
    await expect(publish(await pkg(), { create: true, role: `arn:aws:iam::${ACCOUNT}:role/not-trusted` })).rejects.toMatchObject({
      code: 'RoleNotAssumable',
      message: expect.stringMatching(/role arn:aws:iam::123456789012:role\/not-trusted cannot be assumed by Lambda: .*lambda\.amazonaws\.com/),
    });
    expect(fake.ops()).toEqual(['lambda:GetFunction', 'lambda:CreateFunction', 'lambda:CreateFunction']);
  });

  it('retries throttling, and says so when it persists', async () => {
    fake.addFunction(NAME, { zip: (await pkg('old')).zip });
    fake.failNext('lambda:UpdateFunctionCode', { status: 429, type: 'TooManyRequestsException', message: 'Rate exceeded' });
    await publish(await pkg());
    expect(fake.ops().slice(0, 3)).toEqual(['lambda:GetFunction', 'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionCode']);

    fake.reset();
    fake.addFunction(NAME, { zip: (await pkg('old')).zip });
    fake.failNext('lambda:UpdateFunctionCode', { status: 429, type: 'TooManyRequestsException', message: 'Rate exceeded' }, 5);
    const two = makeClients(2);
    try {
      await expect(publish(await pkg(), {}, new DeployProgress(), two)).rejects.toMatchObject({
        code: 'Throttled',
        message: 'lambda:UpdateFunctionCode on imgpipe-resize: still throttled by AWS after 2 attempts; try again in a minute',
      });
    } finally {
      two.lambda.destroy();
      two.s3.destroy();
    }
  });

  it('names the call that was denied', async () => {
    fake.failNext('lambda:GetFunction', { status: 403, type: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:GetFunction' });
    await expect(publish(await pkg())).rejects.toMatchObject({
      code: 'AccessDenied',
      message: expect.stringMatching(/^access denied: lambda:GetFunction on imgpipe-resize is not allowed for these credentials \(User: .*ci is not authorized/),
    });
  });

  it('refuses, before any write, a function its handler could not start with', async () => {
    fake.addFunction(NAME, { zip: (await pkg('old')).zip, env: { SOURCE_BUCKET: 'imgpipe-source' } });
    const noDest = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: 'arm64', spec: DEFAULT_SPEC });
    await expect(publish(await pkg(), { settings: noDest })).rejects.toMatchObject({ code: 'MissingSetting', message: 'imgpipe-resize would have no DEST_BUCKET: pass --dest-bucket' });
    const loop = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: 'arm64', destBucket: 'imgpipe-source' });
    await expect(publish(await pkg(), { settings: loop })).rejects.toMatchObject({ code: 'RecursiveTrigger' });
    const huge = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: 'arm64', destBucket: 'd', env: { NOTES: 'x'.repeat(4100) } });
    await expect(publish(await pkg(), { settings: huge })).rejects.toMatchObject({ code: 'EnvironmentTooLarge', message: expect.stringMatching(/over Lambda's 4096-byte limit/) });
    expect(fake.ops()).toEqual(['lambda:GetFunction', 'lambda:GetFunction', 'lambda:GetFunction']);
  });

  it('maps the other AWS failures to one clear line each', () => {
    expect(explainAwsError(Object.assign(new Error('Region is missing'), { name: 'Error' }), 'x')).toMatchObject({ code: 'NoRegion', message: 'no AWS region: pass --region or set AWS_REGION' });
    expect(explainAwsError(Object.assign(new Error('The security token included in the request is invalid.'), { name: 'UnrecognizedClientException' }), 'lambda:GetFunction on f')).toMatchObject({
      code: 'InvalidCredentials',
      message: 'AWS rejected the credentials during lambda:GetFunction on f: The security token included in the request is invalid.',
    });
    expect(explainAwsError(Object.assign(new Error('expired'), { name: 'ExpiredTokenException' }), 'x')).toMatchObject({ code: 'ExpiredCredentials' });
    expect(explainAwsError(Object.assign(new Error('boom'), { name: 'ServiceException', $metadata: { httpStatusCode: 500 } }), 'lambda:PublishVersion on f')).toMatchObject({
      code: 'ServiceException',
      message: 'lambda:PublishVersion on f failed: ServiceException: boom',
    });
  });

  it('stages a zip over the direct-upload limit in S3 and points Lambda at it; refuses without a bucket', async () => {
    const p = await pkg();
    await expect(publish(p, { directUploadLimit: 100 })).rejects.toMatchObject({ code: 'NeedsCodeBucket', message: expect.stringMatching(/--code-bucket/) });
    expect(fake.ops()).toEqual([]);

    fake.addBucket('imgpipe-artifacts');
    fake.addFunction(NAME, { zip: (await pkg('old')).zip });
    const result = await publish(p, { directUploadLimit: 100, codeBucket: 'imgpipe-artifacts' });
    const key = stagingKey(NAME, p);
    expect(fake.ops().slice(0, 3)).toEqual(['lambda:GetFunction', 's3:PutObject', 'lambda:UpdateFunctionCode']);
    expect(body('s3:PutObject')).toEqual({ key, bytes: p.bytes, sha256: p.codeSha256 });
    expect(body('lambda:UpdateFunctionCode')).toEqual({ S3Bucket: 'imgpipe-artifacts', S3Key: key, Architectures: ['arm64'], Publish: false });
    expect(result.code.stagedAt).toBe(`s3://imgpipe-artifacts/${key}`);
    expect(fake.functions.get(NAME)!.config.CodeSha256).toBe(p.codeSha256);
  });

  describe('the S3 trigger', () => {
    const trigger = { sourceBucket: 'imgpipe-source', functionArn: ARN, alias: 'live', prefix: 'uploads/' };
    const readBack = async () => {
      const { $metadata: _, ...config } = await clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'imgpipe-source' }));
      return config;
    };

    beforeEach(async () => {
      await publish(await pkg(), { create: true, role: ROLE });
      fake.calls.length = 0;
    });

    it('allows S3 to invoke the alias and adds the notification, keeping every configuration already there', async () => {
      fake.addBucket('imgpipe-source', S3_NOTIFICATION(OTHERS));
      const before = await readBack();
      fake.calls.length = 0;
      const result = await wireTrigger(trigger, clients, new DeployProgress());
      expect(fake.ops()).toEqual(['lambda:GetPolicy', 'lambda:AddPermission', 's3:GetBucketNotificationConfiguration', 's3:PutBucketNotificationConfiguration']);
      expect(fake.calls[1]).toMatchObject({
        query: { Qualifier: 'live' },
        body: { StatementId: 'imgpipe-s3-imgpipe-source', Action: 'lambda:InvokeFunction', Principal: 's3.amazonaws.com', SourceArn: 'arn:aws:s3:::imgpipe-source', SourceAccount: ACCOUNT },
      });
      expect(fake.calls[3].service).toBe('s3');
      const after = await readBack();
      expect(after.TopicConfigurations).toEqual(before.TopicConfigurations);
      expect(after.QueueConfigurations).toEqual(before.QueueConfigurations);
      expect(after.EventBridgeConfiguration).toEqual({});
      expect(after.LambdaFunctionConfigurations).toEqual([
        before.LambdaFunctionConfigurations![0],
        { Id: `imgpipe-trigger-${NAME}`, LambdaFunctionArn: `${ARN}:live`, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'uploads/' }] } } },
      ]);
      expect(result).toEqual({ bucket: 'imgpipe-source', target: `${ARN}:live`, permission: 'added', notification: 'added', kept: ['restores', 'audit', 'avatars', 'EventBridge'] });
    });

    it('is idempotent: a second run reads and writes nothing', async () => {
      fake.addBucket('imgpipe-source', S3_NOTIFICATION(OTHERS));
      await wireTrigger(trigger, clients, new DeployProgress());
      const stored = fake.buckets.get('imgpipe-source')!.notification;
      fake.calls.length = 0;
      const again = await wireTrigger(trigger, clients, new DeployProgress());
      expect(fake.ops()).toEqual(['lambda:GetPolicy', 's3:GetBucketNotificationConfiguration']);
      expect(again).toMatchObject({ permission: 'present', notification: 'unchanged' });
      expect(fake.buckets.get('imgpipe-source')!.notification).toBe(stored);
      expect(fake.functions.get(NAME)!.policies.get('live')).toHaveLength(1);
    });

    it('takes over a configuration that already sent ObjectCreated to this function ($LATEST)', async () => {
      fake.addBucket('imgpipe-source', S3_NOTIFICATION(`<CloudFunctionConfiguration><Id>by-hand</Id><CloudFunction>${ARN}</CloudFunction><Event>s3:ObjectCreated:Put</Event></CloudFunctionConfiguration>`));
      const result = await wireTrigger({ ...trigger, prefix: undefined }, clients, new DeployProgress());
      expect(result.notification).toBe('replaced');
      expect((await readBack()).LambdaFunctionConfigurations).toEqual([{ Id: `imgpipe-trigger-${NAME}`, LambdaFunctionArn: `${ARN}:live`, Events: ['s3:ObjectCreated:*'] }]);
    });

    it('refuses to clobber another target for the same keys, and writes nothing', async () => {
      const theirs = S3_NOTIFICATION('<QueueConfiguration><Id>ingest</Id><Queue>arn:aws:sqs:us-east-1:123456789012:ingest</Queue><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>Prefix</Name><Value>uploads/2025/</Value></FilterRule></S3Key></Filter></QueueConfiguration>');
      fake.addBucket('imgpipe-source', theirs);
      await expect(wireTrigger(trigger, clients, new DeployProgress())).rejects.toMatchObject({ code: 'OverlappingNotification', message: expect.stringMatching(/"ingest" already receives ObjectCreated/) });
      expect(fake.ops()).not.toContain('s3:PutBucketNotificationConfiguration');
      expect(fake.buckets.get('imgpipe-source')!.notification).toBe(theirs);
    });

    it('treats a permission added concurrently (409 already exists) as present', async () => {
      fake.addBucket('imgpipe-source');
      await wireTrigger(trigger, clients, new DeployProgress());
      fake.calls.length = 0;
      // Our read missed the statement another run had just added.
      fake.failNext('lambda:GetPolicy', { status: 404, type: 'ResourceNotFoundException', message: 'The resource you requested does not exist.' });
      const result = await wireTrigger(trigger, clients, new DeployProgress());
      expect(fake.ops().slice(0, 2)).toEqual(['lambda:GetPolicy', 'lambda:AddPermission']);
      expect(result.permission).toBe('present');
    });

    it("refuses a configuration beside ours that S3 would refuse (same event type, overlapping prefix and suffix), and keeps one that is not", async () => {
      // S3 answers with capitalised rule names, whatever was sent; ours has the prefix uploads/ and no suffix.
      const queue = (event: string, prefix: string, suffix: string) =>
        S3_NOTIFICATION(
          `<QueueConfiguration><Id>q</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>${event}</Event><Filter><S3Key>` +
            `<FilterRule><Name>Prefix</Name><Value>${prefix}</Value></FilterRule><FilterRule><Name>Suffix</Name><Value>${suffix}</Value></FilterRule></S3Key></Filter></QueueConfiguration>`,
        );
      for (const [event, prefix, suffix, outcome] of [
        ['s3:ObjectCreated:Put', 'uploads/a/', '', 'refused'],
        ['s3:ObjectCreated:*', '', '', 'refused'],
        ['s3:ObjectCreated:*', 'uploads/', '.png', 'refused'],
        ['s3:ObjectCreated:*', 'other/', '', 'added'],
        ['s3:ObjectRemoved:*', 'uploads/', '', 'added'],
      ] as const) {
        fake.addBucket('imgpipe-source', queue(event, prefix, suffix));
        const got = await wireTrigger(trigger, clients, new DeployProgress()).then(
          (r) => r.notification,
          (err: { code?: string; message: string }) => (err.code === 'OverlappingNotification' ? 'refused' : err.message),
        );
        expect({ event, prefix, suffix, got }).toEqual({ event, prefix, suffix, got: outcome });
      }
    });

    it('a missing source bucket is one clear error', async () => {
      await expect(wireTrigger(trigger, clients, new DeployProgress())).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/^s3 notification configuration of imgpipe-source: /) });
    });
  });

  it('runDeploy: builds, publishes and wires in one call, and lists the calls it made', async () => {
    fake.pollsPerUpdate = 1;
    fake.addBucket('imgpipe-source');
    const summary = await runDeploy(
      { handler: 'presign', arch: 'arm64', runtime: 'nodejs22.x', dryRun: false, functionName: 'imgpipe-presign', create: true, role: ROLE, alias: 'live', sourceBucket: 'imgpipe-source', env: { API_KEY: 'k' }, spec: DEFAULT_SPEC },
      new DeployProgress(),
      { clients, waiter: WAIT },
    );
    expect(summary.calls).toEqual(fake.ops());
    expect(summary.calls).toEqual(['lambda:GetFunction', 'lambda:CreateFunction', 'lambda:GetFunctionConfiguration', 'lambda:PublishVersion', 'lambda:GetAlias', 'lambda:CreateAlias']);
    expect(summary.trigger).toBeUndefined(); // presign has no S3 trigger
    expect(body('lambda:CreateFunction')).toMatchObject({ MemorySize: 512, Timeout: 10, Environment: { Variables: { SOURCE_BUCKET: 'imgpipe-source', API_KEY: 'k' } } });
    // The presign API serves the spec at GET /spec, so it gets the same IMGPIPE_SPEC as the resize.
    expect(JSON.parse((body('lambda:CreateFunction') as { Environment: { Variables: Record<string, string> } }).Environment.Variables.IMGPIPE_SPEC).variants.length).toBeGreaterThan(0);
    expect(summary.package.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body('lambda:CreateFunction')).toMatchObject({ Code: { ZipFile: { sha256: summary.package.codeSha256 } } });
  });
});
