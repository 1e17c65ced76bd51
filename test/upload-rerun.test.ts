// A re-run of unchanged files that the ledger knows stored and resized in this pipeline, with this
// spec, asks nothing about them: no POST /uploads, no S3 request, neither the CLI's nor the API's
// ListObjectsV2 (counted at proxies in front of the presign API and of S3: the stack's API is sent
// to S3 through the same proxy). What the ledger does not know is asked as before; --verify asks all.
// An "exists" costs the API its ListObjectsV2 and, for heal (lambda/heal.ts), a GET of the done
// record, and of the failure record when there is no done one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec, specHash, widthVariants } from '../src/core/spec.js';
import { Ledger, type LedgerEntry } from '../src/files/ledger.js';
import { scanPaths } from '../src/files/scan.js';
import { checkBatch } from '../src/jobs/upload/check.js';
import type { UploadResult } from '../src/jobs/upload.js';
import type { WatchResult } from '../src/jobs/watch.js';
import type { FileRecord, UploadRun } from '../src/jobs/upload/types.js';
import { runCli } from './helpers/cli.js';
import { adoptVia, startFaultProxy, writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const N = 40;
const SPEC = parseSpec({ variants: widthVariants([64], 'jpeg', 70) });

describe('re-running an upload of unchanged files', () => {
  let stack: TestStack;
  let api: FaultProxy;
  let s3: FaultProxy;
  let cwd: string;

  beforeAll(async () => {
    // Every S3 request of the CLI (PUTs by URL, the wait's lists and GETs) and every API call goes through a proxy.
    s3 = await startFaultProxy({ target: () => stack.s3Endpoint, flavor: 's3' });
    api = await startFaultProxy({ target: () => stack.apiUrl, flavor: 'api' });
    stack = await startTestStack({ spec: SPEC, urlEndpoint: s3.url, apiS3Endpoint: s3.url });
    cwd = await tempDir('imgpipe-rerun-');
    await adoptVia({ ...stack, s3Endpoint: s3.url }, cwd, api.url);
    await writeNoiseJpegs(path.join(cwd, 'photos'), N);
  }, 120_000);
  afterAll(async () => {
    await s3?.close();
    await api?.close();
    await stack?.stop();
  });

  /** Run the CLI; return its document and the requests it made, per "METHOD /path" for the API, in all for S3. */
  async function upload(...flags: string[]) {
    const s3Total = () => [...s3.requests.values()].reduce((a, b) => a + b, 0);
    const s3Kind = (prefix: string) => [...s3.requests].reduce((n, [k, v]) => n + (k.startsWith(prefix) ? v : 0), 0);
    // ListObjectsV2 are the only GETs of the source through the proxy; record reads, of the destination's _imgpipe/.
    const kinds = () => ({ lists: s3Kind(`GET /${stack.sourceBucket}`), doneReads: s3Kind(`GET /${stack.destBucket}/_imgpipe/done/`), failedReads: s3Kind(`GET /${stack.destBucket}/_imgpipe/failed/`) });
    const before = { api: new Map(api.requests), s3: s3Total(), kinds: kinds() };
    const r = await runCli(['upload', 'photos', '--local', '--json', ...flags], { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const apiCalls: Record<string, number> = {};
    for (const [k, n] of api.requests) if (n - (before.api.get(k) ?? 0)) apiCalls[k] = n - (before.api.get(k) ?? 0);
    const s3Calls = s3Total() - before.s3;
    const now = kinds();
    const s3Kinds = { lists: now.lists - before.kinds.lists, doneReads: now.doneReads - before.kinds.doneReads, failedReads: now.failedReads - before.kinds.failedReads };
    return { doc: JSON.parse(r.stdout) as UploadResult & { wait?: WatchResult }, apiCalls, s3Calls, s3Kinds };
  }
  // Each run's own two checks: the running `dev` is alive, and which spec it makes. Per run, not per file.
  const RUN_CHECKS = { 'GET /health': 1, 'GET /spec': 1 };
  const POSTS = 3; // a first batch of 8 (-c 8), then each twice the last: 8, 16, 16

  it('without a wait the ledger knows the files stored but not resized: the re-run asks the API, as before', async () => {
    const first = await upload('-c', '8');
    expect(first.doc).toMatchObject({ uploaded: N, exists: 0 });
    // A PUT per file, and the API's ListObjectsV2 per file (is it there already?).
    expect(first.s3Calls).toBe(2 * N);
    const again = await upload('-c', '8');
    expect(again.doc).toMatchObject({ uploaded: 0, exists: N });
    expect(again.doc.uploads.filter((u) => u.resized)).toEqual([]);
    expect(again.apiCalls).toEqual({ ...RUN_CHECKS, 'POST /uploads': POSTS });
    // Per file: the API's list, and its read of the done record; of the failure record too where the resize has not finished yet.
    expect(again.s3Kinds.lists).toBe(N);
    expect(again.s3Kinds.doneReads).toBe(N);
    expect(again.s3Kinds.failedReads).toBeLessThanOrEqual(N);
    expect(again.s3Calls).toBe(2 * N + again.s3Kinds.failedReads);
  }, 120_000);

  it('after a wait read every record done with this spec, a re-run makes no request for any file; --verify asks again', async () => {
    const waited = await upload('-c', '8', '--wait');
    expect(waited.doc.wait).toMatchObject({ ok: true, done: N });
    const entries = (await readFile(path.join(cwd, '.imgpipe/ledger.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as LedgerEntry);
    const ledger = await Ledger.open(path.join(cwd, '.imgpipe/ledger.jsonl'));
    const latest = [...new Set(entries.map((e) => e.path))].map((p) => ledger.lookup(entries[0].pipeline, p)!);
    expect(latest.map((e) => e.done)).toEqual(Array(N).fill(specHash(SPEC)));

    for (const flags of [[], ['--wait']]) {
      const rerun = await upload('-c', '8', ...flags);
      expect(rerun.doc).toMatchObject({ ok: true, uploaded: 0, exists: N, failed: 0 });
      expect(rerun.doc.uploads.map((u) => u.resized)).toEqual(Array(N).fill(true));
      expect(rerun.doc.keys.sort()).toEqual(waited.doc.keys.sort());
      expect(rerun.apiCalls, flags.join(' ')).toEqual(RUN_CHECKS); // no POST /uploads
      expect(rerun.s3Calls, flags.join(' ')).toBe(0);
    }
    const plain = await runCli(['upload', 'photos', '--local'], { cwd });
    expect(plain.stdout).toMatch(/^skip (photos\/)?img-000\.jpg: already there as uploads\/\S+, resized \(the ledger knows; --verify asks\)$/m);
    expect(plain.stdout).toContain(`0 uploaded, ${N} already there, 0 failed of ${N} files`);
    // Nothing new to remember: the ledger did not grow.
    expect((await readFile(path.join(cwd, '.imgpipe/ledger.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(entries.length);

    const verified = await upload('-c', '8', '--verify');
    expect(verified.doc).toMatchObject({ uploaded: 0, exists: N });
    expect(verified.doc.uploads.filter((u) => u.resized)).toEqual([]);
    expect(verified.apiCalls).toEqual({ ...RUN_CHECKS, 'POST /uploads': POSTS });
    expect(verified.s3Kinds).toEqual({ lists: N, doneReads: N, failedReads: 0 }); // all done: nothing to heal
    expect(verified.s3Calls).toBe(2 * N);
    // …and the ledger still knows them resized: the next plain run asks nothing again.
    expect((await upload('-c', '8')).apiCalls).toEqual(RUN_CHECKS);
  }, 240_000); // seven runs of the CLI, on a shared 2-core machine
});

describe('what the ledger must know for a file to be asked nothing', () => {
  let dir: string;
  let ledger: Ledger;
  let record: FileRecord;
  const pipeline = 'local:/data/a';
  const run = (over: Partial<UploadRun['opts']> = {}, spec = SPEC): UploadRun =>
    ({ ledger, specHash: specHash(spec), opts: { spec, api: 'http://api', destination: { pipeline }, ...over } }) as unknown as UploadRun;
  // The check stage, as the upload runs it on a batch of one; it fills in the record it is given: each check gets its own copy.
  const check = async (r: UploadRun) => (await checkBatch(r, [{ ...record }]))[0];

  beforeAll(async () => {
    dir = await tempDir('imgpipe-rerun-unit-');
    const [file] = await writeNoiseJpegs(path.join(dir, 'photos'), 1);
    const [found] = (await scanPaths([file])).files;
    record = { path: found.path, relPath: found.relPath, found, status: 'pending', size: found.size };
    ledger = await Ledger.open(path.join(dir, 'ledger.jsonl'));
    const entry = { pipeline, path: found.path, size: found.size, mtimeMs: found.mtimeMs, sha256: 'c2hh', contentType: 'image/jpeg', key: 'uploads/k/img-000.jpg', at: '2026-01-01T00:00:00Z' };
    await ledger.append([{ ...entry, done: specHash(SPEC) }]);
  });

  it('this pipeline, unchanged, done with this spec: resized, not asked', async () => {
    expect(await check(run())).toMatchObject({ fromLedger: true, resized: true, ledgerKey: 'uploads/k/img-000.jpg', sha256: 'c2hh' });
  });
  it('--verify: asked', async () => {
    expect(await check(run({ verify: true }))).toMatchObject({ fromLedger: true, resized: undefined, ledgerKey: undefined });
  });
  it('done with another spec: asked', async () => {
    const other = parseSpec({ variants: widthVariants([128], 'jpeg', 70) });
    const checked = await check(run({}, other));
    expect([checked.fromLedger, checked.ledgerKey]).toEqual([true, undefined]);
  });
  it('another pipeline: not known at all (read, then asked)', async () => {
    const checked = await check(run({ destination: { pipeline: 'local:/data/b' } }));
    expect([!!checked.fromLedger, checked.ledgerKey]).toEqual([false, undefined]);
    expect(checked.sha256).not.toBe('c2hh'); // read: the file's own hash
  });
  it("a dry run takes the ledger's key for any spec: it asks nothing anyway", async () => {
    const other = parseSpec({ variants: widthVariants([128], 'jpeg', 70) });
    expect(await check(run({ dryRun: true }, other))).toMatchObject({ fromLedger: true, ledgerKey: 'uploads/k/img-000.jpg', resized: undefined });
  });
});

describe('a big file the ledger knows, sent in parts', () => {
  it('takes its part hashes from the ledger: the file is not read for them (here it is not even there)', async () => {
    const dir = await tempDir('imgpipe-rerun-parts-');
    const ledger = await Ledger.open(path.join(dir, 'ledger.jsonl'));
    const pipeline = 'local:/data/a';
    const size = 20 * 1024 * 1024; // over the multipart threshold: three parts
    const gone = path.join(dir, 'photos', 'scan.tif'); // never written: any read of it fails
    const found = { path: gone, relPath: 'scan.tif', size, mtimeMs: 1_700_000_000_000 } as unknown as FileRecord['found'];
    const parts = ['cGFydDE=', 'cGFydDI=', 'cGFydDM='];
    const entry = { pipeline, path: gone, size, mtimeMs: 1_700_000_000_000, sha256: 'c2hh', contentType: 'image/tiff', key: 'uploads/k/scan.tif', at: '2026-01-01T00:00:00Z' };
    const run = { ledger, specHash: specHash(SPEC), opts: { spec: SPEC, api: 'http://api', destination: { pipeline } } } as unknown as UploadRun;
    const check = async () => (await checkBatch(run, [{ path: gone, relPath: 'scan.tif', found, status: 'pending', size }]))[0];

    await ledger.append([entry]); // a ledger of before: no parts kept
    expect(await check()).toMatchObject({ fromLedger: true, sha256: 'c2hh' });
    expect((await check()).parts).toBeUndefined(); // the read failed: none

    await ledger.append([{ ...entry, parts }]);
    expect(await check()).toMatchObject({ fromLedger: true, size, sha256: 'c2hh', contentType: 'image/tiff', parts });
    // And the ledger keeps them across a reopen.
    expect((await Ledger.open(path.join(dir, 'ledger.jsonl'))).lookup(pipeline, gone)?.parts).toEqual(parts);
  });
});
