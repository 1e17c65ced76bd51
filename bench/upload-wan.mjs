#!/usr/bin/env node
// bench/upload-wan.mjs — big-file (multipart) uploads over WAN-like conditions: imgpipe vs aws-cli
// vs @aws-sdk/lib-storage's Upload, against the project's local stack (trigger off: upload only),
// with bench/wan-proxy.mjs (added latency, optional shared uplink cap) in front of the local S3.
//
// Per run: a fresh local stack in-process (startLocalStack from dist/, trigger off, so dedupe can
// never answer "exists" from an earlier run), a WAN proxy (in a worker thread) to its S3 port, and
// the stack's pre-signed URLs signed for the proxy (startLocalStack's `urlEndpoint`, which also adds
// the proxy's host to the S3 server's allowed Host headers: the proxy is plain TCP, so the Host
// header a client signs — the proxy's — reaches S3 unchanged and SigV4 holds). The presign API is
// reached directly. Each tool runs as its own process, wall time spawn → exit:
//   imgpipe   bin/imgpipe.js upload DIR --local --json          (default concurrency; dev.json in a fresh cwd)
//   aws-cli   aws s3 cp --recursive DIR s3://imgpipe-source/awscli/ --endpoint-url PROXY  (defaults:
//             multipart threshold/chunk 8 MiB, 10 requests at once)
//   sdk       bench/upload-wan-sdk.mjs: lib-storage Upload, partSize 8 MiB, queueSize 4, WAN_SDK_FILES
//             (10, = aws-cli's 10 requests) files at once
// then ListObjectsV2 (direct, not through the proxy): object count and total bytes must match.
//
// Workloads: "big" = one WAN_BIG_MIB (1024) MiB file: over 256 MiB (MAX_INPUT_BYTES, what the
// resize reads) the stack is started with maxFileBytes raised to it (the trigger is off), and the
// file is a 256 MiB TIFF followed by zeros (the CLI reads its header against the pixel limit);
// "many" = WAN_MANY (200) files of ~WAN_MANY_MB (5) MB. Files are real uncompressed TIFFs of random
// pixels (sharp), zero-padded to the exact size, cached in $TMPDIR/imgpipe-wan-files/.
// Threshold table: one 16/32/64 MiB file, imgpipe (multipart, 8 MiB parts) vs lib-storage with
// partSize = the file's size (a single PutObject), uncapped.
//
// env: WAN_RTT (40 ms)  WAN_CAPS ("0 200": uplink Mbit/s per condition, 0 = uncapped)  WAN_REPS (3)
//      WAN_TOOLS ("imgpipe aws-cli sdk")  WAN_WORKLOADS ("big many")  WAN_BIG_MIB (1024)
//      WAN_MANY (200)  WAN_MANY_MB (5)  WAN_SDK_FILES (10)  WAN_WINDOW_MIB (4: proxy buffer per
//      connection and direction)  WAN_THRESHOLD (1; 0 = skip)  WAN_THRESHOLD_MIB ("16 32 64")
//      WAN_AWS (/usr/bin/aws)  WAN_TRACE (1: print each run's uplink bytes per 0.25 s)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startWanProxyWorker } from './wan-proxy.mjs';
import { asDev } from './as-dev.mjs';

asDev(import.meta.url); // the in-process stack under dev's node options

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;
const env = process.env;
const num = (v, d) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
const list = (v, d) => (v ?? d).split(/\s+/).filter(Boolean);
const RTT = num(env.WAN_RTT, 40);
const CAPS = list(env.WAN_CAPS, '0 200').map(Number);
const REPS = Math.max(1, num(env.WAN_REPS, 3));
const TOOLS = list(env.WAN_TOOLS, 'imgpipe aws-cli sdk');
const WORKLOADS = list(env.WAN_WORKLOADS, 'big many');
const BIG_MIB = num(env.WAN_BIG_MIB, 1024);
const MANY = Math.max(1, num(env.WAN_MANY, 200));
const MANY_MB = num(env.WAN_MANY_MB, 5);
const SDK_FILES = Math.max(1, num(env.WAN_SDK_FILES, 10));
const WINDOW = num(env.WAN_WINDOW_MIB, 4) * MIB;
const THRESHOLD = env.WAN_THRESHOLD !== '0';
const THRESHOLD_MIB = list(env.WAN_THRESHOLD_MIB, '16 32 64').map(Number);
const AWS = env.WAN_AWS ?? '/usr/bin/aws';
const TRACE = env.WAN_TRACE === '1';
// WAN_TRACE=1: per run, the uplink's bytes per quarter second (MB), to see where a run leaves the link idle.
// The span in which the run was sending: from the sample that first saw bytes to the one that saw the last.
function sendingSpan(trace) {
  const total = trace.at(-1)?.[1] ?? 0;
  const i0 = trace.findIndex(([, b]) => b > 0);
  const i1 = trace.findIndex(([, b]) => b >= total);
  if (i0 < 0 || i1 < i0) return NaN;
  return trace[i1][0] - (i0 > 0 ? trace[i0 - 1][0] : 0); // bytes in the first sample: sending since the start
}
function printTrace(tool, trace, capMbit) {
  let prev = 0;
  const cells = trace.map(([, b]) => { const d = b - prev; prev = b; return (d / 1e6).toFixed(1); });
  const first = trace.find(([, b]) => b > 1e6)?.[0];
  console.log(`# trace ${tool}: first MB at ${fx(first)} s; MB per 0.25 s${capMbit ? ` (cap ${fx((capMbit * 1e6) / 8 / 4 / 1e6, 2)})` : ''}: ${cells.join(' ')}`);
}
for (const t of TOOLS) if (!['imgpipe', 'aws-cli', 'sdk'].includes(t)) { console.error(`upload-wan: unknown tool ${t}`); process.exit(2); }
for (const w of WORKLOADS) if (!['big', 'many'].includes(w)) { console.error(`upload-wan: unknown workload ${w}`); process.exit(2); }

if (!fs.existsSync(path.join(ROOT, 'dist/src/local/stack.js'))) { console.error('upload-wan: dist/ missing: npm run build'); process.exit(2); }
const { startLocalStack } = await import(path.join(ROOT, 'dist/src/local/stack.js'));
const { writeDevState } = await import(path.join(ROOT, 'dist/src/local/state.js'));
const { DEFAULT_SPEC } = await import(path.join(ROOT, 'dist/src/core/spec.js'));
const { createS3Client } = await import(path.join(ROOT, 'dist/src/s3/client.js'));
const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-wanbench-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fx = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

// ---- files: real TIFFs (random pixels, no compression), zero-padded to exactly `bytes` ----------
const CACHE = path.join(os.tmpdir(), 'imgpipe-wan-files');
async function tiff(file, bytes, width) {
  const height = Math.floor((Math.min(bytes, 256 * MIB) - 4096) / (width * 3)); // pixels within the limits the CLI checks
  const buf = await sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).tiff({ compression: 'none' }).toBuffer();
  if (buf.length > bytes) throw new Error(`tiff ${width}x${height} is ${buf.length} > ${bytes}`);
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, buf);
  const zeros = Buffer.alloc(8 * MIB); // written, not a hole: read as a file's bytes are
  for (let left = bytes - buf.length; left > 0; left -= zeros.length) fs.writeSync(fd, zeros, 0, Math.min(left, zeros.length));
  fs.closeSync(fd);
}
async function fileSet(key, count, bytes, width) {
  const dir = path.join(CACHE, key);
  const names = Array.from({ length: count }, (_, i) => `img${String(i).padStart(4, '0')}.tif`);
  const ok = names.every((n) => fs.existsSync(path.join(dir, n)) && fs.statSync(path.join(dir, n)).size === bytes);
  if (!ok) {
    console.log(`# making ${count} × ${bytes} B TIFF in ${dir}`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const n of names) await tiff(path.join(dir, n), bytes, width);
  }
  for (const n of names) fs.readFileSync(path.join(dir, n)); // page cache warm
  return { dir, count, bytes: count * bytes };
}

// ---- environment for a tool: the stack's credentials, no user AWS config (as bench/upload.mjs) ----
function toolEnv(stack, endpoint) {
  const e = { ...env };
  for (const k of Object.keys(e)) if (/^AWS_/.test(k) && k !== 'AWS_CA_BUNDLE') delete e[k];
  const emptyConfig = path.join(WORK, 'aws-config');
  if (!fs.existsSync(emptyConfig)) fs.writeFileSync(emptyConfig, '');
  return Object.assign(e, {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_REGION: stack.region, AWS_DEFAULT_REGION: stack.region, AWS_CONFIG_FILE: emptyConfig, AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_PAGER: '', ENDPOINT: endpoint, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', NODE_NO_WARNINGS: '1',
  });
}
function toolCmd(tool, dir, stack, proxyUrl, opts) {
  if (tool === 'imgpipe') return [process.execPath, path.join(ROOT, 'bin/imgpipe.js'), 'upload', dir, '--local', '--json'];
  if (tool === 'aws-cli') return [AWS, 's3', 'cp', '--recursive', '--no-progress', '--only-show-errors', dir, `s3://${stack.sourceBucket}/awscli/`, '--endpoint-url', proxyUrl];
  return [process.execPath, path.join(ROOT, 'bench/upload-wan-sdk.mjs'), dir, stack.sourceBucket, 'sdk/', String(opts.sdkFiles ?? SDK_FILES), String(opts.partMiB ?? 8), '4'];
}
async function listAll(s3, bucket) {
  const out = [];
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push(o.Size);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { count: out.length, bytes: out.reduce((a, b) => a + b, 0) };
}

// ---- one run -----------------------------------------------------------------------------------
async function runOnce(tool, set, capMbit, opts = {}) {
  const dataDir = fs.mkdtempSync(path.join(WORK, 'data-'));
  const cwd = fs.mkdtempSync(path.join(WORK, 'cwd-'));
  // The proxy (a worker) needs its target before the stack exists, and the stack signs for the
  // proxy: pick a free port for the S3 server first.
  const freePort = await (await import('node:net')).default.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => freePort.once('listening', r));
  const port = freePort.address().port;
  await new Promise((r) => freePort.close(r));
  const proxy = await startWanProxyWorker({ target: { host: '127.0.0.1', port }, rttMs: RTT, upMbit: capMbit, windowBytes: WINDOW });
  const proxyUrl = `http://127.0.0.1:${proxy.port}`;
  const stack = await startLocalStack({ dataDir, spec: DEFAULT_SPEC, trigger: false, s3Port: port, urlEndpoint: proxyUrl, maxFileBytes: Math.max(256 * MIB, BIG_MIB * MIB) });
  const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
  const r = { tool, ok: false, wall: NaN, bytesUp: NaN, problems: [] };
  try {
    await writeDevState({
      pid: process.pid, apiUrl: stack.apiUrl, s3Endpoint: proxyUrl, region: stack.region,
      sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, dataDir, credentials: stack.credentials,
    }, path.join(cwd, '.imgpipe/dev.json'));
    const argv = toolCmd(tool, set.dir, stack, proxyUrl, opts);
    const up0 = await proxy.bytesUp();
    let stderr = '';
    let stdout = '';
    const h0 = process.hrtime.bigint();
    const trace = [];
    const sampler = TRACE || capMbit ? setInterval(async () => trace.push([Number(process.hrtime.bigint() - h0) / 1e9, await proxy.bytesUp() - up0]), 250) : null;
    const code = await new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { cwd, env: toolEnv(stack, proxyUrl), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (c) => { stdout = (stdout + c).slice(-8000); });
      child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-8000); });
      child.on('error', (err) => { stderr += String(err); resolve(-1); });
      child.on('close', resolve);
    });
    r.wall = Number(process.hrtime.bigint() - h0) / 1e9;
    if (sampler) {
      clearInterval(sampler);
      if (TRACE) printTrace(tool, trace, capMbit);
      r.sending = sendingSpan(trace);
    }
    r.bytesUp = (await proxy.bytesUp()) - up0;
    if (code !== 0) r.problems.push(`exit ${code}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' / ')}`);
    const got = await listAll(s3, stack.sourceBucket);
    if (got.count !== set.count || got.bytes !== set.bytes) r.problems.push(`landed ${got.count} objects / ${got.bytes} B, expected ${set.count} / ${set.bytes}`);
    r.ok = r.problems.length === 0;
  } finally {
    await stack.close?.();
    await proxy.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  return r;
}

function table(cols, rows) {
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((v, i) => String(v).padEnd(w[i])).join(' | ')} |`;
  console.log(line(cols));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

// ---- main --------------------------------------------------------------------------------------
const tools = TOOLS.filter((t) => {
  if (t === 'aws-cli' && spawnSync(AWS, ['--version']).status !== 0) { console.log(`# skipped aws-cli: ${AWS} not usable`); return false; }
  return true;
});
const sets = {};
if (WORKLOADS.includes('big')) sets.big = { ...(await fileSet(`big-${BIG_MIB}MiB`, 1, BIG_MIB * MIB, 8192)), label: `1 × ${BIG_MIB} MiB` };
if (WORKLOADS.includes('many')) sets.many = { ...(await fileSet(`many-${MANY}x${MANY_MB}MB`, MANY, Math.round(MANY_MB * 1e6), 1000)), label: `${MANY} × ${MANY_MB} MB` };

const read = (f) => { try { return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', f, 'package.json'), 'utf8')).version; } catch { return '?'; } };
console.log(`# upload-wan: RTT ${RTT} ms, caps ${CAPS.map((c) => (c ? `${c} Mbit/s` : 'uncapped')).join(', ')}, ${REPS} reps (medians), proxy window ${WINDOW / MIB} MiB/conn; ` +
  `${os.cpus().length} CPUs, node ${process.version}, ${spawnSync(AWS, ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? 'no aws-cli'}, lib-storage ${read('@aws-sdk/lib-storage')}`);
const rows = [];
const t0 = Date.now();
for (const cap of CAPS) {
  const cond = `${RTT} ms${cap ? `, ${cap} Mbit/s up` : ''}`;
  for (const [wname, set] of Object.entries(sets)) {
    const res = Object.fromEntries(tools.map((t) => [t, []]));
    for (let rep = 1; rep <= REPS; rep++) {
      for (const t of tools) {
        const r = await runOnce(t, set, cap);
        console.log(`# ${cond} ${set.label} ${t} rep ${rep}: ${fx(r.wall)} s${r.ok ? '' : ` FAILED: ${r.problems.join('; ')}`}`);
        if (r.ok) res[t].push(r);
      }
    }
    const awsS = res['aws-cli']?.length ? median(res['aws-cli'].map((r) => r.wall)) : NaN;
    for (const t of tools) {
      if (!res[t].length) { rows.push([t, cond, set.label, 'failed', '', '', '', '']); continue; }
      const s = median(res[t].map((r) => r.wall));
      const up = median(res[t].map((r) => r.bytesUp));
      const sending = median(res[t].map((r) => r.sending));
      rows.push([t, cond, set.label, fx(s), fx(set.bytes / 1e6 / s, 1), fx(awsS / s), cap ? `${fx((100 * up * 8) / (cap * 1e6 * s), 0)} %` : '-', cap && Number.isFinite(sending) ? `${fx((100 * up * 8) / (cap * 1e6 * sending), 0)} %` : cap ? 'n/a' : '-']);
    }
  }
}
console.log();
console.log(`## WAN uploads (trigger off), medians of ${REPS}; MB = 10^6 B; ratio = aws-cli's seconds / the tool's (>1 = faster than aws-cli); link used = bytes up ÷ (cap × wall); while sending = ÷ (cap × the time from the first quarter second with bytes to the last, ±0.25 s)`);
table(['tool', 'condition', 'workload', 'median s', 'MB/s', 'vs aws-cli', 'link used', 'while sending'], rows);
console.log(`# ${((Date.now() - t0) / 1000).toFixed(0)} s`);

if (THRESHOLD) {
  const trows = [];
  for (const mib of THRESHOLD_MIB) {
    const set = { ...(await fileSet(`one-${mib}MiB`, 1, mib * MIB, 4096)), label: `1 × ${mib} MiB` };
    const a = [], b = [], c = [];
    for (let rep = 1; rep <= REPS; rep++) {
      const ri = await runOnce('imgpipe', set, 0);
      const rm = await runOnce('sdk', set, 0, { sdkFiles: 1, partMiB: 8 });
      const rs = await runOnce('sdk', set, 0, { sdkFiles: 1, partMiB: mib });
      for (const [r, xs] of [[ri, a], [rm, c], [rs, b]]) if (r.ok) xs.push(r.wall); else console.log(`# threshold ${mib} MiB ${r.tool}: FAILED ${r.problems.join('; ')}`);
    }
    const si = median(a), ss = median(b), sm = median(c);
    trows.push([`${mib} MiB`, `${Math.ceil(mib / 8)}`, fx(si), fx(sm), fx(ss), fx(ss / sm), fx(ss / si)]);
  }
  console.log();
  console.log(`## threshold: one file at ${RTT} ms uncapped: imgpipe (8 MiB parts) and lib-storage with 8 MiB parts (queueSize 4) vs lib-storage partSize = file (one PutObject), medians of ${REPS}`);
  console.log('# ratio > 1: the parts were faster than one PUT');
  table(['file', 'parts', 'imgpipe s', 'sdk 8 MiB parts s', 'sdk one PUT s', 'one PUT / sdk parts', 'one PUT / imgpipe'], trows);
}
