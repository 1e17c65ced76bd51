// `imgpipe deploy-lambda` as a user runs it (the built CLI in its own process): help, usage
// errors, --dry-run touching nothing remote, a real publish against the local Lambda/S3
// endpoint through the SDK's standard endpoint settings, and missing credentials.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keysOnlyEnv } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { ACCOUNT, CREDENTIALS, REGION, startFakeAws, type FakeAws } from './helpers/deploy-fake-aws.js';
import { tempDir } from './helpers/images.js';

const ROLE = `arn:aws:iam::${ACCOUNT}:role/imgpipe`;

describe('imgpipe deploy-lambda (CLI)', () => {
  let fake: FakeAws;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeAws();
    cwd = await tempDir('imgpipe-deploy-cli-');
    // Everything the standard AWS chain reads, pointed at the local endpoint; nothing of this machine's.
    env = keysOnlyEnv(cwd, CREDENTIALS, REGION, { AWS_ENDPOINT_URL_LAMBDA: fake.endpoint, AWS_ENDPOINT_URL_S3: fake.endpoint });
  });
  afterAll(async () => {
    await fake?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.reset();
    fake.pollsPerUpdate = 1;
  });

  it('--help lists the options', async () => {
    const r = await runCli(['deploy-lambda', '--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--handler <name>', '--arch <arch>', '--runtime <runtime>', '--out <file.zip>', '--dry-run', '--json', '--function <name>', '--create', '--role <arn>', '--alias <name>', '--source-bucket <name>', '--dest-bucket <name>', '--code-bucket <name>']) {
      expect(r.stdout).toContain(opt);
    }
    expect(r.stdout).toContain('choices: "x86_64", "arm64"');
  });

  it.each([
    [['--arch', 'sparc'], /argument 'sparc' is invalid/],
    [['--function', 'f', '--create'], /--create needs --role ARN/],
    [['--function', 'f', '--source-bucket', 'same', '--dest-bucket', 'same'], /must differ/],
    [['--dest-bucket', 'x'], /--dest-bucket configure a function: pass --function NAME/],
    [['--handler', 'presign', '--function', 'f', '--dest-bucket', 'x'], /--dest-bucket is for the resize handler/],
    [['--function', 'f', '--env', 'AWS_REGION=eu-west-1'], /AWS_REGION is reserved by Lambda/],
    [['--function', 'f', '--memory', '64'], /must be 128-10240 MB/],
    [['--function', 'f', '--alias', '42'], /not an alias name/],
    [['--function', 'f', '--role', 'arn:aws:iam::1:role/r'], /--role is only used with --create/],
  ])('usage error %j exits 2 before building anything', async (args, message) => {
    const r = await runCli(['deploy-lambda', ...args], { cwd, env });
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(fake.calls).toEqual([]);
  });

  it('--dry-run builds and reports the package and the calls it would make, and sends nothing', async () => {
    const out = path.join(cwd, 'resize-arm64.zip');
    const r = await runCli(
      ['deploy-lambda', '--dry-run', '--json', '--arch', 'arm64', '--function', 'imgpipe-resize', '--create', '--role', ROLE, '--source-bucket', 'imgpipe-source', '--dest-bucket', 'imgpipe-dest', '--widths', '320,640', '--out', out],
      { cwd, env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const zip = await readFile(out);
    expect(s.package).toMatchObject({ handler: 'resize', arch: 'arm64', runtime: 'nodejs22.x', awsSdk: 'bundled', bytes: zip.length, file: out, sha256: createHash('sha256').update(zip).digest('hex') });
    expect(s.package.sharp.packages).toEqual(expect.arrayContaining([expect.stringMatching(/^@img\/sharp-linux-arm64@/), expect.stringMatching(/^@img\/sharp-libvips-linux-arm64@/)]));
    expect(s.plan.map((c: { call: string }) => c.call)).toEqual([
      'lambda:GetFunction',
      'lambda:CreateFunction',
      'lambda:GetFunctionConfiguration',
      'lambda:UpdateFunctionCode',
      'lambda:GetFunctionConfiguration',
      'lambda:UpdateFunctionConfiguration',
      'lambda:GetFunctionConfiguration',
      'lambda:PublishVersion',
      'lambda:GetAlias',
      'lambda:CreateAlias',
      'lambda:UpdateAlias',
      'lambda:GetPolicy',
      'lambda:AddPermission',
      's3:GetBucketNotificationConfiguration',
      's3:PutBucketNotificationConfiguration',
    ]);
    const create = s.plan[1].params;
    expect(create).toMatchObject({ Role: ROLE, Architectures: ['arm64'], MemorySize: 1769, Environment: { Variables: { DEST_BUCKET: 'imgpipe-dest', SOURCE_BUCKET: 'imgpipe-source', MALLOC_ARENA_MAX: '1' } } });
    expect(JSON.parse(create.Environment.Variables.IMGPIPE_SPEC).variants.map((v: { width: number }) => v.width)).toEqual([320, 640]);
    expect(s.calls).toEqual([]);
    expect(fake.calls).toEqual([]);
  });

  it('publishes the presign handler and then the resize handler with its trigger, through the standard AWS endpoint settings', async () => {
    fake.addBucket('imgpipe-source');
    const presign = await runCli(['deploy-lambda', '--handler', 'presign', '--function', 'imgpipe-presign', '--create', '--role', ROLE, '--source-bucket', 'imgpipe-source', '--env', 'API_KEY=s3cret', '--json'], { cwd, env });
    expect(presign.stderr).toBe('');
    expect(presign.code).toBe(0);
    const p = JSON.parse(presign.stdout);
    expect(p.function).toMatchObject({ functionName: 'imgpipe-presign', code: { status: 'created' }, version: '1', alias: { name: 'live', status: 'created' } });
    expect(p.calls).toEqual(fake.ops());
    expect(fake.calls.find((c) => c.op === 'lambda:CreateFunction')!.body).toMatchObject({ Runtime: 'nodejs22.x', Environment: { Variables: { SOURCE_BUCKET: 'imgpipe-source', API_KEY: 's3cret' } } });

    fake.calls.length = 0;
    const resize = await runCli(['deploy-lambda', '--function', 'imgpipe-resize', '--create', '--role', ROLE, '--source-bucket', 'imgpipe-source', '--dest-bucket', 'imgpipe-dest', '--json'], { cwd, env });
    expect(resize.stderr).toBe('');
    expect(resize.code).toBe(0);
    const s = JSON.parse(resize.stdout);
    expect(s.trigger).toEqual({ bucket: 'imgpipe-source', target: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:imgpipe-resize:live`, permission: 'added', notification: 'added', kept: [] });
    expect(s.calls).toEqual(fake.ops());
    expect(fake.ops().slice(-4)).toEqual(['lambda:GetPolicy', 'lambda:AddPermission', 's3:GetBucketNotificationConfiguration', 's3:PutBucketNotificationConfiguration']);
    expect(s.steps.map((x: { status: string }) => x.status).every((st: string) => st === 'done')).toBe(true);

    // The same build again: nothing to upload, and the text report says so.
    const again = await runCli(['deploy-lambda', '--function', 'imgpipe-resize', '--source-bucket', 'imgpipe-source', '--dest-bucket', 'imgpipe-dest'], { cwd, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/- Uploading code: unchanged \(deployed CodeSha256 .* is this package's\): upload skipped/);
    expect(again.stdout).toMatch(/function {2}imgpipe-resize: code unchanged \(upload skipped\), configuration unchanged, version 1, alias live → 1/);
    expect(again.stdout).toMatch(/trigger {3}s3:\/\/imgpipe-source ObjectCreated → .*:live \(permission present, notification unchanged/);
  }, 240_000); // three builds of the zips: minutes only on a loaded machine; a hang reaches it

  it('without credentials: one clear line, exit 1, and --json says why', async () => {
    fake.calls.length = 0; // only this test's calls
    const r = await runCli(['deploy-lambda', '--handler', 'presign', '--function', 'imgpipe-presign', '--json'], {
      cwd,
      env: { ...env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_WEB_IDENTITY_TOKEN_FILE: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined, HOME: cwd },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^imgpipe deploy-lambda: no AWS credentials found: set AWS_PROFILE/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'NoCredentials' }, steps: [{ status: 'done' }, { status: 'failed' }] });
    expect(fake.calls).toEqual([]);
  });
});
