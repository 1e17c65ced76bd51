// `imgpipe dev --no-dedupe`, as a user runs it (its own process): once the CLI has uploaded a
// photo, the presign API answers the same bytes again with a URL to PUT to, and the PUT is taken;
// without the flag it answers "exists" with the stored key and no URL.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UploadAnswer, UploadGranted } from '../src/api/contract.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';

let devs: DevProcess[] = [];
afterEach(async () => {
  for (const d of devs) expect(await d.stop()).toBe(0);
  devs = [];
});

/** `dev` with `args`, one photo uploaded through it by the CLI; the photo's bytes and stored key. */
async function devWithOnePhoto(args: string[]): Promise<{ dev: DevProcess; bytes: Buffer; key: string }> {
  const cwd = await tempDir('imgpipe-dev-dedupe-');
  const dev = await startDev(cwd, { args, env: { IMGPIPE_API_KEY: '' } });
  devs.push(dev);
  await mkdir(path.join(cwd, 'p'));
  const [file] = await writeNoiseJpegs(path.join(cwd, 'p'), 1);
  const r = await runCli(['upload', 'p', '--local', '--json'], { cwd, env: { IMGPIPE_API_KEY: '' } });
  expect(r.code, r.stderr).toBe(0);
  const doc = JSON.parse(r.stdout);
  expect(doc).toMatchObject({ uploaded: 1, exists: 0 });
  return { dev, bytes: await readFile(file), key: doc.uploads[0].key };
}

/** POST /uploads for these bytes, as any client would. */
async function ask(dev: DevProcess, bytes: Buffer): Promise<UploadAnswer> {
  const sha256 = createHash('sha256').update(bytes).digest('base64');
  const res = await fetch(`${dev.state.apiUrl}/uploads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ files: [{ name: 'again.jpg', size: bytes.length, contentType: 'image/jpeg', sha256 }] }),
  });
  expect(res.status).toBe(200);
  const { uploads } = await res.json();
  expect(uploads).toHaveLength(1);
  return uploads[0];
}

describe('imgpipe dev and dedupe', () => {
  it('--no-dedupe: the same bytes again get a URL, and the second PUT is stored (in the same content folder)', async () => {
    const { dev, bytes, key } = await devWithOnePhoto(['--no-dedupe']);
    const answer = await ask(dev, bytes);
    expect(answer).not.toHaveProperty('exists');
    expect(answer).toMatchObject({ method: 'PUT', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\//) });
    const granted = answer as UploadGranted;
    expect(granted.key.replace(/[^/]+$/, '')).toBe(key.replace(/[^/]+$/, '')); // the content still decides the folder
    const put = await fetch(granted.url, { method: 'PUT', headers: granted.headers, body: bytes });
    expect(put.status, await put.text()).toBe(200);
    expect(await dev.get(dev.state.sourceBucket, granted.key)).toEqual(bytes);
  }, 120_000);

  it('by default: the same bytes again are "exists" at the stored key, with no URL', async () => {
    const { dev, bytes, key } = await devWithOnePhoto([]);
    expect(await ask(dev, bytes)).toEqual({ name: 'again.jpg', key, exists: true });
  }, 120_000);
});
