// `imgpipe deploy` as a user runs it (the built CLI in its own process), against the fake
// CloudFormation/STS/S3 endpoint through the SDK's standard per-service endpoint settings.
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keysOnlyEnv } from './helpers/aws-env.js';
import { BIN, cliEnv, runCli } from './helpers/cli.js';
import { ACCOUNT, CREDENTIALS, REGION, startFakeCloudFormation, type FakeCloudFormation } from './helpers/fake-cloudformation.js';
import { tempDir } from './helpers/images.js';

const API_KEY = 'cli-key-never-printed-93b2';

describe('imgpipe deploy (CLI)', () => {
  let fake: FakeCloudFormation;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeCloudFormation();
    cwd = await tempDir('imgpipe-deploy-stack-cli-');
    // Everything the standard AWS chain reads, pointed at the local endpoint; nothing of this machine's.
    env = keysOnlyEnv(cwd, CREDENTIALS, REGION, {
      AWS_ENDPOINT_URL_CLOUDFORMATION: fake.endpoint,
      AWS_ENDPOINT_URL_STS: fake.endpoint,
      AWS_ENDPOINT_URL_S3: fake.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: fake.endpoint,
      IMGPIPE_API_KEY: API_KEY,
    });
  });
  afterAll(async () => {
    await fake?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });
  beforeEach(() => {
    fake.reset();
    // The CLI polls every 3 s: here the change set is ready at once and one poll brings every event.
    Object.assign(fake.world, { changeSetPolls: 0, eventsPerPoll: 1000 });
  });

  it('--help lists the options', async () => {
    const r = await runCli(['deploy', '--help']);
    expect(r.code).toBe(0);
    for (const opt of ['--stack <name>', '--region <region>', '--profile <name>', '--arch <arch>', '--runtime <runtime>', '--source-bucket <name>', '--dest-bucket <name>', '--code-bucket <name>', '--prefix <prefix>', '--cors-origin <origin>', '--no-dedupe', '--dry-run', '--delete', '--json']) {
      expect(r.stdout).toContain(opt);
    }
    expect(r.stdout).toContain('IMGPIPE_API_KEY');
  });

  it("--cors-origin '*' exits 2 with the reason, before any AWS call", async () => {
    const r = await runCli(['deploy', '--cors-origin', '*'], { cwd, env });
    expect(r.stderr).toContain('--cors-origin: "*": a wildcard origin would let any web page upload with a leaked URL; list the origins');
    expect(r.code).toBe(2);
    expect(fake.calls).toEqual([]);
  });

  it('deploy --json: a first deploy exits 0 with the summary, writes the config, and never prints the API key', async () => {
    await writeFile(path.join(cwd, 'imgpipe.config.json'), '{ "withoutEnlargement": true }\n');
    const r = await runCli(['deploy', '--json', '--stack', 'photos'], { cwd, env, timeoutMs: 240_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ ok: true, action: 'created', stack: 'photos', region: REGION, account: ACCOUNT, parameters: { ApiKey: '****' } });
    expect(s.calls).toEqual(fake.ops());
    expect(s.calls).toEqual([
      'sts:GetCallerIdentity',
      'cloudformation:DescribeStacks',
      's3:HeadBucket',
      's3:HeadBucket',
      's3:HeadBucket',
      's3:CreateBucket',
      's3:PutPublicAccessBlock',
      's3:PutBucketEncryption',
      's3:PutBucketLifecycleConfiguration',
      's3:PutBucketPolicy',
      's3:HeadObject',
      's3:PutObject',
      's3:HeadObject',
      's3:PutObject',
      's3:HeadObject',
      's3:PutObject',
      'lambda:GetAccountSettings', // the resize's bound against the account's concurrency
      'cloudformation:CreateChangeSet',
      'cloudformation:DescribeChangeSet',
      'cloudformation:DescribeStackEvents',
      'cloudformation:ExecuteChangeSet',
      'cloudformation:DescribeStackEvents',
      'cloudformation:DescribeStacks',
    ]);
    expect(r.stdout).not.toContain(API_KEY);
    expect(fake.form('cloudformation:CreateChangeSet')).toMatchObject({ 'Parameters.member.18.ParameterKey': 'ApiKey', 'Parameters.member.18.ParameterValue': API_KEY });
    expect(s.concurrency).toEqual({ wanted: 5, limit: 1000, unreserved: 1000, fits: true });
    const dest = `photos-variants-${ACCOUNT}-${REGION}`;
    expect(s.outputs).toMatchObject({ sourceBucket: `photos-uploads-${ACCOUNT}-${REGION}`, destBucket: dest, cdn: expect.stringMatching(/^https:\/\/d[0-9a-z]{13}\.cloudfront\.net$/), queue: expect.stringMatching(/^https:\/\/sqs\.us-east-1\.amazonaws\.com\/\d{12}\/photos-ResizeQueue-/) });
    expect(s.parameters.Cdn).toBe('true');
    expect(JSON.parse(await readFile(path.join(cwd, 'imgpipe.config.json'), 'utf8'))).toEqual({ withoutEnlargement: true, stack: 'photos', region: REGION, api: s.outputs.api, destBucket: dest, cdn: s.outputs.cdn, queue: s.outputs.queue });
  }, 240_000);

  it('takes keyPrefix and runtime from the config (flags win), and refuses a prefix that is not one folder', async () => {
    const dir = path.join(cwd, 'from-config');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'imgpipe.config.json'), '{ "keyPrefix": "photos", "runtime": "nodejs24.x" }\n');
    const r = await runCli(['deploy', '--json', '--dry-run', '--stack', 'configured'], { cwd: dir, env, timeoutMs: 240_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'dry-run', parameters: { KeyPrefix: 'photos', Runtime: 'nodejs24.x', Architecture: 'x86_64' } });
    const flag = await runCli(['deploy', '--json', '--dry-run', '--stack', 'configured', '--prefix', 'mine'], { cwd: dir, env, timeoutMs: 240_000 });
    expect(JSON.parse(flag.stdout).parameters.KeyPrefix).toBe('mine');
    const bad = await runCli(['deploy', '--prefix', 'a/b'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--prefix: "a/b" must be letters, digits, _ or - (one folder)');
  }, 240_000);

  it('Ctrl-C while the stack changes: one line saying CloudFormation carries on, exit 130', async () => {
    Object.assign(fake.world, { eventsPerPoll: 1 }); // one event per 3-s poll: time to interrupt
    const dir = path.join(cwd, 'interrupted');
    await mkdir(dir, { recursive: true });
    const child = spawn(process.execPath, [BIN, 'deploy', '--stack', 'halted'], { cwd: dir, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (/CREATE_IN_PROGRESS/.test(stdout)) resolve();
      });
      child.on('exit', () => reject(new Error(`exited before the stack changed: ${stdout}${stderr}`)));
    });
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toBe('imgpipe deploy: SIGINT: stopped; a change CloudFormation already started on stack halted carries on (`imgpipe deploy --dry-run` shows where it stands)\n');
    expect(fake.ops()).toContain('cloudformation:ExecuteChangeSet');
  }, 240_000);

  it('no credentials, or no region: one line saying what to set, exit 1, nothing sent', async () => {
    const bare = { ...env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };
    const noCreds = await runCli(['deploy', '--dry-run'], { cwd, env: bare });
    expect(noCreds.stderr).toBe('imgpipe deploy: no AWS credentials found: set AWS_PROFILE (after `aws sso login` or `aws configure`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n');
    expect(noCreds.code).toBe(1);
    const plain = path.join(cwd, 'no-config'); // the other tests' config names a region
    await mkdir(plain, { recursive: true });
    const noRegion = await runCli(['deploy', '--dry-run'], { cwd: plain, env: { ...env, AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined } });
    expect(noRegion.stderr).toBe('imgpipe deploy: no AWS region: pass --region or set AWS_REGION\n');
    expect(noRegion.code).toBe(1);
    expect(fake.calls).toEqual([]);
  }, 60_000);
});
