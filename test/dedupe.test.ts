// "Skip what the pipeline already has", decided by the content: the presign API answers "exists"
// for bytes the source bucket holds, so no folder, working directory or machine uploads a photo
// twice. PUTs go through a counting proxy: what reaches the server is what is counted.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadResult } from '../src/jobs/upload.js';
import { runCli } from './helpers/cli.js';
import { writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startStackBehindProxy, startTestStack, type TestStack } from './helpers/stack.js';

describe('the same photo is never uploaded twice', () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  let root: string;
  const puts = () => proxy.total(proxy.requests, 'PUT');

  let stopStack: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ stack, proxy, stop: stopStack } = await startStackBehindProxy());
    root = await img.tempDir('imgpipe-dedupe-');
    const a = await writeNoiseJpegs(path.join(root, 'A'), 6);
    await writeNoiseJpegs(path.join(root, 'B'), 3);
    // B also holds one of A's photos under another name: the same bytes.
    await copyFile(a[0], path.join(root, 'B', 'renamed-copy.jpg'));
  });
  afterAll(() => stopStack());

  async function upload(dir: string, cwd: string): Promise<UploadResult> {
    await stack.adopt(cwd);
    const r = await runCli(['upload', dir, '--local', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as UploadResult;
  }

  it('A, then B, then A again: the third run sends nothing, and B sends only what is new', async () => {
    const cwd = path.join(root, 'work');
    await mkdir(cwd);
    let before = puts();
    expect(await upload(path.join(root, 'A'), cwd)).toMatchObject({ uploaded: 6, exists: 0 });
    expect(puts() - before).toBe(6);

    before = puts();
    const b = await upload(path.join(root, 'B'), cwd);
    expect(b).toMatchObject({ uploaded: 3, exists: 1 });
    expect(puts() - before).toBe(3);
    const copy = b.uploads.find((u) => u.relPath === 'renamed-copy.jpg')!;
    expect(copy).toMatchObject({ status: 'exists', key: expect.stringMatching(/\/img-000\.jpg$/) }); // A's key for those bytes

    before = puts();
    expect(await upload(path.join(root, 'A'), cwd)).toMatchObject({ uploaded: 0, exists: 6 });
    expect(puts() - before).toBe(0);
    expect(await stack.list(stack.sourceBucket)).toHaveLength(9);
  });

  it('the same folder from another working directory (another manifest) sends nothing either', async () => {
    const elsewhere = path.join(root, 'elsewhere');
    await mkdir(elsewhere);
    const before = puts();
    const r = await upload(path.join(root, 'A'), elsewhere);
    expect(r).toMatchObject({ uploaded: 0, exists: 6, failed: 0 });
    expect(r.keys).toHaveLength(6); // --wait and watch still know every key
    expect(puts() - before).toBe(0);
  });

  it('a file changed since its upload is uploaded again, under the key of its new content', async () => {
    const cwd = path.join(root, 'work');
    const file = path.join(root, 'A', 'img-001.jpg');
    const first = (await upload(path.join(root, 'A'), cwd)).uploads.find((u) => u.relPath === 'img-001.jpg')!.key;
    await writeFile(file, await sharp(file).rotate(90).jpeg().toBuffer());
    const before = puts();
    const r = await upload(path.join(root, 'A'), cwd);
    const again = r.uploads.find((u) => u.relPath === 'img-001.jpg')!;
    expect(again.status).toBe('uploaded');
    expect(again.key).not.toBe(first);
    expect(puts() - before).toBe(1);
  });

  it('a name with a lone UTF-16 surrogate is one per-file error, the rest of the batch is presigned', async () => {
    const sha = Buffer.alloc(32, 3).toString('base64');
    const body = `{"files":[{"name":"a\\ud800.jpg","size":10,"contentType":"image/jpeg","sha256":"${sha}"},{"name":"b.jpg","size":10,"contentType":"image/jpeg","sha256":"${sha}"}]}`;
    const res = await fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    const { uploads } = await res.json();
    expect(uploads[0]).toEqual({ name: 'a\ufffd.jpg', error: { code: 'InvalidName', message: expect.stringMatching(/lone UTF-16 surrogate/) } });
    expect(uploads[1]).toMatchObject({ name: 'b.jpg', method: 'PUT', key: expect.stringMatching(/\/b\.jpg$/) });
  });
});

describe('dedupe turned off', () => {
  it('presigns content the bucket already holds (same key: the content still decides it)', async () => {
    const stack = await startTestStack({ trigger: false, dedupe: false });
    try {
      const cwd = await img.tempDir('imgpipe-nodedupe-');
      await mkdir(path.join(cwd, 'p'));
      await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'p', 'a.jpg'));
      await stack.adopt(cwd);
      const first = await runCli(['upload', 'p', '--local', '--json', '--manifest', 'one.json'], { cwd });
      const second = await runCli(['upload', 'p', '--local', '--json', '--manifest', 'two.json'], { cwd });
      expect(JSON.parse(first.stdout)).toMatchObject({ uploaded: 1 });
      expect(JSON.parse(second.stdout)).toMatchObject({ uploaded: 1, exists: 0 });
      expect(await stack.list(stack.sourceBucket)).toHaveLength(1);
    } finally {
      await stack.stop();
    }
  });
});
