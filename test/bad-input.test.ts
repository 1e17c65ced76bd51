// Bad input, each its own test: one line naming the file and the reason, the rest of the batch
// goes on, exit 1, and nothing partial or wrong in either bucket.
import { copyFile, mkdir, symlink, writeFile, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { inspectFile } from '../src/files/inspect.js';
import { requestUploads } from '../src/api/client.js';
import { putWithRetry } from '../src/s3/put.js';
import { BIN, runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

type Maker = (dir: string) => Promise<string>; // writes the bad file, returns its path

const write = (name: string, data: Buffer | string | (() => Promise<Buffer> | Buffer)): Maker => async (dir) => {
  const p = path.join(dir, name);
  await writeFile(p, typeof data === 'function' ? await data() : data);
  return p;
};

const CASES: [string, Maker, RegExp][] = [
  ['zero-byte file', write('empty.jpg', Buffer.alloc(0)), /empty file \(0 bytes\)$/],
  ['truncated JPEG', write('truncated.jpg', img.truncatedJpeg), /corrupt or truncated image: /],
  ['PNG with a bad CRC', write('badcrc.png', img.badCrcPng), /damaged PNG: chunk "IDAT" fails its CRC check$/],
  ['text named .jpg', write('notes.jpg', 'shopping list\nmilk\n'), /a text file, not an image$/],
  ['HTML named .png', write('page.png', '<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>'), /an HTML document, not an image$/],
  ['SVG', write('vector.png', '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "xx">]><svg xmlns="http://www.w3.org/2000/svg"><image href="http://169.254.169.254/latest"/></svg>'), /SVG is not accepted/],
  ['PNG header claiming 50000×50000', write('bomb.png', () => img.bombPng()), /50000×50000 \(2500\.0 MP\), over the 100 MP limit/],
  ['animated GIF with thousands of frames', write('frames.gif', () => img.manyFrameGif(3000)), /animation of 3000 frames .* over the limit of 1000 frames$/],
  ['multi-page TIFF', write('pages.tif', () => img.multiPageTiff(3)), /multi-page TIFF \(3 pages\)/],
  ['symlink loop', async (dir) => {
    const p = path.join(dir, 'loop.jpg');
    await symlink(p, p);
    return p;
  }, /symlink loop/],
];

describe('bad input through `imgpipe upload`', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    cwd = await img.tempDir('imgpipe-bad-');
    await stack.adopt(cwd);
  });
  afterAll(async () => stack?.stop());

  it.each(CASES)('%s: one clear line, the rest uploaded, exit 1, nothing wrong stored', async (label, make, reason) => {
    const dir = path.join(cwd, label.replace(/\W+/g, '-'));
    await mkdir(dir);
    // A good photo of its own per case: the same bytes twice would be "already there" (dedupe).
    await writeFile(path.join(dir, 'good.jpg'), await sharp(img.corpusFile('mate-Aqua.jpg')).resize(640).jpeg({ quality: 60 + CASES.findIndex(([l]) => l === label) }).toBuffer());
    const bad = await make(dir);
    const before = await stack.list(stack.sourceBucket);
    const r = await runCli(['upload', dir, '--local', '--manifest', `${label}.json`, '--json'], { cwd });
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`error ${bad}: `)).toBe(true);
    expect(lines[0]).toMatch(reason);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, uploaded: 1, failed: 1 });
    const added = (await stack.list(stack.sourceBucket)).filter((k) => !before.includes(k));
    expect(added).toEqual([expect.stringMatching(/\/good\.jpg$/)]);
    expect((await stack.get(stack.sourceBucket, added[0])).equals(await readFile(path.join(dir, 'good.jpg')))).toBe(true);
  });

  it('an unreadable file', async (ctx) => {
    const { chmod } = await import('node:fs/promises');
    const { spawnSync } = await import('node:child_process');
    // Root reads a mode-0 file: as root, the CLI runs as nobody, in a folder of its own that
    // nobody may write (its embedded stack, state and home there), so the file is really unreadable.
    const asRoot = process.getuid?.() === 0;
    // …when nobody can run this checkout's CLI at all (a clone inside a 0700 home, say), it cannot.
    if (asRoot && spawnSync(process.execPath, [BIN, '--version'], { uid: 65534, gid: 65534 }).status !== 0) {
      process.stdout.write('bad-input: skip the unreadable-file case: running as root, and user nobody cannot run this checkout\n');
      ctx.skip();
    }
    const home = asRoot ? await img.tempDir('imgpipe-nobody-') : cwd;
    if (asRoot) await chmod(home, 0o777);
    const dir = path.join(home, 'unreadable');
    await mkdir(dir, { mode: 0o755 });
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(dir, 'locked.jpg'));
    await chmod(path.join(dir, 'locked.jpg'), 0);
    const r = asRoot
      ? await runCli(['upload', dir, '--local', '--manifest', 'unreadable.json'], { cwd: home, env: { HOME: home, XDG_STATE_HOME: path.join(home, 'state') }, uid: 65534, gid: 65534 })
      : await runCli(['upload', dir, '--local', '--manifest', 'unreadable.json'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/locked\.jpg: permission denied/);
  });

  it('odd names upload under safe, readable keys', async () => {
    const dir = path.join(cwd, 'names');
    await mkdir(dir);
    const names = ['ctl\u0007bell\u001b[31m.jpg', 'a+b %20 #1 ?.jpg', '..dots.jpg', 'caf\u00e9.jpg', 'cafe\u0301 nfd.jpg', `${'長'.repeat(80)}.jpg`];
    // Each its own bytes: the same bytes under six names would be stored once (dedupe).
    for (const [i, n] of names.entries()) await writeFile(path.join(dir, n), await sharp(img.corpusFile('plasma-Grey.jpg')).resize(400 + i).jpeg().toBuffer());
    // A dot-led name is hidden, so the folder walk skips it: name it explicitly.
    const r = await runCli(['upload', dir, path.join(dir, '..dots.jpg'), '--local', '--manifest', 'names.json', '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    const keyOf = (n: string) => doc.uploads.find((u: { relPath: string }) => u.relPath === n).key.split('/').pop();
    expect(keyOf(names[0])).toBe('ctlbell[31m.jpg'); // control characters dropped
    expect(keyOf(names[1])).toBe('a+b %20 #1 ?.jpg');
    expect(keyOf(names[2])).toBe('dots.jpg');
    expect(keyOf(names[3])).toBe('caf\u00e9.jpg');
    expect(keyOf(names[4])).toBe('caf\u00e9 nfd.jpg'); // NFD → NFC
    expect(Buffer.byteLength(keyOf(names[5]))).toBeLessThanOrEqual(200);
    // Every key really exists, byte-exact.
    for (const u of doc.uploads) expect((await stack.get(stack.sourceBucket, u.key)).equals(await readFile(u.path))).toBe(true);
  });

  it('a file deleted between scan and upload', async () => {
    const dir = await img.tempDir();
    const p = path.join(dir, 'gone.jpg');
    await copyFile(img.corpusFile('mate-Aqua.jpg'), p);
    await unlink(p);
    expect(await inspectFile(p, DEFAULT_SPEC)).toEqual({ ok: false, reason: 'file disappeared before upload' });
  });

  it('a file deleted or changed during upload is refused and reported, nothing stored', async () => {
    const dir = await img.tempDir();
    const p = path.join(dir, 'moving.jpg');
    await writeFile(p, await sharp(img.corpusFile('mate-Aqua.jpg')).resize(700).jpeg().toBuffer()); // bytes the bucket has not seen
    const inspected = await inspectFile(p, DEFAULT_SPEC);
    if (!inspected.ok) throw new Error(inspected.reason);
    const before = await stack.list(stack.sourceBucket);
    const [answer] = await requestUploads([{ name: 'moving.jpg', size: inspected.size, contentType: inspected.contentType, sha256: inspected.sha256 }], { api: stack.apiUrl });
    if (!('url' in answer)) throw new Error(JSON.stringify(answer));
    // Same size, other bytes: S3 refuses the body against the signed SHA-256.
    const changed = await readFile(p);
    changed[changed.length - 100] ^= 0xff;
    await writeFile(p, changed);
    const sign = async () => ({ url: answer.url, headers: answer.headers });
    const err = await putWithRetry({ path: p, size: inspected.size, sign }).catch((e) => e);
    expect(err.message).toMatch(/^file changed during upload: refused by S3 \(BadDigest: /);
    await unlink(p);
    const gone = await putWithRetry({ path: p, size: inspected.size, sign }).catch((e) => e);
    expect(gone.message).toBe('file deleted during upload');
    expect(await stack.list(stack.sourceBucket)).toEqual(before);
  });
});
