// `watch --html` after an upload shows every file of the run: two photos both named IMG_0001.jpg
// from different albums under their own paths, and the files refused before upload with their
// reasons; the summary counts them ("2 done, 0 failed, 2 refused before upload"). The paths travel
// with the photos (signed into each object's metadata, copied into its record), so `watch KEYS`
// elsewhere, without the run's manifest, names and lays out the same photos the same way.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'report-batch.test (the page in a browser)');

describe('the batch page of a run', () => {
  let dev: DevProcess;
  let cwd: string;
  let html: string;
  let watch: { code: number | null; stderr: string };

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-batch-');
    for (const album of ['summer', 'winter']) await mkdir(path.join(cwd, 'photos', album), { recursive: true });
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'photos/summer/IMG_0001.jpg'));
    await copyFile(img.corpusFile('plasma-Grey.jpg'), path.join(cwd, 'photos/winter/IMG_0001.jpg'));
    await writeFile(path.join(cwd, 'photos/winter/notes.jpg'), 'shopping list\n');
    await writeFile(path.join(cwd, 'photos/summer/cut.jpg'), img.truncatedJpeg());
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local'], { cwd });
    expect(up.code, up.stderr).toBe(1); // two files refused
    const r = await runCli(['watch', '--local', '--timeout', '120', '--html', 'batch.html'], { cwd });
    watch = { code: r.code, stderr: r.stderr };
    html = await readFile(path.join(cwd, 'batch.html'), 'utf8');
  }, 180_000);
  afterAll(async () => dev?.stop());

  it('names each card by the path it was uploaded from, lists the refused files, and counts them', () => {
    expect(watch.code, watch.stderr).toBe(0); // every uploaded image is done
    expect(html).toContain('2 done, 0 failed, 2 refused before upload, 0 without a record');
    const titles = [...html.matchAll(/<h2 title="[^"]*">([^<]*)<\/h2>/g)].map((m) => m[1]).sort();
    expect(titles).toEqual(['summer/IMG_0001.jpg', 'winter/IMG_0001.jpg']);
    expect(html).toMatch(/<li><strong>summer\/cut\.jpg<\/strong>: corrupt or truncated image[^<]*<\/li>/);
    expect(html).toMatch(/<li><strong>winter\/notes\.jpg<\/strong>: a text file, not an image<\/li>/);
  });

  it('keeps each path in its object and record: another folder without the manifest sees the same names', async () => {
    const manifest = JSON.parse(await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8')) as { files: Array<{ relPath: string; key?: string; status: string }> };
    const byPath = new Map(manifest.files.filter((f) => f.key).map((f) => [f.relPath, f.key!]));
    expect([...byPath.keys()].sort()).toEqual(['summer/IMG_0001.jpg', 'winter/IMG_0001.jpg']);
    for (const [rel, key] of byPath) {
      const head = await dev.s3.send(new HeadObjectCommand({ Bucket: dev.state.sourceBucket, Key: key }));
      expect(head.Metadata).toEqual({ path: rel });
    }
    const elsewhere = await img.tempDir('imgpipe-batch-elsewhere-');
    const keys = [...byPath.values()];
    const at = `--local=${cwd}`;
    const r = await runCli(['watch', ...keys, at, '--json', '--html', 'far.html', '--download', 'out'], { cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    const records = (JSON.parse(r.stdout) as { records: Array<{ source: { key: string; path?: string } }> }).records;
    expect(records.map((x) => [x.source.key, x.source.path])).toEqual(keys.map((k) => [k, [...byPath].find(([, v]) => v === k)![0]]));
    const far = await readFile(path.join(elsewhere, 'far.html'), 'utf8');
    expect([...far.matchAll(/<h2 title="[^"]*">([^<]*)<\/h2>/g)].map((m) => m[1]).sort()).toEqual(['summer/IMG_0001.jpg', 'winter/IMG_0001.jpg']);
    for (const { name: v } of DEFAULT_SPEC.variants) expect((await readdir(path.join(elsewhere, 'out', v), { recursive: true })).sort()).toEqual(['summer', 'summer/IMG_0001.jpg', 'winter', 'winter/IMG_0001.jpg']);
  });

  it.skipIf(!HAS_CHROMIUM)('in Chromium: two cards, the refused section, both thumbnails loaded', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${path.join(cwd, 'batch.html')}`);
      expect(await page.$$eval('.card h2', (els) => els.map((e) => e.textContent).sort())).toEqual(['summer/IMG_0001.jpg', 'winter/IMG_0001.jpg']);
      expect(await page.$$eval('.refused li', (els) => els.length)).toBe(2);
      expect(await page.$$eval('.card img', (els) => els.every((e) => (e as HTMLImageElement).naturalWidth === 320))).toBe(true);
      await page.screenshot({ path: path.join(cwd, 'batch.png'), fullPage: true });
      process.stdout.write(`batch page screenshot: ${path.join(cwd, 'batch.png')}\n`);
    } finally {
      await browser.close();
    }
  });
});
