#!/usr/bin/env node
// bench/upload.mjs — upload benchmark: imgpipe vs aws-cli and a bare AWS SDK PutObject loop,
// all against the project's own local stack (packages/local-s3, which verifies SigV4 and
// checksums and fsyncs every object, the presign API, and with the trigger on the resize handler).
//
// For each run this process starts a fresh local stack in-process (startLocalStack from dist/),
// writes .imgpipe/dev.json into a fresh working folder (so `imgpipe upload --local` finds the
// running stack, as with `imgpipe dev`), and runs the tool as its own process under
// /usr/bin/time -v (wall time from here; peak RSS and CPU from GNU time):
//   imgpipe    bin/imgpipe.js upload DIR --local --json [--wait]     (cwd = the working folder)
//   aws-cli    /usr/bin/aws s3 cp --recursive DIR s3://imgpipe-source/awscli/ --endpoint-url …
//   sdk-cN     bench/upload-sdk-put.mjs (port of ../shared/bench/sdk-put.mjs), concurrency N
//   sdk-sha256-cN  the same, each PUT with its SHA-256 (SDK-computed, server-verified), as imgpipe's are
// then checks what landed (ListObjectsV2: count and bytes; with the trigger on, every variant).
//
// Two modes: "off" = trigger off, the upload alone (REPS runs per tool, medians); "on" = trigger
// on, the whole pipeline: for every file, the time from its PUT completing (per-file times from
// imgpipe's manifest `uploadedAt`, aws-cli's "upload:" lines as they arrive, the SDK loop's own
// record) and from the run's start, until all its variants are stored (the resize handler's
// "resized" log line, written after its last variant PUT); p50/p95 of both.
//
// usage: node bench/upload.mjs [DIR]        (default: 500 photos of ~1 MiB made once by
//                                            bench/upload-photos.mjs from ../shared/corpus)
// env:   UPLOAD_FILES (500)  UPLOAD_REPS (3, trigger off)  UPLOAD_PIPE_REPS (1, trigger on)
//        UPLOAD_MODES ("off on")  UPLOAD_TOOLS ("imgpipe aws-cli sdk-c16 sdk-sha256-c16 sdk-c64"; also imgpipe-cN)
//        UPLOAD_PIPE_TOOLS ("imgpipe aws-cli sdk-c16")  UPLOAD_IMGPIPE_ARGS (extra upload flags)
//        UPLOAD_MEM_SCALE (4: one more imgpipe run on 4×FILES files for peak memory; 0 = none)
//        UPLOAD_AWS (/usr/bin/aws)  UPLOAD_KEEP_LOGS (dir: keep each run's stdout/stderr/time)
//        UPLOAD_IDLE_WAIT (90: seconds a run may wait for the rest of the machine to be quiet; 0 = don't)
//        UPLOAD_FSYNC (1; 0 = the local S3 skips fdatasync: what durability costs per PUT)
//        UPLOAD_RESIZE_CONCURRENCY (the stack's default, the template's ResizeConcurrency: resizes at once)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePhotos } from './upload-photos.mjs';
import { asDev } from './as-dev.mjs';
import { gnuTime } from './gnu-time.mjs';

asDev(import.meta.url); // the in-process stack under dev's node options

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // Node 20: the SDK warns on load
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;
const env = process.env;
const num = (v, d) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
const COUNT = Math.max(1, num(env.UPLOAD_FILES, 500));
const REPS = Math.max(1, num(env.UPLOAD_REPS, 3));
const PIPE_REPS = Math.max(1, num(env.UPLOAD_PIPE_REPS, 1));
const MODES = (env.UPLOAD_MODES ?? 'off on').split(/\s+/).filter(Boolean);
const OFF_TOOLS = (env.UPLOAD_TOOLS ?? 'imgpipe aws-cli sdk-c16 sdk-sha256-c16 sdk-c64').split(/\s+/).filter(Boolean);
const ON_TOOLS = (env.UPLOAD_PIPE_TOOLS ?? 'imgpipe aws-cli sdk-c16').split(/\s+/).filter(Boolean);
const IMGPIPE_ARGS = (env.UPLOAD_IMGPIPE_ARGS ?? '').split(/\s+/).filter(Boolean);
const MEM_SCALE = Math.max(0, Math.floor(num(env.UPLOAD_MEM_SCALE, 4)));
const AWS = env.UPLOAD_AWS ?? '/usr/bin/aws';
const HAVE_TIME = fs.existsSync('/usr/bin/time');
const KEEP_LOGS = env.UPLOAD_KEEP_LOGS ? path.resolve(env.INIT_CWD ?? '.', env.UPLOAD_KEEP_LOGS) : undefined;
const SPEC_FLAGS = ['--widths', '320,1024,2048', '--format', 'jpeg', '--quality', '80']; // = DEFAULT_SPEC, explicit
const PIPELINE_TIMEOUT_MS = 15 * 60_000;

for (const m of MODES) if (m !== 'off' && m !== 'on') { console.error(`upload bench: unknown mode ${m} (off, on)`); process.exit(2); }
const TOOL_RE = /^(imgpipe(-c\d+)?|aws-cli|sdk-(sha256-)?c\d+)$/;
for (const t of [...OFF_TOOLS, ...ON_TOOLS]) if (!TOOL_RE.test(t)) { console.error(`upload bench: unknown tool ${t} (imgpipe, imgpipe-cN, aws-cli, sdk-cN, sdk-sha256-cN)`); process.exit(2); }

// ---- the project: built dist/ ----------------------------------------------------------------
if (!fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js')) || !fs.existsSync(path.join(ROOT, 'dist/src/local/stack.js'))) {
  console.log('# dist/ missing: npm run build');
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}
const { startLocalStack } = await import(path.join(ROOT, 'dist/src/local/stack.js'));
const { writeDevState } = await import(path.join(ROOT, 'dist/src/local/state.js'));
const { DEFAULT_SPEC } = await import(path.join(ROOT, 'dist/src/core/spec.js'));
const { outputKeys } = await import(path.join(ROOT, 'dist/src/core/keys.js'));
const { createS3Client } = await import(path.join(ROOT, 'dist/src/s3/client.js'));
const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');

// ---- the files ---------------------------------------------------------------------------------
let setDir;
let setFiles;
if (process.argv[2]) {
  setDir = path.resolve(env.INIT_CWD ?? process.cwd(), process.argv[2]);
  setFiles = fs.readdirSync(setDir).filter((f) => !f.startsWith('.') && fs.statSync(path.join(setDir, f)).isFile()).sort().map((f) => path.join(setDir, f));
} else {
  const corpus = env.CORPUS ?? path.resolve(ROOT, '../shared/corpus');
  if (!fs.existsSync(corpus)) { console.error(`upload bench: no corpus at ${corpus} to make the photos from (set CORPUS or pass a folder)`); process.exit(2); }
  const set = await ensurePhotos({ corpus, count: COUNT });
  setDir = set.dir;
  setFiles = set.files;
}
if (!setFiles.length) { console.error(`upload bench: no files in ${setDir}`); process.exit(2); }
const N = setFiles.length;
const BYTES = setFiles.reduce((s, f) => s + fs.statSync(f).size, 0);
for (const f of setFiles) fs.readFileSync(f); // untimed: page cache warm for whoever goes first

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-upbench-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- helpers ----------------------------------------------------------------------------------
const out1 = (cmd, args) => {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    return r.status === 0 ? `${r.stdout}${r.stderr}`.trim() : null;
  } catch {
    return null;
  }
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (xs, p) => { if (!xs.length) return NaN; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]; };
const fx = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
const AWS_VERSION = fs.existsSync(AWS) ? out1(AWS, ['--version']) : null;
// Machine-wide busy CPU seconds (all cores, /proc/stat): what the rest of the machine used during
// a run is this minus the tool's and the stack's own CPU ("bg CPU s": other work skewing the run).
const CLK_TCK = Number(out1('getconf', ['CLK_TCK'])) || 100;
const busyCpu = () => {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return (f.reduce((a, b) => a + b, 0) - f[3] - (f[4] ?? 0)) / CLK_TCK; // all but idle and iowait
  } catch {
    return NaN;
  }
};
// CPU of this process's children that have ended and been reaped (/proc/self/stat cutime + cstime):
// after a run's stack has closed, its resize instances' CPU is in it, with the tool's.
const reapedCpu = () => {
  try {
    const f = fs.readFileSync('/proc/self/stat', 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[13]) + Number(rest[14])) / CLK_TCK;
  } catch {
    return NaN;
  }
};
const pkgVersion = (name) => { try { return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version; } catch { return '?'; } };

// A folder of SCALE×N files for the memory check, SCALE sub-folders of the set: copy k of a JPEG
// carries a comment segment naming k (the same photo in other bytes: imgpipe sends the same bytes
// once a run, so links to the set stored N objects, not SCALE×N); other formats are linked, and
// counted once. Returns the folder and the objects and bytes it must store.
function scaledSet(scale) {
  const dir = path.join(WORK, `set-x${scale}`);
  let files = 0;
  let bytes = 0;
  for (let k = 0; k < scale; k++) {
    fs.mkdirSync(path.join(dir, `part${k}`), { recursive: true });
    for (const f of setFiles) {
      const to = path.join(dir, `part${k}`, path.basename(f));
      const b = fs.readFileSync(f);
      if (b[0] === 0xff && b[1] === 0xd8) {
        const comment = Buffer.from([0xff, 0xfe, 0x00, 0x06, 0, 0, 0, 0]); // COM, length 6, then k
        comment.writeUInt32BE(k, 4);
        fs.writeFileSync(to, Buffer.concat([b.subarray(0, 2), comment, b.subarray(2)]));
        files += 1;
        bytes += b.length + comment.length;
      } else {
        fs.symlinkSync(f, to);
        if (k === 0) { files += 1; bytes += b.length; }
      }
    }
  }
  return { dir, files, bytes };
}

// Each tool: why it cannot run (or null) and its command line (cwd = the run's working folder).
function toolOf(name) {
  if (name.startsWith('imgpipe')) {
    const c = /-c(\d+)$/.exec(name)?.[1];
    return {
      missing: null,
      cmd: (dir, mode) => [path.join(ROOT, 'bin/imgpipe.js'), 'upload', dir, '--local', '--json', ...(mode === 'on' ? ['--wait', '--timeout', '900'] : []),
        ...SPEC_FLAGS, ...(c ? ['--concurrency', c] : []), ...IMGPIPE_ARGS],
      env: {},
    };
  }
  if (name === 'aws-cli') {
    return {
      missing: !fs.existsSync(AWS) ? `${AWS} not found (apt-get install awscli: Debian's aws-cli 2.x)` : !AWS_VERSION ? `${AWS} --version fails` : null,
      // --no-progress: the "upload: … to s3://…" line per file stays (we time-stamp those).
      cmd: (dir, _mode, stack) => [AWS, 's3', 'cp', '--recursive', '--no-progress', dir, `s3://${stack.sourceBucket}/awscli/`, '--endpoint-url', stack.s3Endpoint],
      prefix: 'awscli/',
      env: { PYTHONUNBUFFERED: '1' },
    };
  }
  const [, sha, c] = /^sdk-(sha256-)?c(\d+)$/.exec(name);
  const prefix = sha ? 'sdk-sha256/' : 'sdk/';
  return {
    missing: null,
    cmd: (dir, _mode, stack) => [process.execPath, path.join(ROOT, 'bench/upload-sdk-put.mjs'), dir, stack.sourceBucket, prefix, c],
    prefix,
    env: sha ? { CHECKSUM: 'SHA256' } : {},
  };
}

// Environment for a tool: the stack's development credentials, and nothing from a user's AWS
// config (profiles, max_concurrent_requests…) so every machine measures the same thing.
function toolEnv(tool, stack) {
  const e = { ...env };
  for (const k of Object.keys(e)) if (/^AWS_/.test(k) && k !== 'AWS_CA_BUNDLE') delete e[k];
  const emptyConfig = path.join(WORK, 'aws-config');
  if (!fs.existsSync(emptyConfig)) fs.writeFileSync(emptyConfig, '');
  Object.assign(e, {
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_REGION: stack.region,
    AWS_DEFAULT_REGION: stack.region,
    AWS_CONFIG_FILE: emptyConfig,
    AWS_SHARED_CREDENTIALS_FILE: emptyConfig,
    AWS_PAGER: '',
    ENDPOINT: stack.s3Endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    NODE_NO_WARNINGS: '1',
    ...tool.env,
  });
  return e;
}

async function listAll(s3, bucket, prefix) {
  const objects = [];
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key, size: o.Size });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

// On a shared machine, start a run when the rest of the machine is quiet: up to IDLE_WAIT seconds
// for a 1 s window in which other processes used under a quarter of a core.
const IDLE_WAIT = Math.max(0, num(env.UPLOAD_IDLE_WAIT, 90));
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
async function waitQuiet() {
  const until = Date.now() + IDLE_WAIT * 1000;
  for (;;) {
    const b0 = busyCpu();
    const c0 = process.cpuUsage();
    await sleep(1000);
    const own = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(c0));
    const other = busyCpu() - b0 - own;
    if (!(other > 0.25) || Date.now() >= until) return other;
  }
}

// ---- one run ----------------------------------------------------------------------------------
async function runOnce(name, mode, dir, expectFiles, expectBytes, tag) {
  const tool = toolOf(name);
  const busyBefore = tag.startsWith('warm') ? 0 : await waitQuiet();
  const dataDir = fs.mkdtempSync(path.join(WORK, 'data-'));
  const cwd = fs.mkdtempSync(path.join(WORK, 'cwd-'));
  const resized = new Map(); // source key -> ms when its last variant was stored
  const resizeErrors = [];
  const resizeMs = []; // each resize's own time (GET, decode, 3 encodes, 3 PUTs), without its wait in the queue
  const reaped0 = reapedCpu();
  let r;
  const stack = await startLocalStack({
    dataDir,
    spec: DEFAULT_SPEC,
    trigger: mode === 'on',
    fsync: env.UPLOAD_FSYNC !== '0',
    ...(env.UPLOAD_RESIZE_CONCURRENCY ? { resizeConcurrency: Number(env.UPLOAD_RESIZE_CONCURRENCY) } : {}),
    log: (line) => {
      if (line.msg === 'resized') {
        resized.set(line.key, Date.now());
        resizeMs.push(line.ms);
      }
      else if (line.level === 'error') resizeErrors.push(`${line.key}: ${line.error}`);
    },
  });
  const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
  try {
    await writeDevState({
      pid: process.pid, apiUrl: stack.apiUrl, s3Endpoint: stack.s3Endpoint, region: stack.region,
      sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, dataDir, credentials: stack.credentials,
    }, path.join(cwd, '.imgpipe/dev.json'));

    const argv = tool.cmd(dir, mode, stack);
    const timeFile = path.join(WORK, 'time.txt');
    const full = HAVE_TIME ? ['/usr/bin/time', '-v', '-o', timeFile, ...argv] : argv;
    const putDone = new Map(); // source key -> ms when its PUT completed (client side)
    let stdout = '';
    let stderr = '';
    let partial = '';
    const cpu0 = process.cpuUsage();
    const busy0 = busyCpu();
    const t0 = Date.now();
    const h0 = process.hrtime.bigint();
    const code = await new Promise((resolve) => {
      const child = spawn(full[0], full.slice(1), { cwd, env: toolEnv(tool, stack), stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        if (name !== 'aws-cli') { stdout += chunk; return; }
        const now = Date.now();
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const l of lines) {
          const m = / to s3:\/\/[^/]+\/(.+?)\s*$/.exec(l);
          if (/^upload: /.test(l) && m) putDone.set(m[1], now);
          else stdout += `${l}\n`;
        }
      });
      child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-8000); });
      child.on('error', (err) => { stderr += String(err); resolve(-1); });
      child.on('close', (c) => resolve(c));
    });
    const wall = Number(process.hrtime.bigint() - h0) / 1e9;
    let rssMB = NaN, cpu = NaN;
    if (HAVE_TIME && fs.existsSync(timeFile)) {
      ({ rssMB, cpu } = gnuTime(fs.readFileSync(timeFile, 'utf8')));
      if (KEEP_LOGS) fs.copyFileSync(timeFile, path.join(KEEP_LOGS, `${tag}.time`));
      fs.rmSync(timeFile);
    }
    if (KEEP_LOGS) {
      fs.writeFileSync(path.join(KEEP_LOGS, `${tag}.stdout`), stdout);
      fs.writeFileSync(path.join(KEEP_LOGS, `${tag}.stderr`), stderr);
    }
    r = { name, mode, ok: code === 0, wall, rssMB, cpu, t0, busyBefore, problems: [] };
    if (code !== 0) r.problems.push(`exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);

    // Which source keys this run created, and when each PUT completed.
    let keys = [];
    if (name.startsWith('imgpipe')) {
      try {
        r.json = JSON.parse(stdout);
        keys = r.json.keys ?? [];
      } catch {
        r.problems.push('no JSON document on stdout');
      }
      try {
        const manifest = JSON.parse(fs.readFileSync(path.join(cwd, '.imgpipe/last-upload.json'), 'utf8'));
        for (const f of manifest.files) if (f.key && f.uploadedAt) putDone.set(f.key, Date.parse(f.uploadedAt));
      } catch {
        r.problems.push('no manifest');
      }
    } else if (name.startsWith('sdk-')) {
      try {
        const doc = JSON.parse(stdout.trim().split('\n').pop());
        for (const [k, ms] of doc.done) putDone.set(k, ms);
      } catch {
        r.problems.push('no JSON line on stdout');
      }
      keys = [...putDone.keys()];
    } else {
      keys = [...putDone.keys()];
    }

    // The pipeline: wait (untimed by the tool) until every uploaded key is resized or failed.
    if (mode === 'on') {
      const deadline = Date.now() + PIPELINE_TIMEOUT_MS;
      const wanted = keys.length || expectFiles;
      while (resized.size + resizeErrors.length < wanted && Date.now() < deadline) await new Promise((res) => setTimeout(res, 25));
      await stack.idle();
      const doneTimes = keys.map((k) => resized.get(k)).filter((x) => x !== undefined);
      r.pipeline = doneTimes.length ? (Math.max(...doneTimes) - t0) / 1000 : NaN;
      r.fromPut = keys.filter((k) => resized.has(k) && putDone.has(k)).map((k) => (resized.get(k) - putDone.get(k)) / 1000);
      r.fromStart = keys.filter((k) => resized.has(k)).map((k) => (resized.get(k) - t0) / 1000);
      r.resized = doneTimes.length;
      r.resizeS = resizeMs.filter(Number.isFinite).map((ms) => ms / 1000);
      if (resizeErrors.length) r.problems.push(`${resizeErrors.length} resize errors, e.g. ${resizeErrors[0]}`);
    }
    r.stackCpu = (() => { const u = process.cpuUsage(cpu0); return (u.user + u.system) / 1e6; })();
    r.bgCpu = Math.max(0, busyCpu() - busy0 - r.stackCpu - (Number.isFinite(cpu) ? cpu : 0));
    const puts = [...putDone.values()];
    r.upload = puts.length === expectFiles ? (Math.max(...puts) - t0) / 1000 : NaN; // start → last PUT done

    // What landed: every source object (count and bytes), and with the trigger on every variant.
    const prefix = tool.prefix ?? 'uploads/';
    const src = await listAll(s3, stack.sourceBucket, prefix);
    r.storedFiles = src.length;
    r.storedBytes = src.reduce((s, o) => s + o.size, 0);
    if (src.length !== expectFiles || r.storedBytes !== expectBytes) {
      r.problems.push(`stored ${src.length} objects / ${r.storedBytes} bytes, expected ${expectFiles} / ${expectBytes}`);
    }
    if (keys.length && keys.length !== expectFiles) r.problems.push(`${keys.length} keys reported, expected ${expectFiles}`);
    if (mode === 'on') {
      const dest = new Set((await listAll(s3, stack.destBucket, '')).map((o) => o.key));
      const expected = src.flatMap((o) => outputKeys(o.key, DEFAULT_SPEC).map((x) => x.key));
      r.variants = expected.filter((k) => dest.has(k)).length;
      r.variantsExpected = expected.length;
      if (r.variants !== r.variantsExpected) r.problems.push(`${r.variants}/${r.variantsExpected} variants in ${stack.destBucket}`);
      if (r.json?.wait) r.waitJson = r.json.wait;
    }
    r.ok = r.ok && r.problems.length === 0;
    return r;
  } finally {
    s3.destroy();
    await stack.close();
    if (r && mode === 'on') {
      // The instances have ended with the stack: their CPU is what was reaped less the tool's.
      r.instancesCpu = Math.max(0, reapedCpu() - reaped0 - (Number.isFinite(r.cpu) ? r.cpu : 0));
      r.bgCpu = Math.max(0, r.bgCpu - r.instancesCpu);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

// ---- header -----------------------------------------------------------------------------------
const load = os.loadavg();
console.log(`# imgpipe upload bench  ${new Date().toISOString()}  host: nproc ${os.availableParallelism()}, ` +
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.release()}, load ${load.map((l) => l.toFixed(2)).join(' ')}`);
console.log(`# server: the local stack (startLocalStack: packages/local-s3, SigV4 + checksums, fsync ${env.UPLOAD_FSYNC === '0' ? 'off' : 'on'}), ` +
  `in this process (node ${process.execArgv.join(" ")} MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}, as the bin runs dev), fresh per run | node ${process.version} | client-s3 ${pkgVersion('@aws-sdk/client-s3')} | ${AWS_VERSION ? AWS_VERSION.split(' ').slice(0, 2).join(' ') : `no ${AWS}`}`);
console.log(`# files ${setDir}: ${N} files, ${(BYTES / MIB).toFixed(1)} MiB (${(BYTES / N / MIB).toFixed(2)} MiB each on average); ` +
  `runs per tool: ${[MODES.includes('off') ? `${REPS} trigger off (median)` : '', MODES.includes('on') ? `${PIPE_REPS} trigger on` : ''].filter(Boolean).join(', ')}${IMGPIPE_ARGS.length ? `; imgpipe extra args: ${IMGPIPE_ARGS.join(' ')}` : ''}`);
if (!HAVE_TIME) console.log('# /usr/bin/time missing (apt-get install time): peak RSS and client CPU are n/a');
{
  const b0 = busyCpu();
  await new Promise((res) => setTimeout(res, 1000));
  const other = busyCpu() - b0;
  if (other > 0.25) console.log(`# note: other processes use ${other.toFixed(1)} cores at the start: runs wait up to ${IDLE_WAIT} s for quiet, bg CPU s shows what remains`);
}
if (KEEP_LOGS) fs.mkdirSync(KEEP_LOGS, { recursive: true });

const noted = new Set();
const usable = (list) => list.filter((t) => {
  const m = toolOf(t).missing;
  if (m && !noted.has(t)) console.log(`# skipped ${t}: ${m}`);
  if (m) noted.add(t);
  return !m;
});
const offTools = MODES.includes('off') ? usable(OFF_TOOLS) : [];
const onTools = MODES.includes('on') ? usable(ON_TOOLS) : [];

// ---- warm-up (untimed): each tool once on 3 files, so first-run costs (Python bytecode, module
// files off disk) are not measured.
const warmDir = path.join(WORK, 'warm');
fs.mkdirSync(warmDir);
for (const f of setFiles.slice(0, 3)) fs.symlinkSync(f, path.join(warmDir, path.basename(f)));
const warmBytes = setFiles.slice(0, 3).reduce((s, f) => s + fs.statSync(f).size, 0);
for (const t of new Set([...offTools, ...onTools])) {
  const r = await runOnce(t, 'off', warmDir, 3, warmBytes, `warm.${t}`);
  if (!r.ok) console.log(`# !! warm-up of ${t} failed: ${r.problems.join('; ')}`);
}

const report = (r, rep) => console.error(`# ${r.mode === 'on' ? 'trigger on ' : 'trigger off'} rep ${rep} ${r.name.padEnd(11)} ${fx(r.wall)} s` +
  `  rss ${fx(r.rssMB, 0)} MiB  cpu ${fx(r.cpu)} s  stack cpu ${fx(r.stackCpu)} s  bg cpu ${fx(r.bgCpu)} s` +
  (r.mode === 'on' ? `  upload ${fx(r.upload)} s  pipeline ${fx(r.pipeline)} s  variants ${r.variants}/${r.variantsExpected}` : '') +
  (r.busyBefore > 0.25 ? `  (started busy: ${r.busyBefore.toFixed(1)} cores in use elsewhere)` : '') +
  (r.ok ? '' : `  FAILED: ${r.problems.join('; ')}`));

// Other work on the machine during the runs, as a share of what the machine had (cores × wall).
function skewNote(runs) {
  const bg = runs.reduce((a, r) => a + (Number.isFinite(r.bgCpu) ? r.bgCpu : 0), 0);
  const avail = runs.reduce((a, r) => a + os.availableParallelism() * (r.mode === 'on' && Number.isFinite(r.pipeline) ? Math.max(r.wall, r.pipeline) : r.wall), 0);
  if (avail && bg / avail > 0.1) {
    console.log(`# !! other work on this machine used ${(100 * bg / avail).toFixed(0)} % of its CPU during these runs: the times above are skewed (slower, noisier)`);
  }
}

const line = (cols, widths, r) => `| ${r.map((v, i) => (i === 0 || i === r.length - 1 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join(' | ')} |`;
function table(cols, rows) {
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  console.log(line(cols, widths, cols));
  console.log(`|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of rows) console.log(line(cols, widths, r));
}

// ---- trigger off: the upload alone --------------------------------------------------------------
const off = Object.fromEntries(offTools.map((t) => [t, []]));
if (offTools.length) {
  for (let rep = 1; rep <= REPS; rep++) {
    for (const t of offTools) {
      const r = await runOnce(t, 'off', setDir, N, BYTES, `off.${t}.${rep}`);
      report(r, rep);
      if (r.ok) off[t].push(r);
    }
  }
  const med = (t, k) => median(off[t].map((r) => r[k]));
  const secs = (t) => (off[t]?.length ? med(t, 'wall') : NaN);
  const awsS = secs('aws-cli');
  const sdkS = secs('sdk-c16');
  const cols = ['tool', 'seconds', 'files/s', 'MiB/s', 'peak RSS MiB', 'CPU s', 'stack CPU s', 'bg CPU s', 'vs aws-cli', 'vs sdk-c16', 'runs (s)'];
  const rows = offTools.filter((t) => off[t].length).map((t) => {
    const s = secs(t);
    return [t, s.toFixed(2), (N / s).toFixed(1), (BYTES / MIB / s).toFixed(1), fx(med(t, 'rssMB'), 0), fx(med(t, 'cpu')), fx(med(t, 'stackCpu')), fx(med(t, 'bgCpu')),
      Number.isFinite(awsS) ? `${(awsS / s).toFixed(2)}x` : 'n/a', Number.isFinite(sdkS) ? `${(sdkS / s).toFixed(2)}x` : 'n/a',
      off[t].map((r) => r.wall.toFixed(2)).join(' ')];
  });
  console.log();
  console.log(`## trigger off: upload alone, ${N} files, ${(BYTES / MIB).toFixed(0)} MiB (medians of ${REPS})`);
  table(cols, rows);
  for (const t of offTools) if (!off[t].length) console.log(`# !! ${t}: every run failed`);
  console.log(`# seconds: wall time of the tool's process from spawn to exit (start-up included), fresh stack per run;`);
  console.log(`# peak RSS: GNU time's max RSS of the tool's process; CPU s: its user+sys; stack CPU s: the local stack's (this process's) user+sys during the run;`);
  console.log(`# bg CPU s: CPU the rest of the machine used meanwhile (/proc/stat), of ${os.availableParallelism()} x seconds available: well above 0, other work skewed the run.`);
  console.log(`# vs X: throughput relative to X (X's seconds / tool's seconds; >1 = faster). MiB = 2^20 bytes.`);
  skewNote(Object.values(off).flat());

  // Memory against the number of files: imgpipe once more on MEM_SCALE × the set.
  let scaled;
  const imgpipeTool = offTools.find((t) => t.startsWith('imgpipe'));
  if (MEM_SCALE > 1 && imgpipeTool) {
    const set = scaledSet(MEM_SCALE);
    scaled = await runOnce(imgpipeTool, 'off', set.dir, set.files, set.bytes, `off.${imgpipeTool}.x${MEM_SCALE}`);
    report(scaled, `x${MEM_SCALE}`);
    console.log(`# ${imgpipeTool} on ${MEM_SCALE}x the files (${N * MEM_SCALE}, ${(BYTES * MEM_SCALE / MIB).toFixed(0)} MiB): ` +
      (scaled.ok ? `${scaled.wall.toFixed(2)} s, ${(N * MEM_SCALE / scaled.wall).toFixed(1)} files/s, peak RSS ${fx(scaled.rssMB, 0)} MiB` : `FAILED: ${scaled.problems.join('; ')}`));
  }

  if (off.imgpipe?.length) {
    const s = secs('imgpipe');
    const ok = (b) => (b ? 'ok' : 'MISSED');
    const rss = med('imgpipe', 'rssMB');
    const parts = [];
    if (Number.isFinite(awsS)) parts.push(`${(awsS / s).toFixed(2)}x aws-cli (>= 1.40x: ${ok(awsS / s >= 1.4)})`);
    if (Number.isFinite(sdkS)) parts.push(`${(100 * sdkS / s).toFixed(0)} % of bare SDK c16's throughput (>= 95 %: ${ok(sdkS / s >= 0.95)})`);
    const shaS = secs('sdk-sha256-c16');
    if (Number.isFinite(shaS)) parts.push(`${(100 * shaS / s).toFixed(0)} % of the SDK c16 with SHA-256 checksums (the same integrity)`);
    if (HAVE_TIME) parts.push(`peak RSS ${rss.toFixed(0)} MiB (<= 200: ${ok(rss <= 200)})` +
      (scaled?.ok ? `, ${scaled.rssMB.toFixed(0)} MiB with ${N * MEM_SCALE} files (<= 200: ${ok(scaled.rssMB <= 200)})` : ''));
    console.log(`# imgpipe targets: ${parts.join('; ')}`);
  }
}

// ---- trigger on: the whole pipeline ---------------------------------------------------------
const on = Object.fromEntries(onTools.map((t) => [t, []]));
if (onTools.length) {
  for (let rep = 1; rep <= PIPE_REPS; rep++) {
    for (const t of onTools) {
      const r = await runOnce(t, 'on', setDir, N, BYTES, `on.${t}.${rep}`);
      report(r, rep);
      if (r.ok) on[t].push(r);
      else if (r.fromPut?.length) on[t].push(r); // partial: still show what was measured, flagged below
    }
  }
  const cols = ['tool', 'tool s', 'upload s', 'files/s up', 'peak RSS MiB', 'pipeline s', 'files/s e2e', 'p50 from PUT', 'p95 from PUT',
    'p50 from start', 'p95 from start', 'resize p50', 'resize p95', 'CPU s', 'stack CPU s', 'instances CPU s', 'bg CPU s', 'variants'];
  const rows = onTools.filter((t) => on[t].length).map((t) => {
    const rs = on[t];
    const m = (k) => median(rs.map((r) => r[k]));
    const all = (k) => rs.flatMap((r) => r[k] ?? []);
    return [t, fx(m('wall')), fx(m('upload')), fx(N / m('upload'), 1), fx(m('rssMB'), 0), fx(m('pipeline')), fx(N / m('pipeline'), 1),
      fx(pct(all('fromPut'), 0.5)), fx(pct(all('fromPut'), 0.95)), fx(pct(all('fromStart'), 0.5)), fx(pct(all('fromStart'), 0.95)),
      fx(pct(all('resizeS'), 0.5)), fx(pct(all('resizeS'), 0.95)),
      fx(m('cpu')), fx(m('stackCpu')), fx(m('instancesCpu')), fx(m('bgCpu')), rs.map((r) => `${r.variants}/${r.variantsExpected}${r.ok ? '' : ' !!'}`).join(' ')];
  });
  console.log();
  console.log(`## trigger on: the whole pipeline (upload → resize to ${DEFAULT_SPEC.variants.map((v) => v.name).join('/')} → variants in imgpipe-dest), ` +
    `${N} files${PIPE_REPS > 1 ? ` (medians of ${PIPE_REPS}; latencies pooled)` : ''}`);
  table(cols, rows);
  console.log(`# tool s: the tool's process, spawn to exit (imgpipe: with --wait, so until it saw every variant); upload s: start → last PUT completed;`);
  console.log(`# pipeline s: start → last variant stored (the resize handler's log, after its last variant PUT); latency per file, seconds:`);
  console.log(`# "from PUT" = its PUT completed (imgpipe: manifest uploadedAt; aws-cli: its "upload:" line; SDK: the loop's record) → its 3 variants stored;`);
  console.log(`# "from start" = tool spawned → its 3 variants stored; resize = one resize's own time (GET, decode, 3 encodes, 3 PUTs), the rest`);
  console.log(`# of a latency is waiting in the queue. Resizes run in instances of the stack (child processes), ${env.UPLOAD_RESIZE_CONCURRENCY || "the template's ResizeConcurrency"} at a time; stack CPU s is this process alone.`);
  for (const r of on.imgpipe ?? []) {
    if (r.json?.wait) {
      console.log(`# imgpipe --wait --json: upload ${r.json.seconds.toFixed(2)} s (${r.json.filesPerSecond.toFixed(1)} files/s), ` +
        `wait ${r.json.wait.seconds.toFixed(2)} s, ${r.json.wait.found}/${r.json.wait.expected} variants, ok ${r.json.ok}; the process exited ` +
        `${(r.wall - r.pipeline).toFixed(2)} s after the last variant was stored`);
    }
  }
  for (const t of onTools) for (const r of on[t]) if (!r.ok) console.log(`# !! ${t}: ${r.problems.join('; ')}`);
  skewNote(Object.values(on).flat());
  if (on.imgpipe?.length) await pipelineBound(on.imgpipe, setDir);
}

// Issue 24's bound for the pipeline: the cores ÷ one photo's resize CPU, that CPU measured by
// resize-local (the handler's resize, no S3) on the same photos; beside it, the CPU the run itself
// spent per photo (instances, stack, client), which is what the rate can reach on these cores.
async function pipelineBound(runs, dir) {
  if (!HAVE_TIME) return;
  await waitQuiet();
  const out = fs.mkdtempSync(path.join(WORK, 'resize-local-'));
  const timeFile = path.join(WORK, 'resize-local.time');
  const rl = spawnSync('/usr/bin/time', ['-v', '-o', timeFile, path.join(ROOT, 'bin/imgpipe.js'), 'resize-local', dir, '--out', out, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const { cpu } = gnuTime(fs.readFileSync(timeFile, 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  if (rl.status !== 0 || !Number.isFinite(cpu)) return console.log(`# bound: resize-local failed (${rl.status}): ${String(rl.stderr).trim().split('\n').pop()}`);
  const cores = os.availableParallelism();
  const perPhoto = cpu / N;
  const bound = cores / perPhoto;
  const m = (k) => median(runs.map((r) => r[k]));
  const rate = N / m('pipeline');
  const own = (m('instancesCpu') + m('stackCpu') + m('cpu')) / N;
  console.log(`# bound: resize-local of the same ${N} photos takes ${cpu.toFixed(1)} s of CPU, ${(1000 * perPhoto).toFixed(0)} ms a photo: ${cores} cores ÷ that = ` +
    `${bound.toFixed(1)} photos/s; imgpipe's pipeline ${rate.toFixed(1)} photos/s = ${(100 * rate / bound).toFixed(0)} % of it (goal >= 90 %: ${rate >= 0.9 * bound ? 'ok' : 'MISSED'})`);
  console.log(`# the run's own CPU a photo: instances ${(1000 * m('instancesCpu') / N).toFixed(0)} ms + stack ${(1000 * m('stackCpu') / N).toFixed(0)} ms + client ` +
    `${(1000 * m('cpu') / N).toFixed(0)} ms = ${(1000 * own).toFixed(0)} ms: ${cores} cores ÷ that = ${(cores / own).toFixed(1)} photos/s, the rate reached ${(100 * rate * own / cores).toFixed(0)} % of it`);
}

if ((offTools.includes('imgpipe') && !off.imgpipe.length) || (onTools.includes('imgpipe') && !on.imgpipe.length)) process.exitCode = 1;
