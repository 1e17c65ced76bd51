// A deleted source takes its variants and records with it, through `imgpipe dev` as a user runs
// it: three photos uploaded with --wait, one deleted with aws-cli, one with the SDK's
// DeleteObjects, and a delete racing a re-upload of the same bytes. The destination ends agreeing
// with the source: photo present ⇒ its variants and done record; photo absent ⇒ nothing of it.
import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey, outputKeys, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { BIN, cliEnv, runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { eventually } from './helpers/s3.js';
import { have, TOOLS } from './helpers/tools.js';

const PHOTOS = ['mate-Aqua.jpg', 'mate-Garden.jpg', 'plasma-Grey.jpg'];
const hasAws = have(TOOLS.aws, 'dev-delete.test');

/** What the pipeline writes for a photo under the default spec (dev runs with it here). */
const outputsOf = (key: string) => [recordKey(key), ...outputKeys(key, DEFAULT_SPEC).map((o) => o.key)];

describe.skipIf(!hasAws)('deleting a source on the local stack', () => {
  let cwd: string;
  let dev: DevProcess;
  let keys: string[];

  /** Nothing queued or being handled for these keys (POST /backlog). */
  const settled = (of: string[]) =>
    eventually(async () => {
      const res = await fetch(`${dev.state.apiUrl}/backlog`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: of }) });
      expect(await res.json()).toEqual({ queued: 0, inFlight: 0 });
    }, 60_000);

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-dev-delete-');
    await mkdir(path.join(cwd, 'photos'));
    for (const p of PHOTOS) await copyFile(img.corpusFile(p), path.join(cwd, 'photos', p));
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    keys = (JSON.parse(up.stdout) as { keys: string[] }).keys;
    expect(keys).toHaveLength(3);
  }, 180_000);
  afterAll(async () => dev?.stop());

  it('aws-cli `s3 rm` of one source and DeleteObjects of another: their variants, done and failure records go, and nothing else', async () => {
    const [a, b, c] = [...keys].sort();
    const dest = await dev.list(dev.state.destBucket);
    for (const k of keys) expect(dest).toEqual(expect.arrayContaining(outputsOf(k)));
    // A stale failure record of a's (an earlier upload that failed): it goes too.
    await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.destBucket, Key: failureKey(a), Body: '{}' }));
    const before = await dev.list(dev.state.destBucket);

    const rm = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile('bash', ['-c', `$(${process.execPath} ${BIN} dev --aws-cli) s3 rm "s3://${dev.state.sourceBucket}/${a}"`], { cwd, env: cliEnv(), encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    expect(rm.code, rm.out).toBe(0);
    const multi = await dev.s3.send(new DeleteObjectsCommand({ Bucket: dev.state.sourceBucket, Delete: { Objects: [{ Key: b }] } }));
    expect(multi.Deleted?.map((d) => d.Key)).toEqual([b]);

    const gone = new Set([...outputsOf(a), failureKey(a), ...outputsOf(b)]);
    await eventually(async () => expect(await dev.list(dev.state.destBucket)).toEqual(before.filter((k) => !gone.has(k))), 60_000);
    await settled([a, b]);
    expect(await dev.list(dev.state.destBucket)).toEqual(before.filter((k) => !gone.has(k)));
    expect(await dev.list(dev.state.sourceBucket)).toEqual([c]);
    expect(dev.output().stderr).not.toMatch(/failed/);
  }, 120_000);

  it('a delete racing a re-upload of the same bytes ends consistent with what the source holds', async () => {
    const c = [...keys].sort()[2];
    const bytes = await dev.get(dev.state.sourceBucket, c);
    const outcomes: string[] = [];
    const del = () => dev.s3.send(new DeleteObjectCommand({ Bucket: dev.state.sourceBucket, Key: c }));
    const put = () => dev.s3.send(new PutObjectCommand({ Bucket: dev.state.sourceBucket, Key: c, Body: bytes, ContentType: 'image/jpeg' }));
    for (let round = 0; round < 5; round++) {
      // Rounds 0-3: both in flight together, the put sent first or the delete; the last round puts
      // and then deletes, so the photo ends absent with its create and removal events both queued.
      if (round === 4) {
        await put();
        await del();
      } else await Promise.all(round % 2 ? [del(), put()] : [put(), del()]);
      await settled([c]);
      const present = (await dev.list(dev.state.sourceBucket)).includes(c);
      const dest = await dev.list(dev.state.destBucket);
      const mine = dest.filter((k) => k.includes(c.replace(/\.[^./]+$/, '')));
      if (present) expect(mine.sort()).toEqual(outputsOf(c).sort());
      else expect(mine).toEqual([]);
      outcomes.push(present ? 'present' : 'absent');
    }
    console.log(`[dev-delete] delete racing a re-upload, 5 rounds: ${outcomes.join(', ')}`);
    expect(outcomes[4]).toBe('absent');
  }, 180_000);
});
