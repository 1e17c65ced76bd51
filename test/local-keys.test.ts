// The local stack's keys stay on this machine: with them in the environment (as `eval "$(imgpipe
// dev --show-credentials)"` leaves them) `deploy`, `deploy-lambda` and `upload`/`watch` to a
// pipeline elsewhere refuse in one line and send nothing, which a counting HTTP server, standing in
// for every AWS endpoint and the API, checks; and aws-cli reaches the local stack through the
// profile `dev` writes, with nothing in the shell.
import { execFile } from 'node:child_process';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { BIN, cliEnv, runCli } from './helpers/cli.js';
import { startDev } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';

/** This machine's address on its network, not loopback: where "a pipeline elsewhere" is reached. */
function outwardAddress(): string {
  const ip = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4');
  if (!ip) throw new Error('no non-loopback IPv4 interface to stand for a remote endpoint');
  return ip.address;
}

describe('the local stack’s keys in the environment', () => {
  let counter: Server;
  const seen: IncomingMessage[] = [];
  let remote: string; // the counting server, by a non-loopback address: the API, S3 and AWS alike
  let keys: { accessKeyId: string; secretAccessKey: string };
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    counter = createServer((req, res) => {
      seen.push(req);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => counter.listen(0, '0.0.0.0', () => resolve()));
    remote = `http://${outwardAddress()}:${(counter.address() as AddressInfo).port}`;
    cwd = await img.tempDir('imgpipe-local-keys-');
    // The keys as a user gets them, from the data folder's own pair.
    const shown = await runCli(['dev', '--show-credentials', '--json'], { cwd, env: CLEAN_ENV });
    expect(shown.code).toBe(0);
    keys = JSON.parse(shown.stdout);
    expect(keys.accessKeyId).toMatch(/^LOCAL/);
    env = { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: remote, AWS_EC2_METADATA_DISABLED: 'true' };
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'a.jpg'));
  });
  afterAll(() => new Promise<void>((resolve) => counter.close(() => resolve())));

  const refusal = (where: string) =>
    `AWS_ACCESS_KEY_ID is the local stack's key (from \`imgpipe dev --show-credentials\`), which imgpipe sends only to the local stack, not to ${where}: ` +
    'unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_ENDPOINT_URL (or pass --profile NAME); aws-cli against the local stack: imgpipe dev --aws-cli\n';

  const cases: [string, string[], string, string][] = [
    ['deploy', ['deploy', '--stack', 'photos'], 'imgpipe: ', 'AWS CloudFormation, STS and S3'],
    ['deploy-lambda', ['deploy-lambda', '--function', 'imgpipe-resize', '--source-bucket', 'imgpipe-source', '--dest-bucket', 'imgpipe-dest'], 'imgpipe: ', 'AWS Lambda and S3'],
    ['upload to an API elsewhere', ['upload', 'a.jpg', '--api', '<remote>', '--dest-bucket', 'photos-resized', '--wait'], 'imgpipe: ', 'the API at <remote>'],
    ['upload --dry-run to an API elsewhere', ['upload', 'a.jpg', '--api', '<remote>', '--dest-bucket', 'photos-resized', '--dry-run'], 'imgpipe: ', 'the API at <remote>'],
    ['watch a bucket elsewhere', ['watch', 'uploads/x/a.jpg', '--dest-bucket', 'photos-resized', '--endpoint', '<remote>', '--timeout', '5'], 'imgpipe: ', 'S3 at <remote>'],
    ['watch with AWS_ENDPOINT_URL elsewhere', ['watch', 'uploads/x/a.jpg', '--dest-bucket', 'photos-resized', '--timeout', '5'], 'imgpipe: ', 'S3 at <remote>'],
  ];
  for (const [name, args, prefix, where] of cases) {
    it(`${name}: one line, exit 2, no request, no secret`, async () => {
      const before = seen.length;
      const r = await runCli(args.map((a) => a.replace('<remote>', remote)), { cwd, env, timeoutMs: 60_000 });
      expect(r.stderr).toBe(prefix + refusal(where.replace('<remote>', remote)));
      expect(r.code).toBe(2);
      expect(seen.length - before).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(keys.secretAccessKey);
    });
  }

  it('the same keys in a profile: refused at the first call, before anything is sent', async () => {
    const config = path.join(cwd, 'aws-config-with-local-keys');
    await writeFile(config, `[profile photos]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\nregion = us-east-1\n`);
    const before = seen.length;
    const r = await runCli(['watch', 'uploads/x/a.jpg', '--dest-bucket', 'photos-resized', '--endpoint', remote, '--profile', 'photos', '--timeout', '5'], {
      cwd,
      env: { ...CLEAN_ENV, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'none'), AWS_EC2_METADATA_DISABLED: 'true' },
      timeoutMs: 60_000,
    });
    expect(r.stderr).toBe(
      `imgpipe: the AWS credentials in use are the local stack's key (from \`imgpipe dev --show-credentials\`), which imgpipe sends only to the local stack, not to S3 at ${remote}: pass --profile NAME for your AWS account; aws-cli against the local stack: imgpipe dev --aws-cli\n`,
    );
    expect(r.code).toBe(2);
    expect(seen.length - before).toBe(0);
  });
});

const hasAws = have(TOOLS.aws, 'local-keys.test');

describe.skipIf(!hasAws)('aws-cli against the local stack, the shell untouched', () => {
  it('`$(imgpipe dev --aws-cli) s3 ls` lists the running stack, whatever AWS settings the shell holds', async () => {
    const cwd = await img.tempDir('imgpipe-aws-cli-');
    const dev = await startDev(cwd);
    try {
      await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.destBucket, Key: '320/uploads/z/c.jpg', Body: 'jpeg bytes' }));
      const printed = await runCli(['dev', '--aws-cli'], { cwd });
      expect(printed.stderr).toBe('');
      expect(printed.stdout).toBe(`env AWS_CONFIG_FILE=.imgpipe/aws-config aws --profile imgpipe-local --endpoint-url ${dev.state.s3Endpoint}\n`);
      expect((await stat(path.join(cwd, '.imgpipe/aws-config'))).mode & 0o777).toBe(0o600);
      // A shell that still holds someone's keys and endpoint: neither mixes in.
      const shell = { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
      const line = `$(${process.execPath} ${BIN} dev --aws-cli) s3 ls s3://imgpipe-dest --recursive`;
      const ls = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile('bash', ['-c', line], { cwd, env: cliEnv(shell), encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
      expect(ls.code, ls.out).toBe(0);
      expect(ls.out).toMatch(/\s10 320\/uploads\/z\/c\.jpg\n$/);
    } finally {
      await dev.stop();
    }
  });

  it('with no `dev` running for the folder: one line, exit 1', async () => {
    const cwd = await img.tempDir('imgpipe-aws-cli-none-');
    const r = await runCli(['dev', '--aws-cli'], { cwd });
    expect(r.stderr).toBe('imgpipe dev: no `imgpipe dev` runs for this folder (nor on .imgpipe/data): start it first, in another terminal\n');
    expect(r.code).toBe(1);
  });
});
