// Where the photos without a record are: `imgpipe dev --resize-concurrency 1` with a slow spec and
// twelve photos. The local queue's backlog (POST /backlog) falls as the one instance works through
// it, never more than one being resized; a `watch` that times out while photos are still queued
// says so, and how to wait on, rather than a bare "missing"; the same watch again ends done.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { sleep } from './helpers/s3.js';

const PHOTOS = ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'mate-Wood.jpg', 'plasma-Kite.jpg', 'mate-Garden.jpg', 'lomiri16-Bridge_by_Sander_Klootwijk.jpg'];

describe('the backlog of the local queue', () => {
  let cwd: string;
  let dev: DevProcess;
  let keys: string[];
  const backlog = async (): Promise<{ queued: number; inFlight: number }> => {
    const res = await fetch(`${dev.state.apiUrl}/backlog`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys }) });
    expect(res.status).toBe(200);
    return (await res.json()) as { queued: number; inFlight: number };
  };

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-backlog-');
    await mkdir(path.join(cwd, 'photos'));
    // Twelve photos (each twice, at two sizes) and AVIF at 2048: seconds of work each, one at a time.
    const sharp = (await import('sharp')).default;
    for (const [i, p] of PHOTOS.entries()) {
      await copyFile(img.corpusFile(p), path.join(cwd, 'photos', p));
      await writeFile(path.join(cwd, 'photos', `small-${i}.jpg`), await sharp(img.corpusFile(p)).resize(1600).jpeg().toBuffer());
    }
    await writeFile(path.join(cwd, 'imgpipe.config.json'), JSON.stringify({ variants: [{ name: 'big', width: 2048, format: 'avif', quality: 60 }] }));
    dev = await startDev(cwd, { args: ['--resize-concurrency', '1'] });
    const up = await runCli(['upload', 'photos', '--local', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    keys = (JSON.parse(up.stdout) as { keys: string[] }).keys;
    expect(keys).toHaveLength(12);
  }, 120_000);
  afterAll(async () => dev?.stop());

  it('a watch that times out with photos still queued says so; the backlog falls to nothing, one resize at a time; the same watch then ends done', async () => {
    const early = await runCli(['watch', '--local', '--timeout', '1', '--json'], { cwd });
    expect(early.code).toBe(1);
    const doc = JSON.parse(early.stdout) as { timedOut: boolean; missing: string[]; backlog?: { queued: number; inFlight: number } };
    expect(doc.timedOut).toBe(true);
    expect(doc.backlog).toBeDefined();
    expect(doc.backlog!.queued + doc.backlog!.inFlight).toBeGreaterThan(0);
    expect(doc.backlog!.queued + doc.backlog!.inFlight).toBeLessThanOrEqual(doc.missing.length);
    expect(early.stderr).toMatch(new RegExp(`^timed out after 1\\.00 s: ${doc.missing.length} of 12 images have no record; the queue still holds \\d+ queued, [01] resizing of them: run the same watch again to wait on:$`, 'm'));

    const seen: number[] = [];
    for (;;) {
      const b = await backlog();
      expect(b.inFlight).toBeLessThanOrEqual(1);
      seen.push(b.queued + b.inFlight);
      if (b.queued + b.inFlight === 0) break;
      await sleep(250);
    }
    // It only ever falls (nothing new was queued), and it reached nothing.
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(seen.at(-1)).toBe(0);
    const again = await runCli(['watch', '--local', '--timeout', '300', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, done: 12, missing: [] });
    expect(JSON.parse(again.stdout).backlog).toBeUndefined();
  }, 400_000);

  it('POST /backlog refuses what is not a list of keys', async () => {
    for (const body of ['{"keys":"a"}', '{"keys":[1]}', 'not json', JSON.stringify({ keys: Array(1001).fill('k') })]) {
      const res = await fetch(`${dev.state.apiUrl}/backlog`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body.slice(0, 20)).toBe(400);
    }
  });
});
