#!/usr/bin/env node
// bench/reprocess.mjs — `imgpipe reprocess --all` of REPROCESS_N (2,000) photos on the local stack
// (issue 20): the time to queue them all (the CLI's wall time, spawn → exit), the time until every
// resize has finished, and the requests per photo; then the same with nothing to do.
//
// The local stack runs in this process (startLocalStack from dist/, as bench/upload-wan.mjs), so
// every HTTP request its S3 server and its API receive is counted here, by port, method and kind,
// with the most in flight at once on each. The photos are small noise JPEGs (REPROCESS_PX, 64 px
// wide), uploaded with `imgpipe upload --local --wait` under the default spec; the stack is then
// started again on the same data folder with every variant's quality changed, so every photo's
// record is of another spec. Requeueing is the S3 server's own renotify (its durable journal, as
// SQS on AWS): no HTTP request, so not in the counts.
// usage: BENCH=reprocess npm run bench   or   node bench/reprocess.mjs
// env:   REPROCESS_N (2000)   REPROCESS_PX (64)   REPROCESS_CONCURRENCY (the local queue's
//        resizes at once; default the template's ResizeConcurrency)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { asDev } from './as-dev.mjs';

asDev(import.meta.url); // the in-process stack under dev's node options

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.env.REPROCESS_N ?? 2000);
const PX = Number(process.env.REPROCESS_PX ?? 64);
const CONCURRENCY = process.env.REPROCESS_CONCURRENCY ? Number(process.env.REPROCESS_CONCURRENCY) : undefined;
const { startLocalStack } = await import(path.join(ROOT, 'dist/src/local/stack.js'));
const { writeDevState } = await import(path.join(ROOT, 'dist/src/local/state.js'));
const { DEFAULT_SPEC, parseSpec, specHash } = await import(path.join(ROOT, 'dist/src/core/spec.js'));
const { createS3Client } = await import(path.join(ROOT, 'dist/src/s3/client.js'));
const { ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-bench-reprocess-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
const dataDir = path.join(WORK, 'data');
const cwd = path.join(WORK, 'cwd');
const photos = path.join(WORK, 'photos');
fs.mkdirSync(cwd);
fs.mkdirSync(photos);

// ---- counting: every request an HTTP server of this process receives ---------------------------
const counts = new Map(); // port → Map(kind → n)
const inFlight = new Map(); // port → { now, max }
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res) {
  if (event === 'request') {
    const port = req.socket.localPort;
    const kinds = counts.get(port) ?? new Map();
    counts.set(port, kinds);
    const k = kindOf(req);
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
    const f = inFlight.get(port) ?? { now: 0, max: 0 };
    inFlight.set(port, f);
    f.now++;
    f.max = Math.max(f.max, f.now);
    res.once('close', () => f.now--);
  }
  return emit.apply(this, arguments);
};
function kindOf(req) {
  const url = new URL(req.url, 'http://x');
  const [bucket, ...key] = url.pathname.slice(1).split('/');
  if (!bucket.startsWith('imgpipe-')) return `${req.method} ${url.pathname}`; // the API
  if (url.searchParams.has('list-type')) return `ListObjectsV2 ${bucket}`;
  const where = key[0] === '_imgpipe' ? `${bucket}/_imgpipe/${key[1]}/` : key.length ? `${bucket} object` : bucket;
  return `${req.method} ${where}`;
}
const snapshot = () => new Map([...counts].map(([p, m]) => [p, new Map(m)]));
function since(before, port) {
  const now = counts.get(port) ?? new Map();
  const was = before.get(port) ?? new Map();
  return new Map([...now].map(([k, n]) => [k, n - (was.get(k) ?? 0)]).filter(([, n]) => n > 0));
}
const resetMax = () => {
  for (const f of inFlight.values()) f.max = f.now;
};

// ---- photos: small noise JPEGs, each its own bytes (dedupe would answer "exists" otherwise) -------
const t0 = performance.now();
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, N - i) }, (_, j) =>
      sharp({ create: { width: PX, height: Math.round(PX * 0.75), channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
        .jpeg({ quality: 80 })
        .toFile(path.join(photos, `noise-${String(i + j).padStart(5, '0')}.jpg`)),
    ),
  );
}
console.log(`${N} noise JPEGs of ${PX}×${Math.round(PX * 0.75)} made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const env = { ...process.env, NODE_NO_WARNINGS: '1', CI: 'true' };
for (const k of Object.keys(env)) if (/^AWS_/.test(k)) delete env[k];
function cli(args) {
  return new Promise((resolve) => {
    const h0 = performance.now();
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/imgpipe.js'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - h0) / 1000 }));
  });
}
async function start(spec) {
  const stack = await startLocalStack({ dataDir, spec, resizeConcurrency: CONCURRENCY });
  await writeDevState(
    { pid: process.pid, apiUrl: stack.apiUrl, s3Endpoint: stack.s3Endpoint, region: stack.region, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, dataDir, credentials: stack.credentials, root: cwd, startedAt: Date.now() },
    path.join(cwd, '.imgpipe/dev.json'),
  );
  return { stack, s3Port: Number(new URL(stack.s3Endpoint).port), apiPort: Number(new URL(stack.apiUrl).port) };
}

// ---- 1. upload under the default spec, wait for every resize -----------------------------------------
let { stack } = await start(DEFAULT_SPEC);
const up = await cli(['upload', photos, '--local', '--wait', '--json']);
if (up.code !== 0) throw new Error(`upload exited ${up.code}: ${up.stderr}`);
await stack.idle();
console.log(`uploaded and resized ${N} photos in ${up.seconds.toFixed(1)} s (setup, not measured)`);
await stack.close();

// ---- 2. the same data folder under another spec: every photo's record is of another spec ----------
const NEW_SPEC = parseSpec({ variants: DEFAULT_SPEC.variants.map((v) => ({ ...v, quality: 70 })) });
const started = await start(NEW_SPEC);
stack = started.stack;
const { s3Port, apiPort } = started;
const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });

async function measure(label) {
  const before = snapshot();
  resetMax();
  const h0 = performance.now();
  const r = await cli(['reprocess', '--local', '--all', '--json']);
  if (r.code !== 0) throw new Error(`reprocess exited ${r.code}: ${r.stderr}`);
  const doc = JSON.parse(r.stdout);
  const queueMax = { api: inFlight.get(apiPort)?.max ?? 0, s3: inFlight.get(s3Port)?.max ?? 0 };
  const queueing = { api: since(before, apiPort), s3: since(before, s3Port) };
  await stack.idle();
  const finished = (performance.now() - h0) / 1000;
  const all = { api: since(before, apiPort), s3: since(before, s3Port) };
  return { label, doc, queueSeconds: r.seconds, finishSeconds: finished, queueing, all, queueMax };
}

// The reprocess's own requests (the CLI's listing, the API's lookup of each key) and the resize's.
const isLookup = (kind) => kind.startsWith('ListObjectsV2 ') || kind.startsWith('GET imgpipe-dest/_imgpipe/');
const part = (m, keep) => new Map([...m].filter(([k]) => keep(k)));
const total = (m) => [...m.values()].reduce((a, b) => a + b, 0);
function report(x) {
  console.log(`\n## ${x.label}: reprocess --local --all of ${N} photos`);
  console.log(`queued ${x.doc.queued.length}, already this spec's ${x.doc.current}, missing ${x.doc.missing.length}, refused ${x.doc.refused.length}`);
  console.log(`time to queue (CLI spawn → exit): ${x.queueSeconds.toFixed(2)} s; until every resize finished: ${x.finishSeconds.toFixed(2)} s`);
  console.log(`while the CLI ran: ${total(x.queueing.api)} API requests (at most ${x.queueMax.api} at once), ${total(x.queueing.s3)} S3 requests (at most ${x.queueMax.s3} at once), resizes that had started by then included`);
  const lookups = part(x.all.s3, isLookup);
  const resizes = part(x.all.s3, (k) => !isLookup(k));
  console.log(`the reprocess's own: ${total(x.all.api)} API requests and ${total(lookups)} S3 requests = ${((total(x.all.api) + total(lookups)) / N).toFixed(2)} per photo`);
  for (const [k, n] of [...x.all.api, ...lookups]) console.log(`  ${k}: ${n}`);
  console.log(`the resizes it queued: ${total(resizes)} S3 requests = ${(total(resizes) / N).toFixed(2)} per photo`);
  for (const [k, n] of resizes) console.log(`  ${k}: ${n}`);
  console.log(`requests per photo in all: ${((total(x.all.api) + total(x.all.s3)) / N).toFixed(2)}`);
}

try {
  const work = await measure('every photo of another spec');
  report(work);
  // Every record is now the new spec's.
  const records = [];
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: stack.destBucket, Prefix: '_imgpipe/done/', ContinuationToken: token }));
    records.push(...(page.Contents ?? []).map((o) => o.Key));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const sample = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: stack.destBucket, Key: records[0] }))).Body.transformToString());
  console.log(`records: ${records.length}; a sample's spec hash is the new spec's: ${sample.specHash === specHash(NEW_SPEC)}`);
  const idle = await measure('nothing to do');
  report(idle);
} finally {
  s3.destroy();
  await stack.close();
}
