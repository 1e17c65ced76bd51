// Big files go up in parts through the presign API: a 120 MB uncompressed TIFF (a corpus photo
// upscaled, made here) through the real CLI, the local stack and a proxy that counts the bytes each
// part sends; kill -9 half-way, resumed from another working folder with no ledger; the API's plan
// and completion checked directly; a part whose bytes change after the plan refused by storage.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadAnswer, UploadParts } from '../src/api/contract.js';
import { MULTIPART_MIN_BYTES, partsOf } from '../src/api/parts.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runUpload } from '../src/jobs/upload.js';
import { BIN, runCli } from './helpers/cli.js';
import { spawnCli, startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import { corpusFile, tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('multipart uploads', () => {
  let stack: TestStack;
  let s3: FaultProxy;
  let root: string;
  let scan: string;
  let bytes: Buffer;
  beforeAll(async () => {
    // Every part goes up 64 KiB per 10 ms: a part takes over a second, so a kill lands mid-file.
    s3 = await startFaultProxy({ target: () => stack.s3Endpoint, flavor: 's3', match: (r) => r.method === 'PUT', rates: { trickle: 1 }, trickle: { bytes: 64 * 1024, everyMs: 10 } });
    stack = await startTestStack({ urlEndpoint: s3.url });
    root = await tempDir('imgpipe-multipart-');
    await mkdir(path.join(root, 'a/photos'), { recursive: true });
    scan = path.join(root, 'a/photos/scan.tif');
    await sharp(corpusFile('mate-Aqua.jpg')).resize(7300, 5480, { fit: 'fill' }).tiff({ compression: 'none' }).toFile(scan);
    bytes = await readFile(scan);
  }, 60_000);
  afterAll(async () => {
    await s3?.close();
    await stack?.stop();
  });

  /** Bytes of part PUTs the proxy forwarded to the source bucket so far. */
  const sentToSource = () => [...s3.bytesUp].filter(([k]) => k.startsWith('PUT /imgpipe-source/')).reduce((n, [, v]) => n + v, 0);
  const storedParts = () => [...s3.upstreamOk].filter(([k]) => k.startsWith('PUT /imgpipe-source/')).reduce((n, [, v]) => n + v, 0);

  it('120 MB: parts two at a time; kill -9 half-way; another folder with no ledger resumes it, sending under 60 % again; the object is byte-equal and resized', async () => {
    expect(bytes.length).toBeGreaterThan(120_000_000);
    const parts = partsOf(bytes.length);
    expect(parts.length).toBe(15);
    const a = path.join(root, 'a');
    await stack.adopt(a);
    let most = 0;
    const sample = setInterval(() => (most = Math.max(most, s3.active)), 5);
    const run = spawnCli(BIN, ['upload', 'photos', '--local', '--json', '-c', '2'], { cwd: a });
    await s3.waitFor(() => storedParts() >= 8, '8 of the 15 parts stored', 60_000);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    clearInterval(sample);
    expect(most).toBe(2); // -c 2: two parts of the one file in flight at once, never more
    await s3.waitFor(() => s3.active === 0, 'every connection to end');
    expect(await stack.list(stack.sourceBucket)).toEqual([]); // nothing complete, nothing half

    // A second machine: the same file in another folder, no ledger, no manifest.
    const b = path.join(root, 'b');
    await mkdir(path.join(b, 'photos'), { recursive: true });
    await copyFile(scan, path.join(b, 'photos/copy-of-scan.tif'));
    await stack.adopt(b);
    const before = sentToSource();
    const resumed = await runCli(['upload', 'photos', '--local', '--json', '--wait'], { cwd: b, timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const again = sentToSource() - before;
    expect(again).toBeGreaterThan(0);
    console.log(`multipart resume: ${bytes.length} bytes, ${parts.length} parts; sent again from the second folder ${again} (${((100 * again) / bytes.length).toFixed(0)} %), at most ${most} in flight`);
    expect(again / bytes.length).toBeLessThan(0.6);
    const result = JSON.parse(resumed.stdout);
    expect(result).toMatchObject({ uploaded: 1, failed: 0 });
    const key: string = result.keys[0];
    expect(key).toMatch(/^uploads\/[a-z2-7]{52}\/scan\.tif$/); // the first machine's upload, resumed
    expect(sha256(await stack.get(stack.sourceBucket, key))).toBe(sha256(bytes));
    const variants = (await stack.list(stack.destBucket)).filter((k) => k.endsWith(`/${key.replace(/\.tif$/, '.jpg')}`));
    expect(variants).toHaveLength(3);
    const meta = await sharp(await stack.get(stack.destBucket, variants.find((k) => k.startsWith('1024/'))!)).metadata();
    expect([meta.format, meta.width]).toEqual(['jpeg', 1024]);

    // The ledger keeps the parts' hashes beside the file's: a later run need not read 120 MB for them.
    const ledgerLine = JSON.parse((await readFile(path.join(b, '.imgpipe/ledger.jsonl'), 'utf8')).trim().split('\n').pop()!);
    expect(ledgerLine).toMatchObject({ key, sha256: sha256(bytes), parts: parts.map((p) => sha256(bytes.subarray(p.start, p.start + p.size))) });

    // The first folder again: the API answers "exists", no byte is sent.
    const sent = sentToSource();
    const rerun = await runCli(['upload', 'photos', '--local', '--json'], { cwd: a });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ uploaded: 0, exists: 1, failed: 0 });
    expect(sentToSource()).toBe(sent);
  }, 180_000);

  describe('the API', () => {
    const post = async (route: string, body: unknown) => {
      const res = await fetch(`${stack.apiUrl}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, doc: (await res.json()) as Record<string, unknown> };
    };
    const file = async (size: number) => {
      const buf = Buffer.alloc(size);
      buf.set(await readFile(corpusFile('mate-Aqua.jpg'))); // any bytes do here: nothing resizes them
      buf.writeUInt32BE(size, 100_000);
      return { buf, request: { name: 'big.jpg', size, contentType: 'image/jpeg', sha256: sha256(buf), parts: partsOf(size).map((p) => sha256(buf.subarray(p.start, p.start + p.size))) } };
    };
    const put = async (part: UploadParts['parts'][number], body: Buffer) => {
      if (!('url' in part)) throw new Error('part is done');
      const res = await fetch(part.url, { method: 'PUT', headers: part.headers, body });
      return res.status;
    };

    it('plans parts, refuses a completion while a part is missing (naming it), completes, completes again, then answers exists', async () => {
      // Requests through the clients' address (the proxy) other than the parts the test PUTs.
      const notPuts = () => [...s3.requests].filter(([k]) => !k.startsWith('PUT ')).reduce((n, [, v]) => n + v, 0);
      const notPutsBefore = notPuts();
      const { buf, request } = await file(MULTIPART_MIN_BYTES + 1000);
      const first = (await post('uploads', { files: [request] })).doc.uploads as UploadAnswer[];
      const plan = first[0] as UploadParts;
      expect(plan.parts.map((p) => [p.partNumber, 'url' in p])).toEqual([[1, true], [2, true], [3, true]]);
      expect(plan.parts.every((p) => 'url' in p && p.url.startsWith(`${s3.url}/`))).toBe(true);
      expect(plan.partSize).toBe(8 * 1024 * 1024);
      const [p1, p2, p3] = partsOf(request.size);
      expect(await put(plan.parts[0], buf.subarray(p1.start, p1.start + p1.size))).toBe(200);
      // The part's SHA-256 is signed: other bytes of the same length are refused.
      expect(await put(plan.parts[1], Buffer.alloc(p2.size, 1))).toBe(400);
      const complete = { key: plan.key, uploadId: plan.uploadId, size: request.size, sha256: request.sha256, parts: request.parts };
      expect(await post('uploads/complete', complete)).toMatchObject({ status: 409, doc: { error: { code: 'PartsMissing', message: expect.stringMatching(/^parts 2, 3 of 3 /) } } });

      // Asked again, the plan resumes the same upload: part 1 is done.
      const resumed = ((await post('uploads', { files: [request] })).doc.uploads as UploadParts[])[0];
      expect([resumed.uploadId, resumed.parts.map((p) => 'done' in p)]).toEqual([plan.uploadId, [true, false, false]]);
      expect(await put(resumed.parts[1], buf.subarray(p2.start, p2.start + p2.size))).toBe(200);
      expect(await put(resumed.parts[2], buf.subarray(p3.start))).toBe(200);
      expect(await post('uploads/complete', complete)).toEqual({ status: 200, doc: { key: plan.key, completed: true } });
      expect(await post('uploads/complete', complete)).toEqual({ status: 200, doc: { key: plan.key, completed: true } });
      expect(sha256(await stack.get(stack.sourceBucket, plan.key))).toBe(request.sha256);
      expect(((await post('uploads', { files: [request] })).doc.uploads as UploadAnswer[])[0]).toMatchObject({ key: plan.key, exists: true });
      // The URLs name the clients' address; the API's own lookups, Create, ListParts and Complete
      // go to storage directly, as on AWS they stay in the region (not across the clients' WAN).
      expect(notPuts() - notPutsBefore).toBe(0);
    });

    it('refuses a file over the resize limit, naming it, and a completion for a key of other bytes', async () => {
      const { doc } = await post('uploads', { files: [{ name: 'huge.tif', size: 300_000_000, contentType: 'image/tiff', sha256: sha256(Buffer.from('x')) }] });
      expect((doc.uploads as UploadAnswer[])[0]).toEqual({ name: 'huge.tif', error: { code: 'EntityTooLarge', message: 'size 300000000 bytes is over the 256 MiB limit (the most the resize reads)' } });
      const { request } = await file(MULTIPART_MIN_BYTES);
      const refused = await post('uploads/complete', { key: 'uploads/aaaa/other.jpg', uploadId: 'x', size: request.size, sha256: request.sha256, parts: request.parts });
      expect(refused).toMatchObject({ status: 400, doc: { error: { code: 'InvalidKey' } } });
      const wrongCount = await post('uploads', { files: [{ ...request, parts: request.parts.slice(1) }] });
      expect((wrongCount.doc.uploads as UploadAnswer[])[0]).toMatchObject({ error: { code: 'InvalidParts', message: "parts must list the SHA-256 of each of the file's 2 parts" } });
    });
  });

  it('a part whose bytes change between the plan and its PUT is refused by storage and reported; nothing is stored', async () => {
    const dir = path.join(root, 'c');
    await mkdir(path.join(dir, 'photos'), { recursive: true });
    const file = path.join(dir, 'photos/changing.tif');
    await sharp(corpusFile('mate-Aqua.jpg')).resize(3000, 2000, { fit: 'fill' }).tiff({ compression: 'none' }).toFile(file);
    const result = await runUpload({
      paths: [path.join(dir, 'photos')],
      spec: DEFAULT_SPEC,
      api: stack.apiUrl,
      manifestPath: path.join(dir, '.imgpipe/last-upload.json'),
      ledgerPath: path.join(dir, '.imgpipe/ledger.jsonl'),
      destination: { destBucket: stack.destBucket, target: `local:${stack.dir}` },
      signal: new AbortController().signal,
      env: {},
      onEvent: (e) => {
        // The plan is in hand, no part sent yet: change one byte of the second part, same size.
        if (e.type !== 'batch-presigned') return;
        const fd = openSync(file, 'r+'); // synchronously, before any part's PUT opens the file
        writeSync(fd, Buffer.from([0x55]), 0, 1, 9 * 1024 * 1024);
        closeSync(fd);
      },
    });
    expect(result).toMatchObject({ ok: false, uploaded: 0, failed: 1 });
    expect(result.uploads[0].error).toMatch(/^file changed during upload: refused by S3 \(BadDigest: /);
    const key = result.uploads[0].key!;
    expect(await stack.list(stack.sourceBucket)).not.toContain(key);
  }, 60_000);
});
