// The upload page in a real browser (Debian's Chromium through playwright-core) against the real
// `imgpipe dev`: bad files are refused on the page and never sent; good ones reach the source
// bucket byte for byte and come back as thumbnails from the read side.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKeys, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'web-page.test');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const GOOD = ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'lomiri16-Wine_by_Jakkub_Mede.jpg'];

describe.skipIf(!HAS_CHROMIUM)('the upload page in Chromium', () => {
  let dev: DevProcess;
  let cwd: string;
  let files: string[];
  let browser: import('playwright-core').Browser;

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-web-');
    files = [];
    for (const f of GOOD) {
      await copyFile(img.corpusFile(f), path.join(cwd, f));
      files.push(path.join(cwd, f));
    }
    await writeFile(path.join(cwd, 'notes.jpg'), 'shopping list\nmilk\n');
    await writeFile(path.join(cwd, 'cut.jpg'), img.truncatedJpeg());
    files.push(path.join(cwd, 'notes.jpg'), path.join(cwd, 'cut.jpg'));
    dev = await startDev(cwd);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.stop();
  });

  it('refuses the bad files with their reasons, uploads the good ones and shows their thumbnails', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${dev.state.apiUrl}/`);
    expect(await page.title()).toBe('imgpipe · upload photos');
    await page.setInputFiles('#files', files);
    await page.waitForFunction(() => document.querySelectorAll('.row.done').length === 3 && document.querySelectorAll('.row.refused').length === 2, null, { timeout: 90_000 });

    const rows = await page.$$eval('.row', (els) => els.map((e) => ({ name: e.querySelector('.name')!.textContent, cls: e.className, state: e.querySelector('.state')!.textContent })));
    expect(rows.find((r) => r.name === 'notes.jpg')).toMatchObject({ cls: 'row refused', state: 'a text file, not an image' });
    expect(rows.find((r) => r.name === 'cut.jpg')).toMatchObject({ cls: 'row refused', state: expect.stringMatching(/^corrupt or truncated image/) });
    // Thumbnails load, at the smallest variant's width (a row is done before its image has arrived).
    await page
      .waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.row.done .thumb img')].filter((i) => i.complete && i.naturalWidth > 0).length === 3, null, { timeout: 30_000 })
      .catch(() => undefined); // the assertion below says what is missing
    const thumbs = await page.$$eval('.row.done .thumb img', (els) => els.map((e) => ({ ok: (e as HTMLImageElement).complete, w: (e as HTMLImageElement).naturalWidth })));
    expect(thumbs).toEqual(Array(3).fill({ ok: true, w: 320 }));
    expect(await page.textContent('#summary')).toMatch(/^3 of 5 ready, 2 refused; 100 % sent\.$/);
    await page.screenshot({ path: path.join(cwd, 'page-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(cwd, 'page-phone.png'), fullPage: true });
    process.stdout.write(`web page screenshots: ${cwd}/page-desktop.png, page-phone.png\n`);
    expect(errors).toEqual([]);

    // Only the good ones were sent, byte for byte; each has every variant and its record.
    const sources = await dev.list(dev.state.sourceBucket);
    expect(sources).toHaveLength(3);
    const local = new Set(await Promise.all(GOOD.map(async (f) => sha256(await readFile(path.join(cwd, f))))));
    for (const k of sources) expect(local.has(sha256(await dev.get(dev.state.sourceBucket, k)))).toBe(true);
    const dest = new Set(await dev.list(dev.state.destBucket));
    for (const k of sources) for (const o of [...outputKeys(k, DEFAULT_SPEC).map((x) => x.key), recordKey(k)]) expect(dest.has(o), o).toBe(true);
  });

  it('a folder chosen whole keeps each path: the record of two same-named photos names its own album', async () => {
    const trip = path.join(cwd, 'trip');
    for (const [day, photo] of [['day1', 'mate-Wood.jpg'], ['day2', 'plasma-Kite.jpg']]) {
      await mkdir(path.join(trip, day), { recursive: true });
      await copyFile(img.corpusFile(photo), path.join(trip, day, 'IMG_1.jpg'));
    }
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${dev.state.apiUrl}/`);
    await page.setInputFiles('#folder', trip);
    await page.waitForFunction(() => document.querySelectorAll('.row.done').length === 2, null, { timeout: 90_000 });
    expect(await page.$$eval('.row .name', (els) => els.map((e) => e.textContent).sort())).toEqual(['trip/day1/IMG_1.jpg', 'trip/day2/IMG_1.jpg']);
    expect(errors).toEqual([]);
    const paths: string[] = [];
    for (const k of (await dev.list(dev.state.destBucket)).filter((k) => k.endsWith('.json'))) {
      const record = JSON.parse((await dev.get(dev.state.destBucket, k)).toString('utf8')) as { source: { path?: string } };
      if (record.source.path) paths.push(record.source.path);
    }
    expect(paths.sort()).toEqual(['trip/day1/IMG_1.jpg', 'trip/day2/IMG_1.jpg']);
  });
});

describe.skipIf(!HAS_CHROMIUM)('the upload page through S3 faults (Chromium)', () => {
  it('with 10 % 5xx and 5 % resets on the PUTs, every photo still ends done, each stored once', async () => {
    const { startTestStack } = await import('./helpers/stack.js');
    const { startFaultProxy } = await import('./helpers/fault-proxy.js');
    let target = '';
    const proxy = await startFaultProxy({ target: () => target, flavor: 's3', seed: 11, match: (r) => r.method === 'PUT', script: ['status500', 'resetResponse', 'none', 'status503', 'resetRequest'], rates: { status500: 0.05, status503: 0.05, resetRequest: 0.025, resetResponse: 0.025 } });
    const stack = await startTestStack({ urlEndpoint: proxy.url });
    target = stack.s3Endpoint;
    const browser = await launchChromium();
    try {
      const dir = await img.tempDir('imgpipe-web-faults-');
      const names = ['lomiri16-Bridge_by_Sander_Klootwijk.jpg', 'mate-Wood.jpg', 'plasma-Grey.jpg', 'plasma-Kite.jpg', 'mate-Aqua.jpg', 'mate-Garden.jpg'];
      const files: string[] = [];
      for (const [i, n] of names.entries()) {
        // Twelve distinct photos (two sizes of each), so the faults have enough PUTs to land on.
        for (const w of [900, 1400]) {
          const f = path.join(dir, `${i}-${w}-${n}`);
          await writeFile(f, await (await import('sharp')).default(img.corpusFile(n)).resize(w).jpeg().toBuffer());
          files.push(f);
        }
      }
      const page = await browser.newPage();
      await page.goto(`${stack.apiUrl}/`);
      await page.setInputFiles('#files', files);
      await page.waitForFunction((n) => document.querySelectorAll('.row.done').length === n, files.length, { timeout: 120_000 });
      expect(proxy.failures()).toBeGreaterThanOrEqual(4); // every kind of fault landed at least once
      const stored = await stack.list(stack.sourceBucket);
      expect(stored).toHaveLength(files.length); // each once: a retried PUT goes to the same key
      const local = new Set(await Promise.all(files.map(async (f) => sha256(await readFile(f)))));
      for (const k of stored) expect(local.has(sha256(await stack.get(stack.sourceBucket, k)))).toBe(true);
      process.stdout.write(`web page faults: ${JSON.stringify(proxy.faults)}\n`);
    } finally {
      await browser.close();
      await stack.stop();
      await proxy.close();
    }
  });
});

describe('the read side and the page, without a browser', () => {
  it('POST /variants answers per key: refused for keys the API does not hand out, pending, then done with GET URLs', async () => {
    const { startTestStack } = await import('./helpers/stack.js');
    const { requestUploads } = await import('../src/api/client.js');
    const stack = await startTestStack();
    try {
      const bytes = await readFile(img.corpusFile('plasma-Kite.jpg'));
      const [answer] = await requestUploads([{ name: 'kite.jpg', size: bytes.length, contentType: 'image/jpeg', sha256: sha256(bytes) }], { api: stack.apiUrl });
      if (!('url' in answer)) throw new Error(JSON.stringify(answer));
      const ask = async (keys: unknown[]) => (await (await fetch(`${stack.apiUrl}/variants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys }) })).json()).variants;
      const [pending, foreign, traversal] = await ask([answer.key, 'secret/other-bucket-key.jpg', `uploads/${'a'.repeat(52)}/..`]);
      expect(pending).toEqual({ key: answer.key, status: 'pending' });
      expect([foreign.status, traversal.status]).toEqual(['refused', 'refused']);
      const put = await fetch(answer.url, { method: 'PUT', headers: answer.headers, body: bytes });
      expect(put.status).toBe(200);
      await stack.idle();
      const [done] = await ask([answer.key]);
      expect(done).toMatchObject({ key: answer.key, status: 'done', color: expect.stringMatching(/^#/) });
      expect(done.variants.map((v: { name: string }) => v.name)).toEqual(['320', '1024', '2048']);
      const got = await fetch(done.variants[0].url);
      expect([got.status, got.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
      const page = await fetch(`${stack.apiUrl}/`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'sha256-/);
    } finally {
      await stack.stop();
    }
  });
});
