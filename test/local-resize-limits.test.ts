// The local stack as a model of the deployed resize: `imgpipe dev` (a subprocess) runs each resize
// in an instance of its own under the function's timeout and concurrency, returns an unanswered
// event to the queue with one more receive, and after the redrive bound writes the failure record
// the dead-letter queue's recorder writes on AWS: `timeout`, `crashed`, with the attempts. The
// handler gets Lambda's context from the pool, so it can stop before the timeout as it does on AWS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { type FailedRecord } from '../src/core/failed-record.js';
import { failureKey, recordKey } from '../src/core/keys.js';
import { MAX_RECEIVE_COUNT } from '../src/core/pipeline-defaults.js';
import type { UploadResult } from '../src/jobs/upload.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { eventually } from './helpers/s3.js';
import { have, TOOLS } from './helpers/tools.js';

const hasHeifEnc = have(TOOLS.heifEnc, 'local-resize-limits.test (the HEIC that outlasts its timeout)');

// AVIF at 3000 px of noise: several seconds of encoding per photo on any machine, far over 1 s.
const SLOW_SPEC = ['--widths', '3000,2048', '--format', 'avif'];

/** A large PNG of noise (27 MB: under the API's 50 MiB, nothing for the encoder to skip). */
async function noisePng(dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).png({ compressionLevel: 1 }).toFile(file);
  return file;
}

/** dev's --json lines so far. */
const devLines = (dev: DevProcess): Array<Record<string, unknown>> =>
  dev
    .output()
    .stdout.split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function uploadOne(cwd: string, file: string, spec: string[]): Promise<string> {
  const up = await runCli(['upload', file, '--local', '--json', ...spec], { cwd });
  expect(up.code, up.stderr).toBe(0);
  const key = (JSON.parse(up.stdout) as UploadResult).uploads[0]?.key;
  expect(key).toBeTruthy();
  return key!;
}

describe('imgpipe dev --resize-timeout / --resize-concurrency', () => {
  it.each([
    [['--resize-timeout', '0'], "error: option '--resize-timeout <seconds>' argument '0' is invalid. must be a positive number of seconds"],
    [['--resize-timeout', '901'], "error: option '--resize-timeout <seconds>' argument '901' is invalid. must be at most 900 seconds (Lambda's longest timeout)"],
    [['--resize-concurrency', '0'], "error: option '--resize-concurrency <n>' argument '0' is invalid. must be a positive integer"],
    [['--resize-concurrency', '1001'], "error: option '--resize-concurrency <n>' argument '1001' is invalid. must be at most 1000 (SQS's bound for an event source's maximum concurrency)"],
  ])('%j: one line, exit 2, nothing started', async (args, line) => {
    const cwd = await img.tempDir('imgpipe-dev-flags-');
    const r = await runCli(['dev', '--s3-port', '0', '--api-port', '0', ...args], { cwd });
    expect([r.code, r.stderr, r.stdout]).toEqual([2, `${line}\n`, '']);
  });

  it("--help gives the template's defaults: Timeout 60 s, ResizeConcurrency 5", async () => {
    const r = await runCli(['dev', '--help']);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain("--resize-timeout <seconds> the resize function's timeout: the handler records a resize it cannot finish in it as `timeout`; one still running then is stopped and retried; the template's Timeout (default: 60)");
    expect(r.stdout.replace(/\s+/g, ' ')).toContain("--resize-concurrency <n> resizes at once, as the deployed queue's maximum concurrency; the template's ResizeConcurrency (default: 5)");
  });
});

describe('imgpipe dev: the resize under the function timeout and concurrency', () => {
  let dev: DevProcess | undefined;
  afterEach(async () => {
    await dev?.stop();
    dev = undefined;
  });

  it('--resize-timeout 1: the handler sees the deadline through its context, stops the spec that cannot finish and records a timeout at the first receive, as on AWS; watch exits 1 naming it', async () => {
    const cwd = await img.tempDir('imgpipe-timeout-');
    const file = await noisePng(path.join(cwd, 'photos'), 'huge.png');
    dev = await startDev(cwd, { args: ['--resize-timeout', '1', ...SLOW_SPEC] });
    const started = Date.now();
    const key = await uploadOne(cwd, file, SLOW_SPEC);
    // Its own deadline is far off: ending before it means the record ended it.
    const watch = await runCli(['watch', '--local', '--timeout', '600', ...SLOW_SPEC], { cwd, timeoutMs: 300_000 });
    console.log(`[timeout] watch ended after ${((Date.now() - started) / 1000).toFixed(1)} s (one receive of a 1 s function)`);
    expect(watch.code, watch.stdout + watch.stderr).toBe(1);
    expect(watch.stdout + watch.stderr).toContain(key);
    expect(watch.stdout + watch.stderr).toMatch(/did not finish in the function's time/);

    const record = JSON.parse((await dev.get(dev.state.destBucket, failureKey(key))).toString()) as FailedRecord;
    expect(record).toMatchObject({ status: 'failed', source: { key }, code: 'timeout', attempts: 1 });
    // 40 % of the 1 s kept back for answering: the work was cut at what was left of 0.6 s when the
    // photo started (the invocation's own start takes some of it: 0.5 s was seen on a busy run),
    // and at no less than half of it, or the photo would have had no fair run and been retried.
    const cut = /^the resize did not finish in the function's time: stopped after (\d\.\d) s: the function's time was running out$/.exec(record.reason);
    expect(cut, record.reason).not.toBeNull();
    expect(Number(cut![1])).toBeGreaterThanOrEqual(0.3);
    expect(Number(cut![1])).toBeLessThanOrEqual(0.6);
    // The handler answered before the pool had to stop it, and no retry was asked for: a second
    // run of the same spec on the same bytes would end the same way.
    const stoppedByHandler = devLines(dev).filter((l) => l.msg === 'resize stopped at the deadline');
    expect(stoppedByHandler.map((l) => [l.key, l.code, l.retry])).toEqual([[key, 'timeout', false]]);
    expect(devLines(dev).filter((l) => l.msg === 'resize ended without an answer')).toEqual([]);
    expect(devLines(dev).filter((l) => l.msg === 'resized')).toEqual([]);
    expect((await dev.list(dev.state.destBucket)).includes(recordKey(key))).toBe(false);
  }, 300_000);

  it.skipIf(!hasHeifEnc)(`--resize-timeout 1: a HEIC whose decode holds the handler past its deadline is stopped by the pool each time, and after ${MAX_RECEIVE_COUNT} receives gets a timeout record`, async () => {
    const cwd = await img.tempDir('imgpipe-timeout-heic-');
    await mkdir(path.join(cwd, 'photos'));
    // 37 MP: libheif's WebAssembly decode runs on the handler's one thread for seconds, so no timer
    // of its own can fire; only Lambda (here the pool) can end it, as a 48 MP HEIC on a cold container.
    const src = path.join(cwd, 'big.jpg');
    await sharp(img.corpusFile('plasma-Kite.jpg')).resize(7000, 5250, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(src);
    const file = path.join(cwd, 'photos', 'big.heic');
    execFileSync('heif-enc', ['-p', 'preset=ultrafast', '-q', '60', src, '-o', file], { stdio: 'ignore' });
    dev = await startDev(cwd, { args: ['--resize-timeout', '1'] });
    const key = await uploadOne(cwd, file, []);
    const watch = await runCli(['watch', '--local', '--timeout', '600'], { cwd, timeoutMs: 300_000 });
    expect(watch.code, watch.stdout + watch.stderr).toBe(1);
    expect(watch.stdout + watch.stderr).toContain(key);

    const record = JSON.parse((await dev.get(dev.state.destBucket, failureKey(key))).toString()) as FailedRecord;
    expect(record).toMatchObject({ status: 'failed', source: { key }, code: 'timeout', attempts: MAX_RECEIVE_COUNT });
    expect(record.reason).toMatch(/^the resize did not finish within the function's timeout: Task timed out after 1\.00 seconds \(after 3 attempts\)$/);
    // Each receive was stopped at the timeout, the count going up by one; none answered.
    const stopped = devLines(dev).filter((l) => l.msg === 'resize ended without an answer');
    expect(stopped.map((l) => [l.code, l.receiveCount, l.retry])).toEqual([
      ['timeout', 1, true],
      ['timeout', 2, true],
      ['timeout', 3, false],
    ]);
    expect(devLines(dev).filter((l) => l.msg === 'END')).toEqual([]);
    expect((await dev.list(dev.state.destBucket)).includes(recordKey(key))).toBe(false);
  }, 300_000);

  it('an instance killed mid-resize is retried in a fresh one; killed every time, the photo ends crashed', async () => {
    const cwd = await img.tempDir('imgpipe-crashed-');
    const file = await noisePng(path.join(cwd, 'photos'), 'doomed.png');
    dev = await startDev(cwd, { args: ['--resize-concurrency', '1', ...SLOW_SPEC] });
    const key = await uploadOne(cwd, file, SLOW_SPEC);
    // kill -9 of each instance as it STARTs the resize (seconds of work ahead of it, so the kill
    // lands mid-resize): an out-of-memory kill or a segfault in a decoder, as the function meets them.
    const killed: number[] = [];
    await eventually(async () => {
      for (const l of devLines(dev!)) {
        if (l.msg !== 'START' || killed.includes(l.pid as number)) continue;
        killed.push(l.pid as number);
        process.kill(l.pid as number, 'SIGKILL'); // dev's own child, started for this test
      }
      await dev!.get(dev!.state.destBucket, failureKey(key)); // until the record is there
    }, 240_000);

    const record = JSON.parse((await dev.get(dev.state.destBucket, failureKey(key))).toString()) as FailedRecord;
    expect(record).toMatchObject({ status: 'failed', source: { key }, code: 'crashed', attempts: MAX_RECEIVE_COUNT });
    expect(killed).toHaveLength(MAX_RECEIVE_COUNT); // three instances, one per receive
    const died = devLines(dev).filter((l) => l.msg === 'resize ended without an answer');
    expect(died.map((l) => [l.code, l.receiveCount, l.error])).toEqual([1, 2, 3].map((n) => ['crashed', n, 'the instance was killed (SIGKILL) mid-resize']));
    expect(devLines(dev).filter((l) => l.msg === 'END')).toEqual([]);

    const watch = await runCli(['watch', '--local', '--timeout', '600', ...SLOW_SPEC], { cwd, timeoutMs: 120_000 });
    expect(watch.code, watch.stdout + watch.stderr).toBe(1);
    expect(watch.stdout + watch.stderr).toContain(key);
  }, 300_000);

  it('--resize-concurrency 1 with 50 photos: never two resizes at once, and every photo done', async () => {
    const cwd = await img.tempDir('imgpipe-one-at-a-time-');
    await writeNoiseJpegs(path.join(cwd, 'photos'), 50);
    dev = await startDev(cwd, { args: ['--resize-concurrency', '1'] });
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd, timeoutMs: 240_000 });
    expect(up.code, up.stderr).toBe(0);
    // The instances' START and END lines reach dev's stdout in causal order: an instance is handed
    // the next event only after the last one's END went out.
    await eventually(() => expect(devLines(dev!).filter((l) => l.msg === 'END')).toHaveLength(50), 30_000);
    let running = 0;
    let most = 0;
    for (const l of devLines(dev)) {
      if (l.msg === 'START') most = Math.max(most, ++running);
      if (l.msg === 'END') running--;
    }
    expect(most).toBe(1);
    expect(devLines(dev).filter((l) => l.msg === 'START')).toHaveLength(50);
    const pids = new Set(devLines(dev).filter((l) => l.msg === 'START').map((l) => l.pid as number));
    expect(pids.size).toBe(1); // one warm instance did them all
    // The warm instance, still up: the function's memory as its heap limit, and an old generation
    // that starts at 64 MB (below that, each photo's pixel Buffers set off a full mark-compact).
    const argv = readFileSync(`/proc/${[...pids][0]}/cmdline`, 'utf8').split('\0');
    expect(argv).toEqual(expect.arrayContaining(['--max-old-space-size=1769', '--initial-old-space-size=64']));
  }, 300_000);
});
