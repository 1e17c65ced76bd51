// File names that are not valid UTF-8 (Linux allows any bytes but '/' and NUL). Node decodes such a
// name with U+FFFD in place of the bad bytes, and that string names no file: the scan keeps the
// name's real bytes for every read, and shows the U+FFFD form (which the key keeps, readable).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestUploads } from '../src/api/client.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { inspectFile } from '../src/files/inspect.js';
import { scanPaths } from '../src/files/scan.js';
import { putWithRetry } from '../src/s3/put.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** A path whose last part holds raw bytes: `dir/<before><bytes><after>`. */
const oddPath = (dir: string | Buffer, before: string, bytes: number[], after: string): Buffer =>
  Buffer.concat([Buffer.from(dir), Buffer.from(`/${before}`), Buffer.from(bytes), Buffer.from(after)]);

/** A JPEG of its own (no two tests, or files, share bytes: the same bytes would dedupe). */
let variant = 0;
const jpeg = () => sharp(img.corpusFile('mate-Aqua.jpg')).resize(320 + variant++).jpeg({ quality: 70 }).toBuffer();

interface Upload {
  path: string;
  relPath: string;
  status: string;
  key?: string;
  error?: string;
}

const canHaveOddNames = process.platform === 'linux';

describe.runIf(canHaveOddNames)('names that are not valid UTF-8', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    cwd = await img.tempDir('imgpipe-oddbytes-');
    await stack.adopt(cwd);
  });
  afterAll(async () => stack?.stop());

  it('upload: the odd name and a normal one both uploaded, under a readable key, byte-exact', async () => {
    const dir = path.join(cwd, 'photos');
    await mkdir(dir);
    const odd = await jpeg();
    const normal = await jpeg();
    writeFileSync(oddPath(dir, 'photo-', [0xff, 0xfe], '.jpg'), odd);
    writeFileSync(path.join(dir, 'normal.jpg'), normal);

    const r = await runCli(['upload', dir, '--local', '--manifest', 'photos.json', '--json'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, files: 2, uploaded: 2, failed: 0 });
    const uploads = doc.uploads as Upload[];
    const oddUpload = uploads.find((u) => u.relPath === 'photo-\ufffd\ufffd.jpg')!;
    expect(oddUpload).toMatchObject({ path: path.join(dir, 'photo-\ufffd\ufffd.jpg'), status: 'uploaded' });
    expect(oddUpload.key).toMatch(/^uploads\/[a-z2-7]{52}\/photo-\ufffd\ufffd\.jpg$/);
    const normalUpload = uploads.find((u) => u.relPath === 'normal.jpg')!;
    expect(normalUpload.key).toMatch(/^uploads\/[a-z2-7]{52}\/normal\.jpg$/);
    expect(sha256(await stack.get(stack.sourceBucket, oddUpload.key!))).toBe(sha256(odd));
    expect(sha256(await stack.get(stack.sourceBucket, normalUpload.key!))).toBe(sha256(normal));
  });

  it('upload: names that differ only in their bad bytes, and a folder with a bad name, are all kept apart', async () => {
    const dir = path.join(cwd, 'twins');
    await mkdir(dir);
    const files = [oddPath(dir, 'twin-', [0xff], '.jpg'), oddPath(dir, 'twin-', [0xfe], '.jpg')];
    const sub = oddPath(dir, 'album-', [0xc3, 0x28], ''); // a broken two-byte sequence
    mkdirSync(sub);
    files.push(oddPath(sub, 'inner-', [0x80], '.jpg'));
    const bytes = new Map<string, Buffer>();
    for (const f of files) {
      const data = await jpeg();
      writeFileSync(f, data);
      bytes.set(f.toString('hex'), data);
    }

    const scan = await scanPaths([dir]);
    expect(scan.problems).toEqual([]);
    expect(scan.files.map((f) => f.relPath)).toEqual(['album-\ufffd(/inner-\ufffd.jpg', 'twin-\ufffd.jpg', 'twin-\ufffd.jpg']);
    expect(scan.files.map((f) => f.fsPath?.toString('hex')).sort()).toEqual(files.map((f) => f.toString('hex')).sort());

    const r = await runCli(['upload', dir, '--local', '--manifest', 'twins.json', '--json'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, files: 3, uploaded: 3, failed: 0 });
    const keys = (doc.uploads as Upload[]).map((u) => u.key!);
    expect(keys.map((k) => k.split('/').pop()).sort()).toEqual(['inner-\ufffd.jpg', 'twin-\ufffd.jpg', 'twin-\ufffd.jpg']);
    // Each file's own bytes under its own key.
    const stored = new Set(await Promise.all(keys.map(async (k) => sha256(await stack.get(stack.sourceBucket, k)))));
    expect(stored).toEqual(new Set([...bytes.values()].map(sha256)));
  });

  it('upload: a dangling symlink with a bad name is one clear line, the rest uploaded, exit 1', async () => {
    const dir = path.join(cwd, 'dangling');
    await mkdir(dir);
    const good = await jpeg();
    writeFileSync(path.join(dir, 'good.jpg'), good);
    const target = oddPath(dir, 'target-', [0xff], '.jpg');
    writeFileSync(target, await jpeg());
    symlinkSync(target, oddPath(dir, 'link-', [0xfe], '.jpg'));
    unlinkSync(target);

    const r = await runCli(['upload', dir, '--local', '--manifest', 'dangling.json', '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`error ${path.join(dir, 'link-\ufffd.jpg')}: no such file or directory`]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, uploaded: 1, failed: 1 });
    const key = (doc.uploads as Upload[]).find((u) => u.status === 'uploaded')!.key!;
    expect(key).toMatch(/\/good\.jpg$/);
    expect((await stack.get(stack.sourceBucket, key)).equals(good)).toBe(true);
  });

  it('inspect reads the real file (sharp included) and put sends its bytes; a deleted one fails as before', async () => {
    const dir = await img.tempDir();
    const bomb = oddPath(dir, 'bomb-', [0xff], '.png');
    writeFileSync(bomb, img.bombPng());
    // The header check reads the file by its real name, not the bytes of the path.
    expect(await inspectFile(bomb, DEFAULT_SPEC)).toEqual({ ok: false, reason: expect.stringMatching(/50000×50000 \(2500\.0 MP\), over the 100 MP limit/) });
    const truncated = oddPath(dir, 'cut-', [0xfe], '.jpg');
    writeFileSync(truncated, img.truncatedJpeg());
    expect(await inspectFile(truncated, DEFAULT_SPEC)).toMatchObject({ ok: false, reason: expect.stringMatching(/^corrupt or truncated image: /) });

    const p = oddPath(dir, 'moving-', [0xff, 0xfe], '.jpg');
    writeFileSync(p, await jpeg());
    const inspected = await inspectFile(p, DEFAULT_SPEC);
    if (!inspected.ok) throw new Error(inspected.reason);
    expect(inspected.sha256).toBe(createHash('sha256').update(readFileSync(p)).digest('base64'));
    const [answer] = await requestUploads([{ name: 'moving-\ufffd\ufffd.jpg', size: inspected.size, contentType: inspected.contentType, sha256: inspected.sha256 }], { api: stack.apiUrl });
    if (!('url' in answer)) throw new Error(JSON.stringify(answer));
    const sign = async () => ({ url: answer.url, headers: answer.headers });
    expect(await putWithRetry({ path: p, size: inspected.size, sign })).toBe(0);
    expect((await stack.get(stack.sourceBucket, answer.key)).equals(readFileSync(p))).toBe(true);

    unlinkSync(p);
    expect(await inspectFile(p, DEFAULT_SPEC)).toEqual({ ok: false, reason: 'file disappeared before upload' });
    const gone = await putWithRetry({ path: p, size: inspected.size, sign }).catch((e) => e);
    expect(gone.message).toBe('file deleted during upload');
  });
});
