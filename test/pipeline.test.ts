// The whole pipeline on the embedded stack as a user runs it: `imgpipe dev` in one process (with
// an API key), the CLI in others; real HTTP to the presign API, real S3 protocol, real sharp. dev
// and the upload run through the bin's first line, as `npx imgpipe` runs them.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKeys, recordKey } from '../src/core/keys.js';
import { planImage } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runCli, runCommand } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startDev, type DevProcess } from './helpers/dev.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('upload → resize → watch on the local stack', () => {
  let dev: DevProcess;
  let cwd: string;
  let photos: string;
  const names: string[] = [];

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-e2e-');
    dev = await startDev(cwd, { env: { IMGPIPE_API_KEY: 'e2e-secret-key' }, asCommand: true });
    photos = path.join(cwd, 'photos');
    await mkdir(path.join(photos, 'nested/deeper'), { recursive: true });
    for (const f of ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'lomiri16-Wine_by_Jakkub_Mede.jpg']) {
      await copyFile(img.corpusFile(f), path.join(photos, f));
      names.push(f);
    }
    const small = await sharp(img.corpusFile('plasma-Kite.jpg')).resize(1200).jpeg().toBuffer();
    for (const odd of ['with space.jpg', 'ünïcødé 写真.jpg', 'plus+sign.jpg', 'per%25cent.jpg', 'nested/deeper/hash#and?.jpg']) {
      await writeFile(path.join(photos, odd), small);
      names.push(odd);
    }
    await writeFile(path.join(photos, 'nested/alpha.png'), await img.alphaPng());
    names.push('nested/alpha.png');
  });

  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
    expect(existsSync(path.join(cwd, '.imgpipe/dev.json'))).toBe(false);
  });

  it("the bin's first line runs dev with one malloc arena (libvips' threads fragment one arena each otherwise)", () => {
    expect(dev.launched?.environ.MALLOC_ARENA_MAX).toBe('1');
  });

  it("the bin's first line starts dev's V8 old generation at 64 MB (each photo's Buffers set off a full GC below that), not resize-local's", async () => {
    expect(dev.launched?.nodeFlags).toEqual(['--initial-old-space-size=64']);
    const local = await runCommand(['resize-local', img.corpusFile('plasma-Grey.jpg'), '--out', path.join(cwd, 'resize-local-out')], { cwd });
    expect(local.code, local.stderr).toBe(0);
    expect(local.nodeFlags).toEqual([]); // there it buys 3 % of CPU for 13 MB of peak memory
  });

  it('dev requires its API key, and upload --local sends it from the state file', async () => {
    const denied = await fetch(`${dev.state.apiUrl}/uploads`, { method: 'POST', body: '{"files":[]}', headers: { 'content-type': 'application/json' } });
    expect(denied.status).toBe(401);
    expect(dev.state.apiKey).toBe('e2e-secret-key');
  });

  it('uploads a folder, every variant appears with the right size and format, and downloads them', async () => {
    const r = await runCommand(['upload', photos, '--local', '--wait', '--download', 'out', '--json'], { cwd, env: { IMGPIPE_API_KEY: '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.environ.MALLOC_ARENA_MAX).toBe('1');
    expect(r.nodeFlags).toEqual(['--initial-old-space-size=64']); // it may run the stack in-process
    const doc = JSON.parse(r.stdout);
    // The five odd names hold the same bytes: sent once, the other four recorded under its key.
    const unique = names.length - 4;
    expect(doc).toMatchObject({ ok: true, files: names.length, uploaded: unique, exists: 4, failed: 0 });
    expect(doc.wait).toMatchObject({ ok: true, images: unique, done: unique, expected: unique * 3, found: unique * 3, missing: [], failed: [] });
    expect(doc.wait.downloads).toMatchObject({ files: names.length * 3, errors: [] }); // every local file gets its variants

    const sources = await dev.list(dev.state.sourceBucket);
    expect(sources).toHaveLength(unique);
    const dest = await dev.list(dev.state.destBucket);
    expect(dest).toEqual(sources.flatMap((k) => [...outputKeys(k, DEFAULT_SPEC).map((o) => o.key), recordKey(k)]).sort());

    for (const u of doc.uploads) {
      // The stored object is the file, byte for byte; the key ends with the file's own name.
      const local = await readFile(u.path);
      expect(sha256(await dev.get(dev.state.sourceBucket, u.key))).toBe(sha256(local));
      if (u.status === 'uploaded') expect(u.key.endsWith(`/${u.relPath.split('/').pop()}`)).toBe(true);
      const plan = await planImage(u.path, DEFAULT_SPEC);
      for (const [i, o] of outputKeys(u.key, DEFAULT_SPEC).entries()) {
        const bytes = await dev.get(dev.state.destBucket, o.key);
        const m = await sharp(bytes).metadata();
        expect([o.key, m.format, m.width, m.height]).toEqual([o.key, 'jpeg', plan.outputs[i].width, plan.outputs[i].height]);
        // Downloaded where people look: out/<variant>/<the file's own path>, one per local file.
        const local = `${o.variant}/${u.relPath.replace(/\.[^./]+$/, '')}.jpg`;
        expect(sha256(await readFile(path.join(cwd, 'out', ...local.split('/'))))).toBe(sha256(bytes));
      }
    }
    const index = JSON.parse(await readFile(path.join(cwd, 'out', 'index.json'), 'utf8'));
    expect(index.files.map((f: { file: string }) => f.file).sort()).toEqual(doc.uploads.map((u: { relPath: string }) => u.relPath).sort());
    for (const f of index.files) {
      expect(f.source).toBe(doc.uploads.find((u: { relPath: string }) => u.relPath === f.file).key);
      expect(f.variants.map((v: { name: string; file: string }) => v.file)).toEqual(['320', '1024', '2048'].map((w) => `${w}/${f.file.replace(/\.[^./]+$/, '')}.jpg`));
    }
    // The manifest records what went where, as valid JSON.
    const manifest = JSON.parse(await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8'));
    // The same words as --json: each file sent 'uploaded', each copy of one 'exists'.
    expect(manifest.files.map((f: { relPath: string; status: string }) => [f.relPath, f.status])).toEqual(doc.uploads.map((u: { relPath: string; status: string }) => [u.relPath, u.status]));
    expect(manifest.files.filter((f: { status: string }) => f.status === 'exists')).toHaveLength(4);
  });

  it('a re-run uploads nothing and says so', async () => {
    const before = await dev.list(dev.state.sourceBucket);
    const r = await runCli(['upload', photos, '--local'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`0 uploaded, ${names.length} already there, 0 failed`));
    expect(r.stdout).toMatch(/skip with space\.jpg: (already there|same bytes as [^,]+, stored) as uploads\//);
    expect(await dev.list(dev.state.sourceBucket)).toEqual(before);
  });

  it('watch with no arguments waits for the last upload\'s variants', async () => {
    const r = await runCli(['watch', '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, images: names.length - 4, expected: (names.length - 4) * 3, found: (names.length - 4) * 3 });
  });

  it('watch --timeout exits 1 listing exactly the images without a record', async () => {
    const r = await runCli(['watch', 'uploads/never/there.jpg', '--local', '--timeout', '1', '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, timedOut: true, found: 0, done: 0, missing: ['uploads/never/there.jpg'] });
    expect(r.stderr).toContain('missing uploads/never/there.jpg');
  });

  it('bad files get one line each, the rest goes up, exit 1', async () => {
    const bad = path.join(cwd, 'bad');
    await mkdir(bad);
    await copyFile(img.corpusFile('mate-Wood.jpg'), path.join(bad, 'good.jpg'));
    await writeFile(path.join(bad, 'text.jpg'), 'hello');
    await writeFile(path.join(bad, 'empty.png'), Buffer.alloc(0));
    await writeFile(path.join(bad, 'page.png'), '<!DOCTYPE html><html><body>hi</body></html>');
    const r = await runCli(['upload', bad, '--local', '--manifest', 'bad.json', '--json'], { cwd });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n').sort();
    expect(lines).toEqual([
      expect.stringMatching(/^error .*bad\/empty\.png: empty file \(0 bytes\)$/),
      expect.stringMatching(/^error .*bad\/page\.png: an HTML document, not an image$/),
      expect.stringMatching(/^error .*bad\/text\.jpg: a text file, not an image$/),
    ]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, uploaded: 1, failed: 3 });
  });
});
