// Upload state across runs: the ledger remembers every upload of a working folder (so unchanged
// files are not even read again), a failed or empty run leaves the last manifest for `watch`, and
// downloads land under each file's own path.
import { mkdir, readFile, stat, utimes, writeFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { DEFAULT_LEDGER, Ledger } from '../src/files/ledger.js';
import type { UploadResult } from '../src/jobs/upload.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

describe('the ledger and the manifest across runs', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack();
    cwd = await img.tempDir('imgpipe-ledger-');
    await stack.adopt(cwd);
    for (const trip of ['trip1', 'trip2']) {
      await mkdir(path.join(cwd, 'trips', trip), { recursive: true });
      const source = img.corpusFile(trip === 'trip1' ? 'mate-Aqua.jpg' : 'plasma-Grey.jpg');
      await writeFile(path.join(cwd, 'trips', trip, 'IMG_0001.jpg'), await sharp(source).resize(1200).jpeg().toBuffer());
    }
  });
  afterAll(async () => stack?.stop());

  it('two folders holding the same file name download to two files, with an index', async () => {
    const r = await runCli(['upload', 'trips', '--local', '--download', 'resized', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.wait.downloads).toMatchObject({ files: 6, errors: [] });
    for (const trip of ['trip1', 'trip2']) {
      const uploaded = doc.uploads.find((u: { relPath: string }) => u.relPath === `${trip}/IMG_0001.jpg`);
      const variant = await readFile(path.join(cwd, 'resized', '320', trip, 'IMG_0001.jpg'));
      expect(variant.equals(await stack.get(stack.destBucket, outputKey(uploaded.key, DEFAULT_SPEC.variants[0], DEFAULT_SPEC)))).toBe(true);
    }
    const index = JSON.parse(await readFile(path.join(cwd, 'resized', 'index.json'), 'utf8'));
    expect(index.files.map((f: { file: string }) => f.file).sort()).toEqual(['trip1/IMG_0001.jpg', 'trip2/IMG_0001.jpg']);
    expect(index.files[0].variants[0]).toMatchObject({ name: '320', width: 320, format: 'jpeg', bytes: expect.any(Number) });
  });

  it('records every upload in the ledger, per pipeline', async () => {
    const ledger = await Ledger.open(path.join(cwd, DEFAULT_LEDGER));
    expect(ledger.size).toBe(2);
    const entry = ledger.lookup(`local:${stack.dir}`, path.join(cwd, 'trips', 'trip1', 'IMG_0001.jpg'));
    expect(entry).toMatchObject({ size: (await stat(path.join(cwd, 'trips', 'trip1', 'IMG_0001.jpg'))).size, key: expect.stringMatching(/^uploads\/[a-z2-7]{52}\/IMG_0001\.jpg$/) });
  });

  it('a file with the same size and mtime is not read again: the ledger answers for it', async () => {
    const file = path.join(cwd, 'trips', 'trip1', 'IMG_0001.jpg');
    const before = await stat(file);
    // Change one byte but keep size and mtime: only a re-read could notice.
    const bytes = await readFile(file);
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(file, bytes);
    await utimes(file, before.atime, before.mtime);
    const r = await runCli(['upload', 'trips', '--local', '--json'], { cwd });
    const doc = JSON.parse(r.stdout) as UploadResult;
    expect(doc, r.stdout + r.stderr).toMatchObject({ uploaded: 0, exists: 2 });
    // A real change moves the mtime: then it is read, hashed and uploaded again.
    await utimes(file, new Date(), new Date());
    const again = JSON.parse((await runCli(['upload', 'trips', '--local', '--json'], { cwd })).stdout) as UploadResult;
    expect(again).toMatchObject({ uploaded: 1, exists: 1 });
  });

  it('a run that uploads nothing (a typo) leaves the manifest, and watch still finds the last upload', async () => {
    const manifest = await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8');
    const typo = await runCli(['upload', 'trisp', '--local'], { cwd });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/trisp: no such file or directory/);
    expect(await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8')).toBe(manifest);
    const w = await runCli(['watch', '--json'], { cwd });
    expect(w.code, w.stderr).toBe(0);
    expect(JSON.parse(w.stdout)).toMatchObject({ ok: true, images: 2 });
  });

  it('another working folder has its own ledger and manifest', async () => {
    const other = await img.tempDir('imgpipe-ledger2-');
    await stack.adopt(other);
    await copyFile(path.join(cwd, 'trips', 'trip2', 'IMG_0001.jpg'), path.join(other, 'same.jpg'));
    const r = JSON.parse((await runCli(['upload', 'same.jpg', '--local', '--json'], { cwd: other })).stdout) as UploadResult;
    expect(r).toMatchObject({ uploaded: 0, exists: 1 }); // the API knows the bytes
    expect(existsSync(path.join(other, DEFAULT_LEDGER))).toBe(true);
  });
});
