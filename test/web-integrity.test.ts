// The page and the CLI run the same structural checks (src/core/integrity.ts) before they send a
// file: a truncated HEIC and a PNG with a broken CRC are refused in Chromium with the very line
// the CLI prints for them, and never reach the bucket.
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrityCheck } from '../src/core/integrity.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { inspectFile } from '../src/files/inspect.js';
import * as img from './helpers/images.js';
import type { TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

describe('the structural checks on plain bytes', () => {
  it("the page's own CRC-32 (no zlib there) passes a sound PNG, whole and in pieces", async () => {
    // Noise does not compress: IDAT chunks of tens of KB, each CRC fed across many updates.
    const png = await sharp(randomBytes(200 * 200 * 3), { raw: { width: 200, height: 200, channels: 3 } }).png().toBuffer();
    for (const size of [1, 7, 4096, png.length]) {
      const check = integrityCheck('png');
      for (let i = 0; i < png.length; i += size) check.update(new Uint8Array(png.subarray(i, i + size)));
      expect(check.finish()).toEqual({ ok: true });
    }
  });

  it('gives the same verdict on a damaged PNG whichever CRC it is handed, fed in any chunking', async () => {
    const png = await img.badCrcPng();
    for (const crc of [undefined, crc32]) {
      for (const size of [1, 7, 4096, png.length]) {
        const check = integrityCheck('png', crc);
        for (let i = 0; i < png.length; i += size) check.update(new Uint8Array(png.subarray(i, i + size)));
        expect(check.finish()).toEqual({ ok: false, definite: true, reason: 'damaged PNG: chunk "IDAT" fails its CRC check' });
      }
    }
  });
});

const HAS = have(TOOLS.chromium, 'web-integrity.test') && have(TOOLS.heifEnc, 'web-integrity.test');

describe.skipIf(!HAS)('the upload page refuses what the CLI refuses (Chromium)', () => {
  let stack: TestStack;
  let browser: import('playwright-core').Browser;
  let dir: string;

  beforeAll(async () => {
    const { startTestStack } = await import('./helpers/stack.js');
    stack = await startTestStack();
    dir = await img.tempDir('imgpipe-web-integrity-');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('a HEIC cut inside its mdat box and a PNG with a bad CRC: refused with the CLI line, not sent', async () => {
    const src = path.join(dir, 'src.jpg');
    await writeFile(src, await (await import('sharp')).default(img.corpusFile('mate-Aqua.jpg')).resize(800).jpeg().toBuffer());
    execFileSync('heif-enc', ['-p', 'preset=ultrafast', '-q', '60', src, '-o', path.join(dir, 'whole.heic')], { stdio: 'ignore' });
    const whole = await readFile(path.join(dir, 'whole.heic'));
    const files = { cut: path.join(dir, 'cut.heic'), crc: path.join(dir, 'crc.png'), good: path.join(dir, 'good.heic') };
    await writeFile(files.cut, whole.subarray(0, Math.floor(whole.length * 0.8)));
    await writeFile(files.crc, await img.badCrcPng());
    await writeFile(files.good, whole);
    const cli = async (f: string) => {
      const r = await inspectFile(f, DEFAULT_SPEC);
      if (r.ok) throw new Error(`the CLI let ${f} through`);
      return r.reason;
    };
    const expected = { 'cut.heic': await cli(files.cut), 'crc.png': await cli(files.crc) };
    expect(expected['cut.heic']).toMatch(/^truncated HEIC: the file ends inside its "mdat" box/);

    const page = await browser.newPage();
    await page.goto(`${stack.apiUrl}/`);
    await page.setInputFiles('#files', Object.values(files));
    // Every row settled, whichever way; the assertion below says which way each went.
    await page.waitForFunction(() => document.querySelectorAll('.row.refused, .row.done, .row.failed').length === 3, null, { timeout: 90_000 });
    const rows = await page.$$eval('.row', (els) => Object.fromEntries(els.map((e) => [e.querySelector('.name')!.textContent, [e.className, e.querySelector('.state')!.textContent]])));
    expect(rows).toMatchObject({ 'cut.heic': ['row refused', expected['cut.heic']], 'crc.png': ['row refused', expected['crc.png']], 'good.heic': ['row done', expect.any(String)] });
    // Only the whole HEIC was sent.
    const stored = await stack.list(stack.sourceBucket);
    expect(stored).toHaveLength(1);
    expect(Buffer.compare(await stack.get(stack.sourceBucket, stored[0]), whole)).toBe(0);
    await page.close();
  }, 120_000);
});
