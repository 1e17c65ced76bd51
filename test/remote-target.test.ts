// The "remote" target: a pipeline reached the way a deployed one is (--api, --dest-bucket,
// --endpoint, --region, credentials from the AWS environment, IMGPIPE_API_KEY), never --local.
// A running `imgpipe dev` with an API key stands in for the deployment; the CLI runs from working
// directories that hold no .imgpipe/dev.json, so nothing local can be found by accident.
// Plus: URLs that expire mid-batch are re-signed (in-process stack behind a trickling proxy), and
// another pipeline's manifest entries never make a file count as uploaded.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UploadResult } from '../src/jobs/upload.js';
import type { WatchResult } from '../src/jobs/watch.js';
import { CLEAN_ENV } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import { adoptVia, startFaultProxy, writeNoiseJpegs, type FaultProxy } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

type UploadDoc = UploadResult & { wait?: WatchResult };


describe('upload and watch through the remote target (--api/--endpoint, not --local)', () => {
  const FILES = 4;
  let dev: DevProcess;
  let root: string;
  let devCwd: string;
  let photos: string;
  let files: string[];
  let creds: { accessKeyId: string; secretAccessKey: string; region: string; endpoint: string };
  let remoteCwd: string;
  let firstRun: UploadDoc;

  const remoteArgs = () => ['upload', photos, '--api', dev.state.apiUrl, '--dest-bucket', 'imgpipe-dest', '--endpoint', creds.endpoint, '--region', 'us-east-1', '--wait', '--json'];
  const awsEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...CLEAN_ENV,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    ...extra,
  });
  const newCwd = async (name: string) => {
    const dir = path.join(root, name);
    await mkdir(dir);
    return dir;
  };

  beforeAll(async () => {
    root = await tempDir('imgpipe-remote-');
    devCwd = await newCwd('dev');
    dev = await startDev(devCwd, { env: { ...CLEAN_ENV, IMGPIPE_API_KEY: 'k-remote' } });
    photos = path.join(root, 'photos');
    files = (await writeNoiseJpegs(photos, FILES)).sort();

    // The credentials as a user gets them: `imgpipe dev --show-credentials --json` where dev runs.
    const shown = await runCli(['dev', '--show-credentials', '--json'], { cwd: devCwd, env: CLEAN_ENV });
    expect(shown.code, shown.stderr).toBe(0);
    creds = JSON.parse(shown.stdout);
    expect(creds).toMatchObject({ accessKeyId: dev.state.credentials.accessKeyId, secretAccessKey: dev.state.credentials.secretAccessKey, region: 'us-east-1', endpoint: dev.state.s3Endpoint });
  }, 90_000);

  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
  });

  it('without IMGPIPE_API_KEY: exit 3, one line naming the URL and the key to check, nothing stored', async () => {
    const cwd = await newCwd('no-key');
    const r = await runCli(remoteArgs(), { cwd, env: awsEnv() });
    expect(r.code, r.stderr).toBe(3);
    const message = `the presign API at ${dev.state.apiUrl.replace(/\/+$/, '')}/uploads refused the request (401): check IMGPIPE_API_KEY (the key \`imgpipe deploy\` made) and the URL; nothing was uploaded`;
    expect(r.stderr).toBe(`imgpipe: ${message}\n`);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: false, files: FILES, uploaded: 0, exists: 0, failed: 0, keys: [], stopped: { code: 'ApiRefused', message } });
    expect(doc.wait).toBeUndefined();
    expect(await dev.list(dev.state.sourceBucket)).toEqual([]);
    expect(existsSync(path.join(cwd, '.imgpipe/dev.json'))).toBe(false);
  }, 60_000);

  it('with IMGPIPE_API_KEY from another directory: exit 0, every file uploaded byte-exact, wait.ok with a record per image', async () => {
    remoteCwd = await newCwd('remote');
    const r = await runCli(remoteArgs(), { cwd: remoteCwd, env: awsEnv({ IMGPIPE_API_KEY: 'k-remote' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(path.join(remoteCwd, '.imgpipe/dev.json'))).toBe(false); // not the local path

    const doc = JSON.parse(r.stdout) as UploadDoc;
    firstRun = doc;
    expect(doc).toMatchObject({ ok: true, api: dev.state.apiUrl, files: FILES, uploaded: FILES, exists: 0, failed: 0 });
    expect(doc.uploads.map((u) => u.status)).toEqual(Array(FILES).fill('uploaded'));
    expect(doc.keys).toHaveLength(FILES);
    expect(doc.wait).toMatchObject({ ok: true, bucket: 'imgpipe-dest', images: FILES, done: FILES, missing: [], failed: [], timedOut: false });
    expect(doc.wait!.records.map((rec) => rec.status)).toEqual(Array(FILES).fill('done'));
    expect(doc.wait!.records.map((rec) => rec.source.key).sort()).toEqual([...doc.keys].sort());

    // The source bucket holds exactly these files, byte for byte.
    expect(await dev.list(dev.state.sourceBucket)).toEqual([...doc.keys].sort());
    for (const u of doc.uploads) expect(sha256(await dev.get(dev.state.sourceBucket, u.key!)), u.path).toBe(sha256(await readFile(u.path)));
    // A record per image in the destination bucket.
    const dest = await dev.list(dev.state.destBucket);
    for (const k of doc.keys) expect(dest).toContain(`_imgpipe/done/${k}.json`);

    // The manifest says where it went: the remote target, not the local one.
    const manifest = JSON.parse(await readFile(path.join(remoteCwd, '.imgpipe/last-upload.json'), 'utf8'));
    expect(manifest).toMatchObject({ api: dev.state.apiUrl, destBucket: 'imgpipe-dest', endpoint: creds.endpoint, region: 'us-east-1' });
    expect(manifest.local).not.toBe(true);
  }, 120_000);

  it('`watch --json` with no arguments in that directory finds keys, API, bucket and endpoint in the manifest', async () => {
    expect(firstRun, 'the upload test must have run').toBeDefined();
    const r = await runCli(['watch', '--json'], { cwd: remoteCwd, env: awsEnv({ IMGPIPE_API_KEY: 'k-remote' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as WatchResult;
    expect(doc).toMatchObject({ ok: true, bucket: 'imgpipe-dest', images: FILES, done: FILES, missing: [], failed: [], timedOut: false });
    expect(doc.records.map((rec) => rec.source.key).sort()).toEqual([...firstRun.keys].sort());
  }, 60_000);

  it('the same upload from a third directory sends nothing: every file "already there" through the remote path', async () => {
    expect(firstRun, 'the upload test must have run').toBeDefined();
    const before = await dev.list(dev.state.sourceBucket);
    const cwd = await newCwd('third');
    const r = await runCli(remoteArgs(), { cwd, env: awsEnv({ IMGPIPE_API_KEY: 'k-remote' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, files: FILES, uploaded: 0, exists: FILES, failed: 0, bytes: 0 });
    expect(doc.uploads.map((u) => u.status)).toEqual(Array(FILES).fill('exists'));
    expect([...doc.keys].sort()).toEqual([...firstRun.keys].sort()); // the keys of the bytes already there
    expect(doc.wait).toMatchObject({ ok: true, images: FILES, done: FILES });
    expect(await dev.list(dev.state.sourceBucket)).toEqual(before);
  }, 120_000);
});

/** What S3 answered, in order: the fault proxy counts only 2xx, this tells a 403 "expired" apart. */
interface Answer {
  method: string;
  path: string;
  status: number;
  code?: string;
  message?: string;
  /** ms between the request's arrival and its X-Amz-Date (how old its URL was). */
  urlAgeMs?: number;
}

/** A plain pass-through (Host kept: it is signed) that records every answer's status and S3 error code. */
async function startRecorder(target: () => string): Promise<{ url: string; answers: Answer[]; close(): Promise<void> }> {
  const answers: Answer[] = [];
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const arrived = Date.now();
    const t = new URL(target());
    const [pathname, query = ''] = (req.url ?? '/').split('?');
    const amzDate = new URLSearchParams(query).get('X-Amz-Date');
    const signedAt = amzDate ? Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) : NaN;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers, agent }, (ures) => {
      const chunks: Buffer[] = [];
      ures.on('data', (c: Buffer) => chunks.push(c));
      ures.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        answers.push({
          method: req.method ?? '',
          path: pathname,
          status: ures.statusCode ?? 0,
          code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1],
          message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1],
          urlAgeMs: Number.isFinite(signedAt) ? arrived - signedAt : undefined,
        });
        if (!res.headersSent) res.writeHead(ures.statusCode ?? 502, ures.headers);
        res.end(body);
      });
      ures.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

describe('a URL that expires mid-batch is re-signed', () => {
  const FILES = 30;
  let stack: TestStack | undefined;
  let s3Proxy: FaultProxy | undefined;
  let apiProxy: FaultProxy | undefined;
  let recorder: Awaited<ReturnType<typeof startRecorder>> | undefined;

  afterEach(async () => {
    await s3Proxy?.close();
    await apiProxy?.close();
    await recorder?.close();
    await stack?.stop();
  });

  it('2 s URLs, PUTs trickled to ~0.5 s each, -c 2: S3 refuses the expired ones with 403, each is re-signed, every object stored exactly once', async () => {
    // client → fault proxy (trickles every PUT body, 4 KB every 50 ms: a 20-50 KB noise JPEG takes
    // ~0.3-0.6 s) → recorder (notes S3's status and error code) → local S3. The second batch's
    // 28 URLs are signed at once and live 2 s (1 s left a re-signed URL too little on a loaded
    // 2-core machine), so most still expire long before their PUT starts.
    recorder = await startRecorder(() => stack!.s3Endpoint);
    s3Proxy = await startFaultProxy({ target: recorder.url, flavor: 's3', match: (r) => r.method === 'PUT', rates: { trickle: 1 }, trickle: { bytes: 4096, everyMs: 50 } });
    apiProxy = await startFaultProxy({ target: () => stack!.apiUrl, flavor: 'api' }); // counts only
    stack = await startTestStack({ trigger: false, urlExpiresIn: 2, urlEndpoint: s3Proxy.url });
    const cwd = await tempDir('imgpipe-expiry-');
    await adoptVia(stack, cwd, apiProxy.url);
    const photos = path.join(cwd, 'photos');
    await writeNoiseJpegs(photos, FILES);

    const r = await runCli(['upload', photos, '--local', '--json', '-c', '2'], { cwd, env: { ...CLEAN_ENV } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadDoc;
    expect(doc).toMatchObject({ ok: true, files: FILES, uploaded: FILES, exists: 0, failed: 0 });
    expect(doc.retries).toBeGreaterThan(0);

    // Exactly once each: one object per file in the bucket, S3 said 2xx to one PUT per key.
    const listed = await stack.list(stack.sourceBucket);
    expect(listed).toHaveLength(FILES);
    expect(listed).toEqual(doc.uploads.map((u) => u.key!).sort());
    const okPerKey = [...s3Proxy.upstreamOk].filter(([k]) => k.startsWith(`PUT /${stack!.sourceBucket}/`));
    expect(okPerKey).toHaveLength(FILES);
    expect(okPerKey.every(([, n]) => n === 1)).toBe(true);
    for (const u of doc.uploads) expect(sha256(await stack.get(stack.sourceBucket, u.key!)), u.path).toBe(sha256(await readFile(u.path)));

    // The fault proxy injected no failure; every PUT S3 refused was a 403 "Request has expired"
    // for a URL older than its 1 s (X-Amz-Date is whole seconds), and each got one fresh presign
    // (POST /uploads beyond the 4 batches: 2 files first, then twice the last: 4, 8 and 16).
    const puts = recorder.answers.filter((a) => a.method === 'PUT');
    const refused = puts.filter((a) => a.status !== 200);
    expect(s3Proxy.failures()).toBe(0);
    expect(s3Proxy.total(s3Proxy.requests, 'PUT')).toBe(puts.length);
    expect(puts.length).toBeGreaterThan(FILES);
    expect(puts.filter((a) => a.status === 200)).toHaveLength(FILES);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) {
      expect({ status: a.status, code: a.code, message: a.message }).toEqual({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
      expect(a.urlAgeMs).toBeGreaterThan(1000);
    }
    const presigns = apiProxy.total(apiProxy.requests, 'POST');
    expect(presigns - 4).toBe(refused.length); // one fresh URL per expired one
    expect(doc.retries).toBe(refused.length);
    expect(doc.uploads.reduce((n, u) => n + (u.retries ?? 0), 0)).toBe(refused.length);
    const perFile = doc.uploads.map((u) => u.retries ?? 0);
    console.log(
      `expiry report: ${JSON.stringify({ files: FILES, puts: puts.length, stored: FILES, expired403: refused.length, presignCalls: presigns, retries: doc.retries, retriesPerFile: perFile.join(''), firstPutAges: puts.slice(0, 4).map((a) => a.urlAgeMs), seconds: doc.seconds })}`,
    );
  }, 120_000);
});

describe("another pipeline's manifest entries never cause a skip", () => {
  let a: TestStack | undefined;
  let b: TestStack | undefined;
  afterEach(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('upload to stack A, then the same folder from the same directory to stack B: every file uploaded to B', async () => {
    const FILES = 5;
    a = await startTestStack({ trigger: false });
    b = await startTestStack({ trigger: false });
    const cwd = await tempDir('imgpipe-two-stacks-');
    const photos = path.join(cwd, 'photos');
    const files = (await writeNoiseJpegs(photos, FILES)).sort();

    await a.adopt(cwd);
    const toA = await runCli(['upload', photos, '--local', '--json'], { cwd, env: { ...CLEAN_ENV } });
    expect(toA.stderr).toBe('');
    expect(toA.code).toBe(0);
    const docA = JSON.parse(toA.stdout) as UploadDoc;
    expect(docA).toMatchObject({ ok: true, files: FILES, uploaded: FILES, exists: 0, failed: 0 });
    expect(await a.list(a.sourceBucket)).toHaveLength(FILES);

    await b.adopt(cwd);
    const toB = await runCli(['upload', photos, '--local', '--json'], { cwd, env: { ...CLEAN_ENV } });
    expect(toB.stderr).toBe('');
    expect(toB.code).toBe(0);
    const docB = JSON.parse(toB.stdout) as UploadDoc;
    expect(docB).toMatchObject({ ok: true, files: FILES, uploaded: FILES, exists: 0, failed: 0 });
    expect(docB.uploads.map((u) => u.status)).toEqual(Array(FILES).fill('uploaded'));

    // B's bucket holds every file, byte for byte (A's still holds its own).
    const listedB = await b.list(b.sourceBucket);
    expect(listedB).toEqual([...docB.keys].sort());
    expect(listedB).toHaveLength(FILES);
    const byPath = new Map(docB.uploads.map((u) => [u.path, u.key!]));
    for (const f of files) expect(sha256(await b.get(b.sourceBucket, byPath.get(f)!)), f).toBe(sha256(await readFile(f)));
    expect(await a.list(a.sourceBucket)).toHaveLength(FILES);
  }, 120_000);
});

/** A port free right now (for a pipeline that must come back at the same address). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("another pipeline's manifest entries, remote target: same address, different pipeline", () => {
  let a: TestStack | undefined;
  let b: TestStack | undefined;
  afterEach(async () => {
    await a?.stop().catch(() => {});
    await b?.stop();
  });

  // The remote identity is "<api> → s3://<bucket> at <endpoint>": a local stack restarted on the
  // same ports with another data folder has the same one. Skipping by the last manifest alone
  // (without asking the API) reported every file "skipped" while B's bucket stayed empty; only
  // the API, which looks in the bucket, may say a file is there.
  it('a pipeline restarted on the same ports with another data folder still gets every file', async () => {
    const FILES = 3;
    const [s3Port, apiPort] = [await freePort(), await freePort()];
    const cwd = await tempDir('imgpipe-same-address-');
    const photos = path.join(cwd, 'photos');
    await writeNoiseJpegs(photos, FILES);
    const upload = (stack: TestStack) =>
      runCli(['upload', photos, '--api', stack.apiUrl, '--dest-bucket', stack.destBucket, '--endpoint', stack.s3Endpoint, '--region', stack.region, '--json'], {
        cwd,
        env: { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey },
      });

    a = await startTestStack({ trigger: false, s3Port, apiPort });
    const toA = await upload(a);
    expect(toA.code, toA.stderr).toBe(0);
    expect(JSON.parse(toA.stdout)).toMatchObject({ uploaded: FILES, exists: 0 });
    await a.stop();
    a = undefined;

    // Another pipeline (its own data folder, empty buckets) at the very same API URL and endpoint.
    b = await startTestStack({ trigger: false, s3Port, apiPort });
    expect(await b.list(b.sourceBucket)).toEqual([]);
    const toB = await upload(b);
    expect(toB.code, toB.stderr).toBe(0);
    const doc = JSON.parse(toB.stdout) as UploadDoc;
    expect(await b.list(b.sourceBucket), `B's bucket; upload said ${JSON.stringify({ uploaded: doc.uploaded, exists: doc.skipped })}`).toHaveLength(FILES);
    expect(doc).toMatchObject({ ok: true, uploaded: FILES, exists: 0 });
  }, 60_000);
});
