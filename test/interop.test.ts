// Interop: Debian's AWS CLI (installed by .ci/run) lists and copies from the local stack.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { BIN, runCli } from './helpers/cli.js';
import { startDev } from './helpers/dev.js';
import { have, TOOLS } from './helpers/tools.js';

const AWS = '/usr/bin/aws';
const hasAws = have(TOOLS.aws, 'interop.test');

describe.skipIf(!hasAws)('AWS CLI against the local stack', () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  // Asynchronous: the S3 server runs in this process, a blocking spawn would deadlock it.
  const aws = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(AWS, [...args, '--endpoint-url', stack.s3Endpoint], { env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    env = {
      PATH: process.env.PATH,
      HOME: stack.dir,
      AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: stack.region,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required',
    };
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: '320/uploads/x/a b.jpg', Body: await readFile(img.corpusFile('mate-Aqua.jpg')) }));
  });
  afterAll(async () => stack?.stop());

  it('lists buckets and objects', async () => {
    const buckets = await aws('s3', 'ls');
    expect(buckets.status, buckets.stderr).toBe(0);
    expect(buckets.stdout).toContain('imgpipe-source');
    expect(buckets.stdout).toContain('imgpipe-dest');
    const objects = await aws('s3', 'ls', '--recursive', 's3://imgpipe-dest/');
    expect(objects.status, objects.stderr).toBe(0);
    expect(objects.stdout).toMatch(/\s200353 320\/uploads\/x\/a b\.jpg/);
  });

  it('copies up and down, byte for byte', async () => {
    const local = path.join(stack.dir, 'copy.jpg');
    const up = await aws('s3', 'cp', img.corpusFile('plasma-Grey.jpg'), 's3://imgpipe-source/interop/grey photo.jpg');
    expect(up.status, up.stderr).toBe(0);
    const down = await aws('s3', 'cp', 's3://imgpipe-source/interop/grey photo.jpg', local);
    expect(down.status, down.stderr).toBe(0);
    expect((await readFile(local)).equals(await readFile(img.corpusFile('plasma-Grey.jpg')))).toBe(true);
  });

  it('copies a 20 MiB file up and down through multipart upload, byte for byte', async () => {
    const big = path.join(stack.dir, 'big.bin');
    const bytes = randomBytes(20 * 1024 * 1024 + 3);
    await writeFile(big, bytes);
    const up = await aws('s3', 'cp', big, 's3://imgpipe-source/interop/big.bin');
    expect(up.status, up.stderr).toBe(0);
    const head = await aws('s3api', 'head-object', '--bucket', 'imgpipe-source', '--key', 'interop/big.bin');
    expect(JSON.parse(head.stdout).ETag).toMatch(/-3"$/); // three 8 MiB parts, S3's multipart ETag
    const down = await aws('s3', 'cp', 's3://imgpipe-source/interop/big.bin', `${big}.back`);
    expect(down.status, down.stderr).toBe(0);
    expect((await readFile(`${big}.back`)).equals(bytes)).toBe(true);
  });
});

describe.skipIf(!hasAws)('README: aws-cli against the running dev, with the credentials `--show-credentials` prints and through `--aws-cli`', () => {
  it('lists the running dev stack with them; the old fixed pair is refused', async () => {
    const cwd = await img.tempDir('imgpipe-creds-');
    const dev = await startDev(cwd);
    try {
      await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.destBucket, Key: '320/uploads/y/b.jpg', Body: 'jpeg bytes' }));
      const shown = await runCli(['dev', '--show-credentials'], { cwd });
      expect(shown.code).toBe(0);
      expect(shown.stdout.trim().split('\n').every((l) => l.startsWith('export AWS_'))).toBe(true);
      const vars = Object.fromEntries(shown.stdout.trim().split('\n').map((l) => l.replace(/^export /, '').split(/=(.*)/s).slice(0, 2)));
      expect(Object.keys(vars).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']);
      expect(vars.AWS_ENDPOINT_URL).toBe(dev.state.s3Endpoint);
      const ls = (extra: NodeJS.ProcessEnv) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(AWS, ['s3', 'ls', '--recursive', 's3://imgpipe-dest', '--endpoint-url', vars.AWS_ENDPOINT_URL], { env: { PATH: process.env.PATH, HOME: cwd, ...vars, ...extra }, encoding: 'utf8' }, (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
          ),
        );
      const ok = await ls({});
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toContain('320/uploads/y/b.jpg');
      // README's aws-cli line exactly as a user types it, in a shell with no AWS settings of its own.
      const readme = (await readFile(path.join(__dirname, '..', 'README.md'), 'utf8')).split('\n').find((l) => l.startsWith('$(npx imgpipe dev --aws-cli)'))!;
      const line = readme.replace(/^\$\(npx imgpipe /, `$(${process.execPath} ${BIN} `);
      const typed = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile('bash', ['-c', line], { cwd, env: { PATH: process.env.PATH, HOME: cwd }, encoding: 'utf8' }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
      expect(typed.code, typed.out).toBe(0);
      expect(typed.out).toContain('320/uploads/y/b.jpg');
      const old = await ls({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
      expect(old.code).not.toBe(0);
      expect(old.out).toContain('InvalidAccessKeyId');
    } finally {
      await dev.stop();
    }
  });
});
