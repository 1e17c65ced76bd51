// The upload job on its own, against the real local stack: what it says (its events, in order),
// what it returns, and that it prints nothing itself (rendering is the CLI's).
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SPEC, parseSpec, widthVariants, type Spec } from '../src/core/spec.js';
import { readManifest } from '../src/files/manifest.js';
import { runUpload, type UploadEvent, type UploadResult } from '../src/jobs/upload.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

describe('the upload job, as events and data', () => {
  let stack: TestStack;
  let root: string;
  let photos: string;
  const spies: Array<{ mockRestore(): void }> = [];

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    root = await img.tempDir('imgpipe-events-');
    photos = path.join(root, 'photos');
    await writeNoiseJpegs(photos, 3); // img-000.jpg … img-002.jpg
    await writeFile(path.join(photos, 'notes.txt'), 'not an image\n');
    await sharp({ create: { width: 90, height: 60, channels: 3, background: '#3060c0' } }).jpeg().toFile(path.join(photos, 'old.jpg'));
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(() => {
    for (const s of spies.splice(0)) s.mockRestore();
  });

  /** Runs the job with the test's folders, collecting its events and anything it prints. */
  async function upload(paths: string[], o: { spec?: Spec; env?: NodeJS.ProcessEnv; work?: string; concurrency?: number; batchSize?: number } = {}) {
    const events: UploadEvent[] = [];
    const written: string[] = [];
    const work = o.work ?? root;
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    // The streams (what a Reporter or ora writes to), and console (which vitest routes around them).
    spies.push(vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture));
    for (const m of ['log', 'info', 'warn', 'error', 'debug'] as const) spies.push(vi.spyOn(console, m).mockImplementation(capture));
    let result: UploadResult;
    try {
      result = await runUpload({
        paths,
        spec: o.spec ?? DEFAULT_SPEC,
        api: stack.apiUrl,
        manifestPath: path.join(work, '.imgpipe/last-upload.json'),
        ledgerPath: path.join(work, '.imgpipe/ledger.jsonl'),
        destination: { destBucket: stack.destBucket, pipeline: `local:${stack.dir}` },
        signal: new AbortController().signal,
        concurrency: o.concurrency ?? 8, // one batch for the whole folder
        batchSize: o.batchSize,
        onEvent: (e) => events.push(e),
        env: o.env ?? {},
      });
    } finally {
      for (const s of spies.splice(0)) s.mockRestore();
    }
    return { events, written, result };
  }

  const fileOf = async (name: string) => {
    const bytes = await readFile(path.join(photos, name));
    return { name, path: path.join(photos, name), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('base64') };
  };

  it('3 new images, 1 not an image, 1 uploaded before: the events in order, the records, nothing printed', async () => {
    const first = await upload([path.join(photos, 'old.jpg')]);
    expect(first.result).toMatchObject({ ok: true, uploaded: 1, exists: 0 });
    const oldKey = first.result.keys[0];

    const { events, written, result } = await upload([photos]);
    expect(written).toEqual([]);
    const [a, b, c, old] = await Promise.all(['img-000.jpg', 'img-001.jpg', 'img-002.jpg', 'old.jpg'].map(fileOf));
    const fresh = [a, b, c];
    const allBytes = a.size + b.size + c.size + old.size;

    // Up to the PUTs the order is fixed: the scan, each check in scan order, one presign, and the
    // file the bucket already holds ends before any PUT starts.
    const putsFrom = events.findIndex((e) => e.type === 'put-start');
    const oldRecord = { path: old.path, relPath: 'old.jpg', status: 'exists', key: oldKey, size: old.size };
    expect(events.slice(0, putsFrom)).toEqual([
      { type: 'file-passed-over', path: path.join(photos, 'notes.txt'), reason: 'not-an-image' },
      { type: 'scan-done', files: 4, bytes: allBytes },
      ...fresh.map((f) => ({ type: 'file-checked', relPath: f.name, size: f.size, sha256: f.sha256, fromLedger: false })),
      { type: 'file-checked', relPath: 'old.jpg', size: old.size, sha256: old.sha256, fromLedger: true }, // unchanged: not read again
      { type: 'batch-presigning', url: `${stack.apiUrl.replace(/\/+$/, '')}/uploads`, files: 4 },
      { type: 'batch-presigned', files: 4, urls: 3, exists: 1, refused: 0 },
      { type: 'file-exists', file: oldRecord },
    ]);

    // Then three PUTs at once: they start in order; each file's own events are start, bytes, end.
    const puts = events.slice(putsFrom);
    expect(puts.filter((e) => e.type === 'put-start')).toEqual(fresh.map((f) => ({ type: 'put-start', relPath: f.name, key: expect.stringMatching(new RegExp(`/${f.name.replace('.', '\\.')}$`)), size: f.size })));
    expect(new Set(puts.map((e) => e.type))).toEqual(new Set(['put-start', 'put-progress', 'file-uploaded']));
    for (const f of fresh) {
      const own = puts.filter((e) => ('relPath' in e ? e.relPath : 'file' in e ? e.file.relPath : undefined) === f.name);
      expect(own[0].type).toBe('put-start');
      expect(own.at(-1)).toEqual({ type: 'file-uploaded', file: result.uploads.find((u) => u.relPath === f.name) });
      expect(own.slice(1, -1).every((e) => e.type === 'put-progress')).toBe(true);
      const sent = own.reduce((n, e) => n + (e.type === 'put-progress' ? e.bytes : 0), 0);
      expect(sent).toBe(f.size);
    }

    // The result: one record per file, in scan order, and the counts read off them.
    const keys = result.keys;
    expect(result.uploads).toEqual([
      ...fresh.map((f, i) => ({ path: f.path, relPath: f.name, status: 'uploaded', key: keys[i], size: f.size, retries: 0 })),
      oldRecord,
    ]);
    expect(result).toMatchObject({ ok: true, interrupted: false, files: 4, uploaded: 3, exists: 1, failed: 0, retries: 0, bytes: a.size + b.size + c.size, excluded: 0, warnings: [] });
    expect(result.walkSkipped).toMatchObject({ total: 1, kinds: { '.txt': 1 } });
    expect((await stack.list(stack.sourceBucket)).sort()).toEqual([...keys].sort());

    // The manifest is the same records, as `watch` reads them.
    const manifest = (await readManifest(result.manifest))!;
    expect(manifest.files.map((f) => [f.relPath, f.status, f.key, f.sha256])).toEqual([...fresh, old].map((f, i) => [f.name, f === old ? 'exists' : 'uploaded', keys[i], f.sha256]));
    expect(manifest).toMatchObject({ pipeline: `local:${stack.dir}`, destBucket: stack.destBucket });
  });

  it('a file that is no image fails its check: its bytes still count toward the bar, nothing is asked for it', async () => {
    const work = await img.tempDir('imgpipe-events-bad-');
    const bad = path.join(work, 'broken.jpg');
    await writeFile(bad, 'this is text, named .jpg\n');
    const { events, written, result } = await upload([bad, path.join(work, 'missing.jpg')], { work });
    expect(written).toEqual([]);
    expect(events).toEqual([
      { type: 'file-failed', file: { path: path.join(work, 'missing.jpg'), relPath: path.join(work, 'missing.jpg'), status: 'failed', error: expect.stringMatching(/no such file/) }, stage: 'scan', bytes: 0 },
      { type: 'scan-done', files: 1, bytes: (await stat(bad)).size },
      { type: 'file-failed', file: { path: bad, relPath: 'broken.jpg', status: 'failed', error: 'a text file, not an image' }, stage: 'check', bytes: (await stat(bad)).size },
    ]);
    expect(result).toMatchObject({ ok: false, files: 2, uploaded: 0, failed: 2, keys: [] });
  });

  it('a spec too slow for the Lambda is a warning event and in the result; the default spec is not', async () => {
    const avif = parseSpec({ variants: widthVariants([4000, 2048], 'avif', 50) });
    const env = { IMGPIPE_RESIZE_TIMEOUT_S: '2' };
    const slow = await upload([path.join(photos, 'old.jpg')], { spec: avif, env });
    expect(slow.written).toEqual([]);
    expect(slow.events[0]).toEqual({ type: 'warning', message: expect.stringMatching(/^warning: this spec's AVIF variants take about [\d.]+ s per 12 MP image here; the resize Lambda's timeout is 2 s$/) });
    expect(slow.events.filter((e) => e.type === 'warning')).toHaveLength(1);
    expect(slow.result.warnings).toEqual([(slow.events[0] as { message: string }).message]);
    const jpeg = await upload([path.join(photos, 'old.jpg')], { env });
    expect(jpeg.events.filter((e) => e.type === 'warning')).toEqual([]);
    expect(jpeg.result.warnings).toEqual([]);
  });

  it('asks the API in batches: a small first one (the PUT concurrency), then each twice the last up to the batch size; every file once', async () => {
    const work = await img.tempDir('imgpipe-events-batches-');
    await writeNoiseJpegs(path.join(work, 'many'), 30);
    const run = await upload([path.join(work, 'many')], { work, concurrency: 2, batchSize: 8 });
    expect(run.result).toMatchObject({ ok: true, uploaded: 30 });
    const asked = run.events.flatMap((e) => (e.type === 'batch-presigning' ? [e.files] : []));
    expect(asked).toEqual([2, 4, 8, 8, 8]);
    const sent = run.events.flatMap((e) => (e.type === 'put-start' ? [e.relPath] : []));
    expect(sent.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `img-${String(i).padStart(3, '0')}.jpg`));
  });
});
