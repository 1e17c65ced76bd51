// The pipeline's answer per image on the local stack, as a user meets it: `imgpipe dev` running,
// photos uploaded by the CLI, a corrupt file and a pixel bomb put straight into the source bucket
// (as a browser or another client could), then `imgpipe watch --json --html`.
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import exifReader from 'exif-reader';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio } from 'thumbhash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey } from '../src/core/keys.js';
import { type DoneRecord, type ImageRecord } from '../src/core/record.js';
import { runCli } from './helpers/cli.js';
import { eventually } from './helpers/s3.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'records.test (the HTML page check)');

/** A photo whose EXIF has a camera, a capture date and a GPS position. */
async function gpsJpeg(): Promise<Buffer> {
  return sharp(img.corpusFile('plasma-Kite.jpg'))
    .resize(1600)
    .withExif({
      IFD0: { Make: 'TestCam', Model: 'TestCam Model 9' },
      IFD2: { DateTimeOriginal: '2026:07:14 10:30:00' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 30/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 17/1 40/1' },
    })
    .jpeg()
    .toBuffer();
}

describe('records beside the variants', () => {
  let dev: DevProcess;
  let cwd: string;
  let uploaded: string[];
  let watch: { code: number | null; doc: { ok: boolean; timedOut: boolean; missing: string[]; failed: { sourceKey: string; code: string; error: string }[]; records: ImageRecord[]; requests: number }; stderr: string };
  const CORRUPT = 'uploads/direct/corrupt.jpg';
  const BOMB = 'uploads/direct/bomb.png';

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-records-');
    await mkdir(path.join(cwd, 'photos'));
    for (const f of ['mate-Aqua.jpg', 'plasma-Grey.jpg']) await copyFile(img.corpusFile(f), path.join(cwd, 'photos', f));
    const gps = await gpsJpeg();
    expect(exifReader((await sharp(gps).metadata()).exif!).GPSInfo?.GPSLatitude).toBeDefined(); // the input really has GPS
    await writeFile(path.join(cwd, 'photos', 'with-gps.jpg'), gps);
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    uploaded = JSON.parse(up.stdout).uploads.map((u: { key: string }) => u.key);
    await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.sourceBucket, Key: CORRUPT, Body: img.truncatedJpeg() }));
    await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.sourceBucket, Key: BOMB, Body: img.bombPng(60000, 60000) }));
    // --timeout 120: only a hang reaches it; the failure records end the wait long before.
    const r = await runCli(['watch', ...uploaded, CORRUPT, BOMB, '--local', '--timeout', '120', '--json', '--html', 'batch.html'], { cwd });
    watch = { code: r.code, doc: JSON.parse(r.stdout), stderr: r.stderr };
  }, 180_000);

  afterAll(async () => {
    await dev?.stop();
  });

  it('watch reports both failures with their reasons from their records, not by timing out, and exits 1', () => {
    expect(watch.code).toBe(1);
    // The wait ended because every image had a record (done or failed), not at the timeout.
    expect(watch.doc).toMatchObject({ timedOut: false, missing: [] });
    expect(watch.stderr).not.toMatch(/timed out/);
    expect(watch.doc.failed).toEqual([
      { sourceKey: CORRUPT, code: 'corrupt', error: expect.stringMatching(/corrupt or truncated/) },
      { sourceKey: BOMB, code: 'too-large', error: expect.stringMatching(/60000×60000 .* over the 100 MP limit/) },
    ]);
    expect(watch.stderr).toContain(`error ${CORRUPT}: resize failed: corrupt or truncated`);
    expect(watch.stderr).toContain(`error ${BOMB}: resize failed: image is 60000×60000`);
  });

  it('each done record holds the true size and bytes of every variant, and a placeholder of the right shape', async () => {
    const done = watch.doc.records.filter((r): r is DoneRecord => r.status === 'done');
    expect(done.map((r) => r.source.key)).toEqual(uploaded);
    for (const r of done) {
      expect(r.variants.map((v) => v.name)).toEqual(['320', '1024', '2048']);
      for (const v of r.variants) {
        const bytes = await dev.get(dev.state.destBucket, v.key);
        const m = await sharp(bytes).metadata();
        expect([v.key, v.bytes, v.width, v.height, v.contentType]).toEqual([v.key, bytes.length, m.width, m.height, 'image/jpeg']);
      }
      const ratio = thumbHashToApproximateAspectRatio(Buffer.from(r.placeholder, 'base64'));
      expect(Math.abs(ratio - r.source.width / r.source.height) / (r.source.width / r.source.height)).toBeLessThan(0.15);
      expect(r.color).toMatch(/^#[0-9a-f]{6}$/);
      expect(r.source.sha256).toBe((await dev.s3.send(new HeadObjectCommand({ Bucket: dev.state.sourceBucket, Key: r.source.key, ChecksumMode: 'ENABLED' }))).ChecksumSHA256);
    }
  });

  it('keeps the capture date and camera from EXIF but never a position', () => {
    const gps = watch.doc.records.find((r) => r.source.key.endsWith('/with-gps.jpg')) as DoneRecord;
    expect(gps.taken).toEqual({ at: '2026-07-14T10:30:00.000Z', camera: 'TestCam Model 9' });
    const names: string[] = [];
    JSON.stringify(watch.doc.records, (k, v) => (names.push(k), v));
    expect(names.filter((n) => /gps|lat|lon|position|location/i.test(n))).toEqual([]);
    expect(JSON.stringify(gps)).not.toMatch(/48\/1|2\/1|48\.8|2\.29/);
  });

  it('a good image put over a failed one is then reported done', async () => {
    await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.sourceBucket, Key: CORRUPT, Body: await readFile(img.corpusFile('mate-Wood.jpg')) }));
    // Until its resize has run, the old failure record is what the bucket says (a watch started
    // sooner reports it, rightly): the resize of the new bytes takes it away.
    await eventually(async () => expect(await dev.list(dev.state.destBucket)).not.toContain(failureKey(CORRUPT)), 60_000);
    const r = await runCli(['watch', CORRUPT, '--local', '--timeout', '60', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).records).toEqual([expect.objectContaining({ status: 'done', source: expect.objectContaining({ key: CORRUPT }) })]);
    expect(await dev.list(dev.state.destBucket)).not.toContain(failureKey(CORRUPT));
  });

  it.skipIf(!HAS_CHROMIUM)('the HTML page opens from disk: every image loads, failures are listed', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await page.goto(`file://${path.join(cwd, 'batch.html')}`);
      const images = await page.$$eval('img', (els) => els.map((e) => ({ ok: (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0, w: (e as HTMLImageElement).naturalWidth })));
      expect(images).toHaveLength(uploaded.length);
      expect(images.every((i) => i.ok && i.w === 320)).toBe(true);
      const failures = await page.$$eval('.failed li', (els) => els.map((e) => e.textContent));
      expect(failures).toEqual([expect.stringContaining(CORRUPT), expect.stringContaining(BOMB)]);
      await page.screenshot({ path: path.join(cwd, 'batch.png'), fullPage: true });
      process.stdout.write(`records page screenshot: ${path.join(cwd, 'batch.png')}\n`);
    } finally {
      await browser.close();
    }
  });
});
