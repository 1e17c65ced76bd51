// --profile NAME end to end: the credentials and region of an AWS named profile, read by the SDK's
// default chain from the shared config and credentials files (AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE point at temporary ones), with no AWS_* keys in the environment.
// The local stack stands in for AWS, reached as the remote target (--api, --dest-bucket, --endpoint).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadResult } from '../src/jobs/upload.js';
import type { WatchResult } from '../src/jobs/watch.js';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';


describe('--profile: credentials and region from a named profile', () => {
  const FILES = 2;
  let stack: TestStack;
  let root: string;
  let photos: string;
  let env: NodeJS.ProcessEnv;
  let keys: string[] = [];
  const remote = () => ['--api', stack.apiUrl, '--dest-bucket', stack.destBucket, '--endpoint', stack.s3Endpoint];

  beforeAll(async () => {
    stack = await startTestStack();
    root = await tempDir('imgpipe-profile-');
    photos = path.join(root, 'photos');
    await writeNoiseJpegs(photos, FILES);
    // The keys as a user gets them: `imgpipe dev --show-credentials --json` for the stack's data folder.
    const shown = await runCli(['dev', '--show-credentials', '--json', '--data', path.join(stack.dir, 'data')], { cwd: root, env: CLEAN_ENV });
    expect(shown.code, shown.stderr).toBe(0);
    const creds = JSON.parse(shown.stdout) as { accessKeyId: string; secretAccessKey: string; region: string };
    expect(creds.accessKeyId).toBe(stack.credentials.accessKeyId);
    // aws-cli's layout: `[profile NAME]` in config, `[NAME]` in credentials. The default profile's
    // keys are wrong, so a run that ignored --profile would be refused by the stack.
    const aws = path.join(root, 'aws');
    await mkdir(aws);
    const keyLines = `aws_access_key_id = ${creds.accessKeyId}\naws_secret_access_key = ${creds.secretAccessKey}\n`;
    await writeFile(path.join(aws, 'config'), `[default]\nregion = eu-west-3\n\n[profile photos]\nregion = ${creds.region}\n\n[profile elsewhere]\nregion = eu-west-3\n`);
    await writeFile(
      path.join(aws, 'credentials'),
      `[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = wrong\n\n[photos]\n${keyLines}\n[elsewhere]\n${keyLines}`,
    );
    env = { ...CLEAN_ENV, AWS_CONFIG_FILE: path.join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials') };
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('upload --wait --profile photos reads the bucket with that profile: exit 0, every image done', async () => {
    const cwd = path.join(root, 'good');
    await mkdir(cwd);
    const r = await runCli(['upload', photos, ...remote(), '--profile', 'photos', '--wait', '--json'], { cwd, env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadResult & { wait?: WatchResult };
    expect(doc).toMatchObject({ ok: true, files: FILES, uploaded: FILES, failed: 0 });
    expect(doc.wait).toMatchObject({ ok: true, bucket: stack.destBucket, images: FILES, done: FILES, missing: [], failed: [] });
    keys = doc.keys;

    // The same watch with the default profile's keys is refused: the profile above was what worked.
    const byDefault = await runCli(['watch', ...doc.keys, '--dest-bucket', stack.destBucket, '--endpoint', stack.s3Endpoint, '--timeout', '10'], { cwd, env });
    expect(byDefault.code).toBe(1);
    expect(byDefault.stderr).toBe(`imgpipe: s3://${stack.destBucket} refused the credentials: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.\n`);
  }, 120_000);

  it("the profile's region signs the requests, and --region overrides it", async () => {
    expect(keys.length, 'the upload test must have run').toBe(FILES);
    // "elsewhere" holds the right keys but region eu-west-3, which the local S3 refuses to sign for.
    const args = ['watch', ...keys, '--dest-bucket', stack.destBucket, '--endpoint', stack.s3Endpoint, '--profile', 'elsewhere', '--json'];
    const theirs = await runCli([...args, '--timeout', '2'], { cwd: root, env });
    expect(theirs.code).toBe(1);
    expect(JSON.parse(theirs.stdout)).toMatchObject({ ok: false, done: 0, timedOut: true });
    const overridden = await runCli([...args, '--region', 'us-east-1'], { cwd: root, env });
    expect(overridden.stderr).toBe('');
    expect(overridden.code).toBe(0);
    expect(JSON.parse(overridden.stdout)).toMatchObject({ ok: true, done: FILES });
  }, 60_000);

  it('--profile wrongname: one clear line naming the profile, exit 1', async () => {
    const cwd = path.join(root, 'wrong');
    await mkdir(cwd);
    const r = await runCli(['watch', 'uploads/x.jpg', ...remote().slice(2), '--profile', 'wrongname', '--timeout', '10'], { cwd, env });
    expect(r.code).toBe(1);
    const looked = `(looked in ${env.AWS_CONFIG_FILE} and ${env.AWS_SHARED_CREDENTIALS_FILE})`;
    expect(r.stderr.startsWith(`imgpipe: no AWS credentials for profile "wrongname" ${looked}: `), r.stderr).toBe(true);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  }, 60_000);
});
