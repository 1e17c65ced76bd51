// The embedded stack under the two failures a user meets: `imgpipe dev` killed outright in the
// middle of an upload, and S3 failing while a resize runs. Nothing may be lost or torn.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attemptKey, FAILURE_PREFIX, outputKeys, RECORD_PREFIX, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { getVerdict } from '../src/s3/get-record.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { spawnCli, startFaultProxy, writeNoiseJpegs } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { BIN } from './helpers/cli.js';
import { startTestStack } from './helpers/stack.js';
import { eventually, sleep } from './helpers/s3.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every source object's variants, present in the destination bucket. */
async function missingVariants(dev: Pick<DevProcess, 'list' | 'state'>): Promise<string[]> {
  const dest = new Set(await dev.list(dev.state.destBucket));
  const sources = await dev.list(dev.state.sourceBucket);
  return sources.flatMap((k) => [...outputKeys(k, DEFAULT_SPEC).map((o) => o.key), recordKey(k)]).filter((k) => !dest.has(k));
}

/**
 * Let `child` run in bursts of BURST_MS, reading `measure` while it is stopped (SIGSTOP), until
 * `done` holds; it is left stopped then. Only a hang reaches the bound.
 */
async function whileStopped<T>(child: ChildProcess, measure: () => Promise<T>, done: (v: T) => boolean, hangMs = 120_000): Promise<T> {
  const BURST_MS = 20;
  const until = Date.now() + hangMs;
  for (;;) {
    child.kill('SIGSTOP');
    const v = await measure();
    if (done(v)) return v;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`never reached while it ran (last reading ${JSON.stringify(v)}; exit ${child.exitCode})`);
    child.kill('SIGCONT');
    await sleep(BURST_MS);
  }
}

describe('imgpipe dev killed with SIGKILL mid-upload, photos queued for a resize', () => {
  let dev: DevProcess | undefined;
  afterAll(async () => {
    await dev?.stop();
  });

  it('after a restart every stored object is whole, every image gets its variants, and a re-run completes', async () => {
    const cwd = await img.tempDir('imgpipe-crash-');
    const files = await writeNoiseJpegs(path.join(cwd, 'photos'), 100);
    const local = new Set(await Promise.all(files.map(async (f) => sha256(await readFile(f)))));

    // One resize at a time, so that photos stored are still queued for a resize when it dies.
    dev = await startDev(cwd, { args: ['--resize-concurrency', '1'] });
    const upload = spawnCli(BIN, ['upload', 'photos', '--local', '--json'], { cwd });
    // Mid-upload for certain, however loaded the machine: the upload runs in short bursts and
    // the bucket is counted while it is stopped, so the kill lands with files still to send.
    const counts = async () => {
      const [sources, dest] = await Promise.all([dev!.list(dev!.state.sourceBucket), dev!.list(dev!.state.destBucket)]);
      return { stored: sources.length, queued: sources.length - dest.filter((k) => k.startsWith(RECORD_PREFIX)).length };
    };
    const { stored, queued } = await whileStopped(upload.child, counts, (c) => c.stored >= 25 && c.queued >= 10);
    console.log(`[crash] dev killed with ${stored} of 100 photos stored, ${queued} of them not yet resized`);
    expect(stored).toBeLessThan(100);
    await dev.kill();
    upload.child.kill('SIGCONT');
    const first = await upload.done;
    expect(first.code).toBe(1); // the stack went away: the run says so

    dev = await startDev(cwd);
    const again = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd, timeoutMs: 240_000 });
    expect(again.code, again.stderr).toBe(0);

    // Every object listed is some photo, byte for byte: nothing torn, nothing half-written.
    const sources = await dev.list(dev.state.sourceBucket);
    expect(sources.length).toBeGreaterThanOrEqual(100);
    for (const key of sources) expect(local.has(sha256(await dev.get(dev.state.sourceBucket, key))), key).toBe(true);
    // Events stored before the kill were replayed: objects of the first run got variants too.
    await eventually(async () => expect(await missingVariants(dev!)).toEqual([]), 120_000);
  }, 400_000);
});

describe('imgpipe dev killed with SIGKILL with 200 photos stored and queued for a resize', () => {
  let dev: DevProcess | undefined;
  afterAll(async () => {
    await dev?.stop();
  });

  it('loses none: after a restart each one is resized once, and no failure is recorded', async () => {
    const cwd = await img.tempDir('imgpipe-crash-queued-');
    await writeNoiseJpegs(path.join(cwd, 'photos'), 200);
    // One resize at a time: most of the 200 are still queued when the upload ends.
    dev = await startDev(cwd, { args: ['--resize-concurrency', '1'] });
    const up = await runCli(['upload', 'photos', '--local', '--json'], { cwd, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    const keys: string[] = JSON.parse(up.stdout).keys;
    expect(keys).toHaveLength(200);
    const done = (await dev.list(dev.state.destBucket)).filter((k) => k.startsWith(RECORD_PREFIX)).length;
    await dev.kill();
    console.log(`[crash] dev killed with 200 photos stored, ${200 - done} of them not yet resized`);
    expect(200 - done).toBeGreaterThanOrEqual(50);

    dev = await startDev(cwd);
    const watch = await runCli(['watch', '--local', '--json'], { cwd, timeoutMs: 240_000 });
    expect(watch.code, watch.stderr).toBe(0);
    const dest = await dev.list(dev.state.destBucket);
    expect(keys.filter((k) => !dest.includes(recordKey(k)))).toEqual([]);
    expect(await missingVariants(dev)).toEqual([]);
    expect(dest.filter((k) => k.startsWith(FAILURE_PREFIX))).toEqual([]);
    // Each photo resized once after the restart, none twice: the queue hands out each event once.
    const resized = dev.output().stdout.split('\n').filter((l) => l.includes('"msg":"resized"')).map((l) => JSON.parse(l).key as string);
    expect(resized.length).toBe(new Set(resized).size);
    expect(resized.length).toBeLessThanOrEqual(200 - done + 1); // at most the one cut off by the kill again
  }, 400_000);
});

describe('a transient S3 failure during a resize', () => {
  it('is retried by the queue until the variants exist', async () => {
    let target = '';
    // The handler's GETs of the source: 4 failures outlast the SDK's own 3 attempts once.
    const proxy = await startFaultProxy({ target: () => target, flavor: 's3', match: (r) => r.method === 'GET' && r.path.startsWith('/imgpipe-source/'), script: ['status503', 'status500', 'status503', 'status500'] });
    const lines: Array<Record<string, unknown>> = [];
    const stack = await startTestStack({ handlerEndpoint: proxy.url, log: (l) => lines.push(l) });
    target = stack.s3Endpoint;
    try {
      const key = 'uploads/retry/photo.jpg';
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: key, Body: await readFile(img.corpusFile('mate-Aqua.jpg')) }));
      await eventually(async () => expect((await getVerdict(stack.s3, stack.destBucket, key))?.status).toBe('done'), 60_000);
      // And the retried attempt's note for the failure recorder, as on the deployed queue (it expires there).
      expect(await stack.list(stack.destBucket)).toEqual([...outputKeys(key, DEFAULT_SPEC).map((o) => o.key), attemptKey(key), recordKey(key)].sort());
      expect(proxy.failures()).toBe(4);
      expect(lines.filter((l) => l.level === 'error' && l.retry === true)).toHaveLength(1); // one transient failure, then success
    } finally {
      await stack.stop();
      await proxy.close();
    }
  });
});
