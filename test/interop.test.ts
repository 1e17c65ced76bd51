// Interop: Debian's AWS CLI (installed by .ci/run) lists and copies from the local stack.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const AWS = '/usr/bin/aws';
const have = existsSync(AWS);
if (!have && process.env.CI) throw new Error(`${AWS} is missing: .ci/run installs Debian's awscli`);

describe.skipIf(!have)('AWS CLI against the local stack', () => {
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
});
