// Uploads through a fault-injecting proxy in front of the local S3 server (the endpoint written
// into the pre-signed URLs) and of the presign API: 5xx answers, resets mid-body, stalls. The CLI
// runs as a separate process; the bucket, the manifest and the proxy's counts are checked after.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { adoptVia, spawnCli, startFaultProxy, writeNoiseJpegs, type FaultProxy, type FaultProxyOptions } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import type { UploadResult } from '../src/jobs/upload.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Rig {
  stack: TestStack;
  s3: FaultProxy;
  api: FaultProxy;
  cwd: string;
  photos: string;
  files: string[];
}

/** What `upload --json` prints. */
type UploadDoc = UploadResult;

interface ManifestDoc {
  version: number;
  files: { path: string; status: string; key?: string; sha256: string; error?: string }[];
}

let rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs) {
    await r.s3.close();
    await r.api.close();
    await r.stack.stop();
  }
  rigs = [];
});

/** A stack (no resize trigger) whose URLs point at an S3 proxy, its API behind an API proxy. */
async function rig(n: number, s3opts: Partial<FaultProxyOptions>, apiOpts: Partial<FaultProxyOptions>): Promise<Rig> {
  let stack: TestStack | undefined;
  const s3 = await startFaultProxy({ target: () => stack!.s3Endpoint, flavor: 's3', match: (r) => r.method === 'PUT', ...s3opts });
  // Only the presign calls: the CLI's health check of the stack must not be faulted.
  const api = await startFaultProxy({ target: () => stack!.apiUrl, flavor: 'api', match: (r) => r.method === 'POST', ...apiOpts });
  stack = await startTestStack({ trigger: false, urlEndpoint: s3.url });
  const cwd = await tempDir('imgpipe-faults-');
  await adoptVia(stack, cwd, api.url);
  const photos = path.join(cwd, 'photos');
  const files = await writeNoiseJpegs(photos, n);
  const r = { stack, s3, api, cwd, photos, files };
  rigs.push(r);
  return r;
}

async function manifestOf(cwd: string): Promise<ManifestDoc> {
  return JSON.parse(await readFile(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8')) as ManifestDoc;
}

/** The stored objects are exactly the given keys, each byte-equal to its file. */
async function expectObjects(stack: TestStack, uploads: { path: string; key?: string }[]) {
  const listed = await stack.list(stack.sourceBucket);
  expect(listed).toEqual(uploads.map((u) => u.key!).sort());
  let corrupted = 0;
  for (const u of uploads) if (sha256(await stack.get(stack.sourceBucket, u.key!)) !== sha256(await readFile(u.path))) corrupted++;
  expect(corrupted).toBe(0);
}

const SOURCE_PATH = (bucket: string, key: string) => `PUT /${bucket}/${key}`;

describe('the fault proxy', () => {
  it('injects the same faults for the same seed, answers S3-shaped errors, and forwards Host unchanged', async () => {
    let hosts: string[] = [];
    const upstream = http.createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      req.resume();
      req.on('end', () => res.end('stored'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const rates = { status500: 0.15, status503: 0.15, resetRequest: 0.15, resetResponse: 0.15 };
    const drive = async (seed: number) => {
      const proxy = await startFaultProxy({ target, flavor: 's3', seed, rates });
      hosts = [];
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        try {
          const res = await fetch(`${proxy.url}/bucket/key-${i}?X-Amz-Signature=x`, { method: 'PUT', body: Buffer.alloc(10_000, i) });
          const text = await res.text();
          outcomes.push(res.status === 200 ? 'none' : `${res.status} ${/<Code>(\w+)<\/Code>/.exec(text)?.[1]}`);
        } catch {
          outcomes.push('reset');
        }
      }
      await proxy.close();
      return { proxy, outcomes, hosts };
    };
    try {
      const a = await drive(42);
      const b = await drive(42);
      const c = await drive(43);
      const faults = (p: FaultProxy) => p.decisions.map((d) => d.fault);
      expect(faults(b.proxy)).toEqual(faults(a.proxy));
      expect(faults(c.proxy)).not.toEqual(faults(a.proxy));
      for (const kind of ['status500', 'status503', 'resetRequest', 'resetResponse', 'none'] as const) expect(faults(a.proxy)).toContain(kind);
      // What the client saw is what was decided.
      const seen = { none: 'none', status500: '500 InternalError', status503: '503 SlowDown', resetRequest: 'reset', resetResponse: 'reset' } as Record<string, string>;
      expect(a.outcomes).toEqual(faults(a.proxy).map((f) => seen[f]));
      // Upstream only ever saw the Host the client sent the proxy (what a pre-signed URL signs).
      expect(new Set(a.hosts)).toEqual(new Set([new URL(a.proxy.url).host]));
      expect(a.hosts.length).toBeGreaterThanOrEqual(faults(a.proxy).filter((f) => f === 'none' || f === 'resetResponse').length);
      expect(a.proxy.total(a.proxy.requests, 'PUT')).toBe(40);
      expect(a.proxy.total(a.proxy.upstreamOk, 'PUT')).toBe(faults(a.proxy).filter((f) => f === 'none' || f === 'resetResponse').length);
      expect(a.proxy.upstreamCut).toBe(a.proxy.faults.resetRequest);
    } finally {
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });
});

/**
 * 300 files with retries and backoff: ~20 s here, several times that on a loaded 2-core machine;
 * only a hang takes this long (vitest's 60 s default is not one).
 */
const BIG_RUN_HANG_MS = 300_000;

describe('upload through injected faults', () => {
  it('300 files through 10 % 5xx and 5 % resets on S3 and the API: every object once, byte-equal, retries counted', async () => {
    const rates = { status500: 0.05, status503: 0.05, resetRequest: 0.025, resetResponse: 0.025 };
    const { stack, s3, api, cwd, photos, files } = await rig(300, { seed: 20240501, rates, maxConsecutive: 3 }, {
      seed: 7,
      rates,
      maxConsecutive: 3,
      // The first presign batch meets every kind of fault once before it gets through.
      script: ['status503', 'resetRequest', 'resetResponse', 'status500'],
    });
    expect(new Set(await Promise.all(files.map(async (f) => sha256(await readFile(f))))).size).toBe(300);

    const run = spawnCli(BIN, ['upload', photos, '--local', '--json'], { cwd, timeoutMs: BIG_RUN_HANG_MS });
    const r = await run.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, interrupted: false, files: 300, uploaded: 300, exists: 0, failed: 0 });

    // The faults really happened, of every kind, on both sides.
    for (const kind of ['status500', 'status503', 'resetRequest', 'resetResponse'] as const) expect(s3.faults[kind], kind).toBeGreaterThan(0);
    expect(api.failures()).toBeGreaterThanOrEqual(4);
    // Each injected fault cost exactly one retry, and nothing else did.
    expect(doc.retries).toBe(s3.failures() + api.failures());
    expect(doc.uploads.reduce((n, u) => n + (u.retries ?? 0), 0)).toBe(s3.failures());

    // Every file is in the bucket exactly once, byte-equal, under the key the summary gives.
    await expectObjects(stack, doc.uploads);
    // What reached S3: each key stored once, plus again for each answer the proxy dropped after
    // S3 had stored it (the retry overwrites the same key with the same bytes).
    const stored = [...s3.upstreamOk].filter(([k]) => k.startsWith('PUT '));
    expect(stored.map(([k]) => k).sort()).toEqual(doc.uploads.map((u) => SOURCE_PATH(stack.sourceBucket, u.key!)).sort());
    expect(s3.total(s3.upstreamOk, 'PUT')).toBe(300 + s3.faults.resetResponse);
    // Each reset mid-body cut the upstream request short; the client never gave up on its own.
    expect(s3.upstreamCut).toBe(s3.faults.resetRequest);
    expect(s3.clientAborts).toBe(0);

    const manifest = await manifestOf(cwd);
    expect(manifest.files).toHaveLength(300);
    expect(manifest.files.every((f) => f.status === 'uploaded')).toBe(true);
    expect(manifest.files.map((f) => f.key).sort()).toEqual([...doc.keys].sort());

    const report = {
      files: 300,
      bytes: (await Promise.all(files.map((f) => readFile(f)))).reduce((n, b) => n + b.length, 0),
      s3Requests: s3.total(s3.requests, 'PUT'),
      s3Faults: s3.faults,
      apiRequests: api.total(api.requests, 'POST'),
      apiFaults: api.faults,
      retries: doc.retries,
      lost: 300 - (await stack.list(stack.sourceBucket)).length,
      corrupted: 0,
      peakRssMB: Math.round(r.peakRssKb / 1024),
    };
    console.log(`faults report: ${JSON.stringify(report)}`);
  }, BIG_RUN_HANG_MS + 60_000);

  it('when every PUT fails: one clear line per file, exit 1, and nothing marked uploaded', async () => {
    const { stack, s3, api, cwd, photos, files } = await rig(12, { seed: 3, rates: { status500: 1 / 3, status503: 1 / 3, resetRequest: 1 / 3 } }, {});
    const r = await spawnCli(BIN, ['upload', photos, '--local', '--json'], { cwd }).done;
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: false, files: 12, uploaded: 0, failed: 12, keys: [] });
    // Six attempts each, all refused: five retries per file.
    expect(s3.total(s3.requests, 'PUT')).toBe(12 * 6);
    expect(doc.retries).toBe(12 * 5);
    expect(api.failures()).toBe(0);

    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(12);
    const reason = /: (500 InternalError: We encountered an internal error\. Please try again\. \(after 6 attempts\)|503 SlowDown: Please reduce your request rate\. \(after 6 attempts\)|(connection reset by the server|network error) \([A-Z][A-Z_]+\) after 6 attempts)$/;
    for (const f of files) {
      const line = lines.find((l) => l.startsWith(`error ${f}: `));
      expect(line, f).toBeDefined();
      expect(line).toMatch(new RegExp(`^error ${escape(f)}${reason.source}`));
    }

    expect(s3.total(s3.upstreamOk, 'PUT')).toBe(0);
    expect(await stack.list(stack.sourceBucket)).toEqual([]);
    const manifest = await manifestOf(cwd);
    expect(manifest.files).toHaveLength(12);
    expect(manifest.files.filter((f) => f.status === 'uploaded')).toEqual([]);
    for (const f of manifest.files) expect([f.status, f.error]).toEqual(['failed', expect.stringMatching(reason.source.slice(2))]);
    // The re-run does not skip any of them.
    s3.configure({ rates: {} });
    const again = await spawnCli(BIN, ['upload', photos, '--local', '--json'], { cwd }).done;
    expect(again.code).toBe(0);
    const doc2 = JSON.parse(again.stdout) as UploadDoc;
    expect(doc2).toMatchObject({ ok: true, uploaded: 12, exists: 0, failed: 0, retries: 0 });
    await expectObjects(stack, doc2.uploads);
  });

  it('when the presign API always fails: one clear line per file, exit 1, nothing sent to S3', async () => {
    const { stack, s3, api, cwd, photos, files } = await rig(12, {}, { seed: 5, rates: { status503: 1 } });
    const r = await spawnCli(BIN, ['upload', photos, '--local', '--json', '--manifest', 'up.json'], { cwd }).done;
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: false, files: 12, uploaded: 0, failed: 12 });
    expect(api.total(api.requests, 'POST')).toBe(6);
    expect(doc.retries).toBe(5);
    const lines = r.stderr.trim().split('\n').sort();
    expect(lines).toEqual(files.map((f) => `error ${f}: presign API 503: SlowDown: Please reduce your request rate.`).sort());
    expect(s3.requests.size).toBe(0);
    expect(await stack.list(stack.sourceBucket)).toEqual([]);
    // A run that stored nothing leaves no manifest (nor replaces a good one: see ledger.test.ts).
    expect(existsSync(path.join(cwd, 'up.json'))).toBe(false);
  });

  it('a PUT that stalls past the request timeout (before or after S3 stored it) is abandoned, retried and succeeds', async () => {
    const { stack, s3, cwd, photos } = await rig(6, { script: ['stall', 'stallResponse'], stallMaxMs: 30_000 }, {});
    const r = await spawnCli(BIN, ['upload', photos, '--local', '--json'], { cwd, env: { IMGPIPE_REQUEST_TIMEOUT_MS: '2000' } }).done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, uploaded: 6, failed: 0 });
    // The client gave up on both stalled requests itself (the proxy never had to cut them).
    expect(s3.faults.stall + s3.faults.stallResponse).toBe(2);
    expect(s3.stallsAbandoned).toBe(2);
    expect(s3.stallsExpired).toBe(0);
    expect(doc.retries).toBeGreaterThanOrEqual(2);
    const stalledAfterStore = s3.decisions.find((d) => d.fault === 'stallResponse')!;
    expect(s3.upstreamOk.get(`PUT ${stalledAfterStore.path}`)).toBeGreaterThanOrEqual(2);
    await expectObjects(stack, doc.uploads);
  });

  it('a presign request that stalls is abandoned after the request timeout too', async () => {
    // The proxy cuts a stall after 20 s; the client, told to give up after 2 s of no progress,
    // must have abandoned it long before (a 10x margin, not a timing measurement).
    const { stack, api, cwd, photos } = await rig(4, {}, { script: ['stall'], stallMaxMs: 20_000 });
    const r = await spawnCli(BIN, ['upload', photos, '--local', '--json'], { cwd, env: { IMGPIPE_REQUEST_TIMEOUT_MS: '2000' } }).done;
    expect(r.code).toBe(0);
    expect(api.faults.stall).toBe(1);
    expect({ abandonedByClient: api.stallsAbandoned, cutByProxy: api.stallsExpired }).toEqual({ abandonedByClient: 1, cutByProxy: 0 });
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, uploaded: 4 });
    expect(doc.retries).toBeGreaterThanOrEqual(1);
    await expectObjects(stack, doc.uploads);
  }, 60_000);
});
