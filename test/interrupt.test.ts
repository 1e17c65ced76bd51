// Interrupting an upload mid-batch: SIGINT / SIGTERM abort the requests in flight, save the
// manifest and exit 130 / 143; SIGKILL leaves a manifest that still parses. The re-run uploads
// only the rest. PUTs go through a fault proxy that trickles the bodies (so the batch lasts) and
// counts what reached S3. To signal without a race, the proxy first holds back the last byte of
// every body (nothing more can complete) and the test waits until the client's manifest shows
// every PUT S3 has stored: then the signal lands with requests in flight and none half-done.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, runCli } from './helpers/cli.js';
import { eventually } from './helpers/s3.js';
import { spawnCli, startFaultProxy, writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import type { UploadResult } from '../src/jobs/upload.js';

const FILES = 48;
const CONCURRENCY = 4;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

interface ManifestDoc {
  files: { path: string; status: string; key?: string; sha256: string }[];
}
/** What `upload --json` prints. */
type UploadDoc = UploadResult;

interface Rig {
  stack: TestStack;
  s3: FaultProxy;
  cwd: string;
  photos: string;
  files: string[];
}

let rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs) {
    await r.s3.close();
    await r.stack.stop();
  }
  rigs = [];
});

async function rig(): Promise<Rig> {
  let stack: TestStack | undefined;
  // Every PUT body goes up 4 KB at a time, 40 ms apart: ~0.4 s a file, a few seconds a batch.
  const s3 = await startFaultProxy({ target: () => stack!.s3Endpoint, flavor: 's3', match: (r) => r.method === 'PUT', rates: { trickle: 1 }, trickle: { bytes: 4096, everyMs: 40 } });
  stack = await startTestStack({ trigger: false, urlEndpoint: s3.url });
  const cwd = await tempDir('imgpipe-interrupt-');
  await stack.adopt(cwd);
  const photos = path.join(cwd, 'photos');
  const files = await writeNoiseJpegs(photos, FILES);
  const r = { stack, s3, cwd, photos, files };
  rigs.push(r);
  return r;
}

const MANIFEST = '.imgpipe/last-upload.json';

/** Parse the manifest; a torn or half-written one fails the test right here. */
async function readManifest(cwd: string): Promise<ManifestDoc> {
  const text = await readFile(path.join(cwd, MANIFEST), 'utf8');
  return JSON.parse(text) as ManifestDoc;
}

/** Keys S3 stored (2xx to a PUT), with how many times each. */
function storedKeys(s3: FaultProxy, bucket: string): Map<string, number> {
  const out = new Map<string, number>();
  const prefix = `PUT /${bucket}/`;
  for (const [k, n] of s3.upstreamOk) if (k.startsWith(prefix)) out.set(decodeURIComponent(k.slice(prefix.length)), n);
  return out;
}

/** The keys the manifest says are in the bucket: sent by the run ('uploaded') or found there ('exists'). */
const uploadedKeys = (m: ManifestDoc) => m.files.filter((f) => f.status === 'uploaded' || f.status === 'exists').map((f) => f.key!).sort();

/** Hold the proxy, wait for the in-flight PUTs to be parked and for the manifest to catch up. */
async function quiesce(r: Rig): Promise<string[]> {
  await r.s3.waitFor(() => r.s3.total(r.s3.delivered, 'PUT') >= 8, '8 PUTs delivered');
  await r.s3.hold();
  await r.s3.waitFor(() => r.s3.held === CONCURRENCY, `${CONCURRENCY} PUTs parked mid-body`);
  const stored = [...storedKeys(r.s3, r.stack.sourceBucket).keys()].sort();
  // Everything S3 stored was answered to the client, which records it in the manifest.
  expect(r.s3.total(r.s3.delivered, 'PUT')).toBe(stored.length);
  await waitForManifest(r.cwd, (m) => uploadedKeys(m).length === stored.length);
  return stored;
}

/** Poll the manifest until `ok` holds; every version read must parse. */
async function waitForManifest(cwd: string, ok: (m: ManifestDoc) => boolean): Promise<void> {
  for (;;) {
    const m = await readManifest(cwd).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (m && ok(m)) return;
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** The re-run uploads only what is missing; then every file is stored exactly once, byte-equal. */
async function rerunAndCheck(r: Rig, uploadedBefore: string[]) {
  r.s3.release();
  r.s3.configure({ rates: {} });
  const again = await runCli(['upload', r.photos, '--local', '--json', '-c', String(CONCURRENCY)], { cwd: r.cwd });
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  const doc = JSON.parse(again.stdout) as UploadDoc;
  expect(doc).toMatchObject({ ok: true, files: FILES, uploaded: FILES - uploadedBefore.length, exists: uploadedBefore.length, failed: 0 });

  // Over both runs: one successful PUT per file, none twice, nothing else stored.
  const stored = storedKeys(r.s3, r.stack.sourceBucket);
  expect(stored.size).toBe(FILES);
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
  const manifest = await readManifest(r.cwd);
  // The re-run's manifest: what it sent 'uploaded', what the first run had stored 'exists'.
  const before = new Set(uploadedBefore);
  expect(manifest.files.map((f) => f.status)).toEqual(manifest.files.map((f) => (before.has(f.key!) ? 'exists' : 'uploaded')));
  expect(await r.stack.list(r.stack.sourceBucket)).toEqual(uploadedKeys(manifest));
  expect(uploadedKeys(manifest)).toEqual([...stored.keys()].sort());
  for (const f of manifest.files) {
    const local = await readFile(f.path);
    expect(sha256(await r.stack.get(r.stack.sourceBucket, f.key!)), f.path).toBe(sha256(local));
  }
}

describe('interrupting an upload', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s mid-batch aborts the PUTs in flight, saves the manifest, exits %i; the re-run uploads only the rest', async (sig, exitCode) => {
    const r = await rig();
    const run = spawnCli(BIN, ['upload', r.photos, '--local', '--json', '-c', String(CONCURRENCY)], { cwd: r.cwd });
    const stored = await quiesce(r);
    expect(stored.length).toBeGreaterThanOrEqual(8);
    expect(stored.length).toBeLessThan(FILES - CONCURRENCY);

    run.child.kill(sig);
    const res = await run.done;
    expect({ code: res.code, signal: res.signal }).toEqual({ code: exitCode, signal: null });
    expect(res.stderr).toContain(`imgpipe: ${sig}: stopping, saving the manifest`);
    expect(res.stderr.split('\n')).toContain('imgpipe: interrupted: run the same command again to resume (files already stored are not sent again)');
    const doc = JSON.parse(res.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: false, interrupted: true, files: FILES, uploaded: stored.length, failed: 0 });

    // The parked requests were aborted by the client, and S3 stored none of them.
    await r.s3.waitFor(() => r.s3.active === 0, 'the proxy to see every connection end');
    expect(r.s3.clientAborts).toBe(CONCURRENCY);
    expect(r.s3.upstreamCut).toBe(CONCURRENCY);
    expect([...storedKeys(r.s3, r.stack.sourceBucket).keys()].sort()).toEqual(stored);

    // The manifest: whole, every stored file 'uploaded', the rest 'pending' (never 'failed' nor 'exists').
    const manifest = await readManifest(r.cwd);
    expect(manifest.files).toHaveLength(FILES);
    expect(uploadedKeys(manifest)).toEqual(stored);
    expect(manifest.files.filter((f) => f.status !== 'uploaded').map((f) => f.status)).toEqual(Array(FILES - stored.length).fill('pending'));
    expect((await readdir(path.join(r.cwd, '.imgpipe'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    await rerunAndCheck(r, stored);
  });

  it('SIGINT in the wait after the upload names the `imgpipe watch` that picks it up, which waits for the same images', async () => {
    const r = await rig();
    r.s3.configure({ rates: {} }); // the PUTs at full speed: the stack resizes nothing (no trigger), so the wait lasts
    const run = spawnCli(BIN, ['upload', 'photos', '--local', '--wait', '--download', 'out'], { cwd: r.cwd });
    let stdout = '';
    run.child.stdout!.on('data', (d) => (stdout += d));
    await eventually(() => expect(stdout).toMatch(new RegExp(`^${FILES} uploaded, 0 already there, 0 failed of ${FILES} files; `, 'm')), 60_000);
    run.child.kill('SIGINT');
    const res = await run.done;
    expect(res.code).toBe(130);
    // `npx imgpipe` where no imgpipe is on PATH (test/dev-banner.test.ts tells the two apart).
    const hint = /^imgpipe: interrupted while waiting; the uploads are done: `(?:npx )?imgpipe (watch --local --download out)` picks the wait up again$/;
    const said = res.stderr.split('\n').filter((l) => l.startsWith('imgpipe: interrupted'));
    expect(said).toEqual([expect.stringMatching(hint)]);
    // The command as printed, given a short timeout: it waits for the run's images, every one.
    const command = hint.exec(said[0])![1].split(' ');
    const watch = await runCli([...command, '--timeout', '1'], { cwd: r.cwd });
    expect(watch.code).toBe(1);
    expect(watch.stderr).toMatch(new RegExp(`^timed out after 1\\.00 s: ${FILES} of ${FILES} images have no record:$`, 'm'));
  });

  it('SIGKILL mid-batch leaves a manifest that parses, and the re-run uploads exactly the rest', async () => {
    const r = await rig();
    const run = spawnCli(BIN, ['upload', r.photos, '--local', '--json', '-c', String(CONCURRENCY)], { cwd: r.cwd });
    const stored = await quiesce(r);
    run.child.kill('SIGKILL');
    const res = await run.done;
    expect(res.signal).toBe('SIGKILL');
    await r.s3.waitFor(() => r.s3.active === 0, 'the proxy to see every connection end');
    expect(r.s3.upstreamCut).toBe(CONCURRENCY);

    const manifest = await readManifest(r.cwd);
    expect(uploadedKeys(manifest)).toEqual(stored);
    await rerunAndCheck(r, stored);
  });

  it('SIGKILL while PUTs complete: the manifest parses, never claims an object S3 did not store, and the re-run sends nothing twice', async () => {
    const r = await rig();
    const run = spawnCli(BIN, ['upload', r.photos, '--local', '--json', '-c', String(CONCURRENCY)], { cwd: r.cwd });
    // No hold: the kill lands wherever the client is, manifest writes included; only once the
    // manifest records a few uploads (so the check below cannot pass on an empty one).
    await waitForManifest(r.cwd, (m) => uploadedKeys(m).length >= 5);
    const delivered = r.s3.total(r.s3.delivered, 'PUT');
    await r.s3.waitFor(() => r.s3.total(r.s3.delivered, 'PUT') >= delivered + 3, 'three more PUTs delivered');
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    await r.s3.waitFor(() => r.s3.active === 0, 'the proxy to see every connection end');

    const stored = storedKeys(r.s3, r.stack.sourceBucket);
    const manifest = await readManifest(r.cwd);
    const claimed = uploadedKeys(manifest);
    expect(claimed.length).toBeGreaterThan(0);
    for (const k of claimed) expect(stored.has(k), k).toBe(true);
    // Stored by S3 but not (yet) recorded when the process died: the API finds them by their
    // content, so the re-run sends none of them again and nothing is left behind.
    const unrecorded = [...stored.keys()].filter((k) => !claimed.includes(k)).sort();

    r.s3.configure({ rates: {} });
    const putsBefore = r.s3.total(r.s3.requests, 'PUT');
    const again = await runCli(['upload', r.photos, '--local', '--json'], { cwd: r.cwd });
    expect(again.code).toBe(0);
    const doc = JSON.parse(again.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, uploaded: FILES - stored.size, exists: stored.size, failed: 0 });
    expect(r.s3.total(r.s3.requests, 'PUT') - putsBefore).toBe(FILES - stored.size);
    const final = await readManifest(r.cwd);
    const keys = uploadedKeys(final);
    expect(keys).toHaveLength(FILES);
    const listed = await r.stack.list(r.stack.sourceBucket);
    expect(listed).toEqual([...keys].sort()); // one object per file: no duplicate, no orphan
    for (const f of final.files) expect(sha256(await r.stack.get(r.stack.sourceBucket, f.key!)), f.path).toBe(sha256(await readFile(f.path)));
    console.log(`sigkill report: ${JSON.stringify({ files: FILES, storedBeforeKill: stored.size, recordedInManifest: claimed.length, storedButUnrecorded: unrecorded.length })}`);
  });
});
