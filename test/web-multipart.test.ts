// A big file from the upload page (Debian's Chromium through playwright-core): a 70 MB uncompressed
// TIFF goes in parts, four at a time, through a proxy that slows each PUT and counts its bytes; the
// tab is closed half-way, the same file dropped on a fresh page (a new browser context: nothing kept
// in the browser) resumes from the parts storage holds, and the photo is resized.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partsOf } from '../src/api/parts.js';
import { launchChromium } from './helpers/browser.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { corpusFile, tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'web-multipart.test');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe.skipIf(!HAS_CHROMIUM)('a big file from the page, in parts (Chromium)', () => {
  let stack: TestStack;
  let s3: FaultProxy;
  let browser: import('playwright-core').Browser;
  let scan: string;
  let bytes: Buffer;
  beforeAll(async () => {
    // 64 KiB per 10 ms on each PUT: an 8 MiB part takes over a second, so the tab closes mid-file.
    s3 = await startFaultProxy({ target: () => stack.s3Endpoint, flavor: 's3', match: (r) => r.method === 'PUT', rates: { trickle: 1 }, trickle: { bytes: 64 * 1024, everyMs: 10 } });
    stack = await startTestStack({ urlEndpoint: s3.url });
    const dir = await tempDir('imgpipe-web-multipart-');
    scan = path.join(dir, 'scan.tif');
    // libtiff writes the directory after the pixels: the page must read the whole file for the size.
    await sharp(corpusFile('plasma-Kite.jpg')).resize(5000, 4700, { fit: 'fill' }).tiff({ compression: 'none' }).toFile(scan);
    bytes = await readFile(scan);
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await s3?.close();
  });

  const toSource = (m: Map<string, number>) => [...m].filter(([k]) => k.startsWith('PUT /imgpipe-source/')).reduce((n, [, v]) => n + v, 0);

  it('closing the tab half-way and dropping the file again resumes from the stored parts; the object is byte-equal and resized', async () => {
    const parts = partsOf(bytes.length);
    expect(parts.length).toBe(9);
    const errors: string[] = [];
    const first = await browser.newContext();
    const page = await first.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${stack.apiUrl}/`);
    let most = 0;
    const sample = setInterval(() => (most = Math.max(most, s3.active)), 5);
    await page.setInputFiles('#files', scan);
    // Wait on what the page says, not on the proxy: storage's answer reaches the proxy before the
    // page has drawn it, so "5 stored" there can still read "4 of 9" here.
    await page.waitForFunction(() => /^[5-8] of 9 parts stored/.test(document.querySelector('.row .state')?.textContent ?? ''), null, { timeout: 90_000 });
    const shown = (await page.textContent('.row .state'))?.trim();
    await first.close(); // the tab, and its PUTs in flight, gone
    clearInterval(sample);
    expect(shown).toMatch(/^[5-8] of 9 parts stored…$/);
    expect(most).toBe(4); // the page's four PUT slots, all taken by parts of the one file
    await s3.waitFor(() => s3.active === 0, 'every connection to end');
    expect(await stack.list(stack.sourceBucket)).toEqual([]); // nothing complete, nothing half

    const before = toSource(s3.bytesUp);
    const second = await browser.newContext();
    const again = await second.newPage();
    again.on('pageerror', (e) => errors.push(e.message));
    await again.goto(`${stack.apiUrl}/`);
    await again.setInputFiles('#files', scan);
    await again.waitForFunction(() => /from before/.test(document.querySelector('.row .state')?.textContent ?? ''), null, { timeout: 30_000 });
    const resumedText = (await again.textContent('.row .state'))?.trim();
    const shot = path.join(path.dirname(scan), 'page-resuming.png');
    await again.screenshot({ path: shot });
    await again.waitForFunction(() => document.querySelector('.row.done, .row.failed'), null, { timeout: 120_000 });
    expect(await again.textContent('.row .state')).toMatch(/^ready: /);
    const resent = toSource(s3.bytesUp) - before;
    process.stdout.write(`web multipart resume: ${bytes.length} bytes, ${parts.length} parts; the second page sent ${resent} (${((100 * resent) / bytes.length).toFixed(0)} %); it said "${resumedText}"; screenshot ${shot}\n`);
    expect(resumedText).toMatch(/^[5-8] of 9 parts stored \([5-8] from before\)…$/);
    expect(resent).toBeGreaterThan(0);
    expect(resent / bytes.length).toBeLessThan(0.6);
    expect(await again.textContent('#summary')).toBe('1 of 1 ready; 100 % sent.');
    await second.close();
    expect(errors).toEqual([]);

    const [key, ...others] = await stack.list(stack.sourceBucket);
    expect(others).toEqual([]);
    expect(sha256(await stack.get(stack.sourceBucket, key))).toBe(sha256(bytes));
    const variant = (await stack.list(stack.destBucket)).find((k) => k.startsWith('1024/') && k.endsWith(key.replace(/\.tif$/, '.jpg')));
    const meta = await sharp(await stack.get(stack.destBucket, variant!)).metadata();
    expect([meta.format, meta.width]).toEqual(['jpeg', 1024]);
  }, 240_000);
});
