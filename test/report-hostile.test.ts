// Records are read from a bucket anyone with write access (or a hostile endpoint) can fill. A
// planted record must run no script in `watch --html`'s page, must be that image's own error (not
// the batch's: no 500 from POST /variants, no crash of `watch`), and must never make the read side
// sign a key the spec does not give that photo's variants.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputKey, outputKeyAt, recordKey } from '../src/core/keys.js';
import { type DoneRecord, type ImageRecord } from '../src/core/record.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { checkRecord } from '../src/core/record-check.js';
import { renderReport } from '../src/report/page.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';
import { have, TOOLS } from './helpers/tools.js';
import { launchChromium } from './helpers/browser.js';

const HAS_CHROMIUM = have(TOOLS.chromium, 'report-hostile.test');
const PAYLOADS = ['<img src=x onerror="window.__pwned=1">', '"><script>window.__pwned=2</script>', "red;}</style><script>window.__pwned=3</script>", "x' onload='window.__pwned=4"];

/** A done record as the resize writes it, for `key`. */
function goodRecord(key: string): DoneRecord {
  const v = (name: string, width: number) => ({ name, key: outputKey(key, DEFAULT_SPEC.variants.find((x) => x.name === name)!, DEFAULT_SPEC), format: 'jpeg', contentType: 'image/jpeg', width, height: width / 2, bytes: 1000 });
  return { version: 1, status: 'done', source: { key, sha256: 'a'.repeat(43) + '=', format: 'jpeg', width: 4000, height: 2000, bytes: 12345 }, specHash: 'abc', variants: [v('320', 320), v('1024', 1024)], placeholder: 'YJqGPQw7sFlslqhFafSE+Q6oJ1h2iHB2Rw==', color: '#336699', createdAt: new Date().toISOString() };
}

/** Every field a page prints, each carrying a payload. */
function hostileRecords(): ImageRecord[] {
  const [a, b, c, d] = PAYLOADS;
  const r = goodRecord('uploads/x/one.jpg') as unknown as Record<string, any>;
  r.color = c;
  r.source.width = a;
  r.source.format = b;
  r.variants[0].width = a;
  r.variants[0].name = b;
  r.variants[0].format = d;
  r.variants[1].contentType = b;
  r.taken = { camera: a, at: b };
  const failed = { version: 1, status: 'failed', source: { key: a }, specHash: '', code: b, reason: c, failedAt: '' };
  return [r as ImageRecord, failed as ImageRecord];
}

describe('records that are not ours', () => {
  it('checkRecord refuses each kind of planted field, and accepts the real shape', () => {
    const key = 'uploads/x/one.jpg';
    expect(checkRecord(goodRecord(key), key, 'done')).toMatchObject({ ok: true });
    const bad = (change: (r: any) => void) => {
      const r = structuredClone(goodRecord(key)) as any;
      change(r);
      const got = checkRecord(r, key, 'done');
      return got.ok ? 'accepted' : got.reason;
    };
    expect(bad((r) => (r.variants[0].width = PAYLOADS[0]))).toMatch(/^variants\.0\.width: /);
    expect(bad((r) => (r.color = PAYLOADS[2]))).toMatch(/^color: /);
    expect(bad((r) => (r.variants = 'x'))).toMatch(/^variants: /);
    expect(bad((r) => (r.variants[0].contentType = 'text/html'))).toMatch(/^variants\.0\.contentType: /);
    expect(bad((r) => (r.variants[0].format = 'png'))).toMatch(/contentType does not match format/);
    expect(bad((r) => (r.source.key = 'uploads/x/other.jpg'))).toBe('it names another source key');
    expect(bad((r) => (r.variants[1].key = '_imgpipe/evil.html'))).toBe('variant "1024" names a key that is not its own');
    expect(bad((r) => (r.variants[1].key = outputKeyAt(key, { name: '1024', format: 'png' }, '0123abcd')))).toBe('variant "1024" names a key that is not its own');
    expect(bad((r) => (r.variants[1].key = '1024/uploads/x/one.jpg'))).toBe('variant "1024" names a key that is not its own'); // no version
    expect(bad((r) => (r.variants[1].key = '1024/../../uploads/x/one.jpg'))).toBe('variant "1024" names a key that is not its own');
    expect(bad((r) => (r.variants[1].key = outputKeyAt(key, { name: '1024', format: 'jpeg' }, '0123abcd')))).toBe('accepted'); // another spec's version: still its own
    expect(checkRecord({ ...goodRecord(key) }, key, 'failed')).toMatchObject({ ok: false });
    // A failure record keeps the queue's attempt count.
    const failed = { version: 1, status: 'failed', source: { key }, specHash: 'x', code: 'timeout', reason: 'took too long', attempts: 3, failedAt: '2026-12-02T00:00:00Z' };
    expect(checkRecord(failed, key, 'failed')).toEqual({ ok: true, record: failed });
  });

  it.skipIf(!HAS_CHROMIUM)('the page escapes every field: four payloads in eight fields run nothing in Chromium', async () => {
    const html = renderReport({ title: PAYLOADS[0], records: hostileRecords(), missing: [PAYLOADS[1]], thumbnails: new Map([['uploads/x/one.jpg', { contentType: `image/png"><script>window.__pwned=5</script>`, data: Buffer.from('x') }]]), generatedAt: new Date() });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => void d.dismiss().then(() => dialogs.push(d.message())));
      await page.setContent(html, { waitUntil: 'load' });
      const seen = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
        scripts: document.querySelectorAll('script').length,
        handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
        csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null,
      }));
      expect(seen).toEqual({ pwned: null, scripts: 0, handlers: 0, csp: expect.stringMatching(/^default-src 'none'; img-src data:;/) });
      expect(dialogs).toEqual([]);
      // The payloads are there as text, for a person to read.
      expect(await page.textContent('.failed')).toContain(PAYLOADS[2]);
    } finally {
      await browser.close();
    }
  });
});

describe('planted records on the local stack', () => {
  let dev: DevProcess;
  let cwd: string;
  let keys: string[];

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-hostile-');
    await mkdir(path.join(cwd, 'photos'));
    for (const f of ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'plasma-Kite.jpg', 'mate-Wood.jpg']) await copyFile(img.corpusFile(f), path.join(cwd, 'photos', f));
    dev = await startDev(cwd);
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    keys = JSON.parse(up.stdout).uploads.map((u: { key: string }) => u.key).sort();
    const plant = (key: string, body: string) => dev.s3.send(new PutObjectCommand({ Bucket: dev.state.destBucket, Key: recordKey(key), Body: body, ContentType: 'application/json' }));
    const real = JSON.parse((await dev.get(dev.state.destBucket, recordKey(keys[0]))).toString());
    await plant(keys[0], JSON.stringify({ ...real, variants: real.variants.map((v: object, i: number) => (i === 0 ? { ...v, width: PAYLOADS[0] } : v)) }));
    await plant(keys[1], 'this is { not JSON');
    await plant(keys[2], JSON.stringify({ ...real, source: { ...real.source, key: keys[2] }, variants: [{ ...real.variants[0], key: '_imgpipe/evil.html', contentType: 'image/jpeg' }] }));
    await dev.s3.send(new PutObjectCommand({ Bucket: dev.state.destBucket, Key: '_imgpipe/evil.html', Body: '<script>alert(1)</script>', ContentType: 'text/html' }));
  }, 180_000);
  afterAll(async () => {
    await dev?.stop();
  });

  it('POST /variants answers the batch: each planted record is its own failure, no key outside the spec is signed', async () => {
    const res = await fetch(`${dev.state.apiUrl}/variants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys }) });
    expect(res.status).toBe(200);
    const answers = (await res.json()).variants as { key: string; status: string; error?: { code: string; message: string }; variants?: { url: string }[] }[];
    expect(answers.map((a) => [a.status, a.error?.code])).toEqual([
      ['failed', 'malformed-record'],
      ['failed', 'malformed-record'],
      ['failed', 'malformed-record'],
      ['done', undefined],
    ]);
    expect(answers[0].error!.message).toMatch(/variants\.0\.width: /);
    expect(answers[1].error!.message).toMatch(/\(not JSON\)$/);
    expect(answers[2].error!.message).toMatch(/variant "320" names a key that is not its own\)$/);
    expect(JSON.stringify(answers)).not.toContain('evil');
    expect(answers[3].variants).toHaveLength(3);
  });

  it('watch --html --json: the three are failures with their reasons, the page is written, exit 1', async () => {
    const r = await runCli(['watch', ...keys, '--local', '--timeout', '120', '--json', '--html', 'batch.html'], { cwd });
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.failed.map((f: { sourceKey: string; code: string }) => [f.sourceKey, f.code])).toEqual(keys.slice(0, 3).map((k) => [k, 'malformed-record']));
    expect(r.stderr.split('\n').filter((l) => l.includes('malformed') || l.includes('not one imgpipe wrote'))).toHaveLength(3);
    const html = await readFile(path.join(cwd, 'batch.html'), 'utf8');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('1 done, 3 failed');
  });
});
