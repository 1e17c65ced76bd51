// `imgpipe reprocess` through `imgpipe dev` as a subprocess: five photos resized with one spec,
// then `dev` restarted on the same data folder with another (the 1024 variant's quality changed,
// a 640 added). The dry run counts all five; `reprocess --wait` gives each the new variants under
// new keys while the old keys keep their bytes; a second run queues nothing; a --widths that is not
// the pipeline's is refused, as upload refuses it.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKeys, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC, parseSpec, specHash, widthVariants } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

const PHOTOS = ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'mate-Wood.jpg', 'plasma-Kite.jpg', 'mate-Garden.jpg'];
const NEW_VARIANTS = [...widthVariants([320]), ...widthVariants([640]), { ...widthVariants([1024])[0], quality: 70 }, ...widthVariants([2048])];
const NEW_SPEC = parseSpec({ variants: NEW_VARIANTS });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('reprocess after a spec change', () => {
  let cwd: string;
  let dev: DevProcess;
  let keys: string[];
  const before = new Map<string, string>(); // old variant key → its bytes' hash

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-reprocess-');
    await mkdir(path.join(cwd, 'photos'));
    for (const p of PHOTOS) await copyFile(img.corpusFile(p), path.join(cwd, 'photos', p));
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    keys = (JSON.parse(up.stdout) as { keys: string[] }).keys;
    for (const k of keys) for (const o of outputKeys(k, DEFAULT_SPEC)) before.set(o.key, sha(await dev.get(dev.state.destBucket, o.key)));
    expect(await dev.stop()).toBe(0);
    await writeFile(path.join(cwd, 'imgpipe.config.json'), JSON.stringify({ variants: NEW_VARIANTS }));
    dev = await startDev(cwd);
  }, 180_000);
  afterAll(async () => dev?.stop());

  it('counts, queues and finishes every photo made with the old spec; the old keys keep their bytes; a second run queues nothing', async () => {
    const dry = await runCli(['reprocess', '--local', '--dry-run', '--json'], { cwd });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ ok: true, dryRun: true, keys: 5, current: 0, queued: keys.map(() => expect.objectContaining({ why: 'spec' })) });
    const plainDry = await runCli(['reprocess', '--local', '-n'], { cwd });
    expect(plainDry.stdout).toContain('would queue 5 of 5 photos for resize (5 made with another spec, 0 failed before, 0 no record); 0 already this spec\'s');

    const run = await runCli(['reprocess', '--local', '--wait', '--json'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { queued: Array<{ key: string }>; wait: { ok: boolean; done: number } };
    expect(doc.queued.map((q) => q.key).sort()).toEqual([...keys].sort());
    expect(doc.wait).toMatchObject({ ok: true, done: 5 });
    const dest = new Set(await dev.list(dev.state.destBucket));
    for (const k of keys) {
      const record = JSON.parse((await dev.get(dev.state.destBucket, recordKey(k))).toString()) as { specHash: string; variants: Array<{ name: string; key: string }> };
      expect(record.specHash).toBe(specHash(NEW_SPEC));
      expect(record.variants.map((v) => [v.name, v.key])).toEqual(outputKeys(k, NEW_SPEC).map((o) => [o.variant, o.key]));
      for (const o of outputKeys(k, NEW_SPEC)) expect(dest.has(o.key), o.key).toBe(true);
    }
    // The 1024 variant changed, so its new keys are new; 320 and 2048 did not, so theirs are the same keys.
    const oldKeys = (k: string) => outputKeys(k, DEFAULT_SPEC).map((o) => o.key);
    const newKeys = (k: string) => outputKeys(k, NEW_SPEC).map((o) => o.key);
    expect(newKeys(keys[0]).filter((nk) => oldKeys(keys[0]).includes(nk)).map((nk) => nk.split('/')[0]).sort()).toEqual(['2048', '320']);
    for (const [key, hash] of before) expect(sha(await dev.get(dev.state.destBucket, key)), key).toBe(hash);

    const again = await runCli(['reprocess', '--local', '--json'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ queued: [], current: 5 });
  }, 240_000);

  it("refuses a --widths that is not the pipeline's, and an unknown key is one error line with exit 1", async () => {
    const widths = await runCli(['reprocess', '--local', '--widths', '100', '-n'], { cwd });
    expect(widths.code).toBe(2);
    expect(widths.stderr).toMatch(/100/);
    const unknown = await runCli(['reprocess', 'uploads/nope/a.jpg', keys[0], '--local'], { cwd });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('error uploads/nope/a.jpg: not in the source bucket');
  }, 60_000);
});
