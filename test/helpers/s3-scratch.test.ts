import { spawn } from 'node:child_process';
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'vitest';
import { startLocalS3 } from '../../src/local/s3-server.js';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

it('aws cli interop', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scratch-'));
  const s3 = await startLocalS3({ dataDir: path.join(dir, 'data'), buckets: ['imgpipe-source', 'imgpipe-dest'], silent: false });
  const env = { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1', AWS_REQUEST_CHECKSUM_CALCULATION: process.env.CKS ?? 'when_required', AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required' };
  const aws = (...a: string[]) => run('/usr/bin/aws', [...a, '--endpoint-url', s3.endpoint], env);
  const big = Buffer.alloc(9 * 1024 * 1024 + 3, 7);
  await writeFile(path.join(dir, 'small file.bin'), 'hello world');
  await writeFile(path.join(dir, 'big.bin'), big);
  for (const args of [
    ['s3', 'ls'],
    ['s3', 'cp', path.join(dir, 'small file.bin'), 's3://imgpipe-source/interop/a b+c.bin'],
    ['s3', 'cp', path.join(dir, 'big.bin'), 's3://imgpipe-source/interop/big.bin'],
    ['s3', 'ls', '--recursive', 's3://imgpipe-source/'],
    ['s3', 'cp', 's3://imgpipe-source/interop/big.bin', path.join(dir, 'big-down.bin')],
    ['s3', 'cp', 's3://imgpipe-source/interop/a b+c.bin', 's3://imgpipe-dest/copied/a b+c.bin'],
    ['s3api', 'list-objects-v2', '--bucket', 'imgpipe-dest', '--max-items', '5'],
    ['s3', 'rm', 's3://imgpipe-dest/copied/a b+c.bin'],
  ]) {
    const r = await aws(...args);
    console.log('$ aws', args.join(' '), '->', r.code, r.out.slice(0, 400), r.err.slice(-600));
  }
  console.log('big equal', (await readFile(path.join(dir, 'big-down.bin'))).equals(big));
  await s3.close();
}, 120_000);
