#!/usr/bin/env node
// bench/lambda.mjs — the deployment package as Lambda would run it.
//
//   1. zip size and unzipped size of the resize package for x86_64 and arm64 (and presign);
//   2. cold import of the unzipped resize handler in a fresh Node process (median of IMPORTS);
//   3. one 12-megapixel photo through the unzipped handler, pinned to one core with
//      `taskset -c 0` as Lambda's 1,769 MB (one vCPU) runs it, against the embedded S3 server
//      (which is pinned to another core when there is one): the first invocation of a fresh
//      process (cold: S3 client set up, code paths first run) and a second one (warm).
//
// usage: node bench/lambda.mjs [--json]      env: REPS (3) IMPORTS (9) PHOTO (a corpus file)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The S3 server below runs in this process with the SDK; its Node 22 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPS = Math.max(1, Number(process.env.REPS ?? 3) || 3);
const IMPORTS = Math.max(1, Number(process.env.IMPORTS ?? 9) || 9);
const JSON_OUT = process.argv.includes('--json');
const HOST_ARCH = { x64: 'x86_64', arm64: 'arm64' }[process.arch];
// The local Node runs the handler: bundle for its syntax level.
const RUNTIME = Number(process.versions.node.split('.')[0]) >= 22 ? 'nodejs22.x' : 'nodejs20.x';
const PHOTO = path.resolve(ROOT, '../shared/corpus', process.env.PHOTO ?? 'lomiri16-sunset_by_Aitzol_Berasategi.jpg');

const log = (...a) => (JSON_OUT ? process.stderr.write(`${a.join(' ')}\n`) : console.log(...a));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`;

if (!fs.existsSync(path.join(ROOT, 'dist/src/deploy/package.js'))) {
  log('# dist/ missing: npm run build');
  if (spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) process.exit(1);
}
if (!HOST_ARCH) {
  console.error(`bench: no Lambda architecture for ${process.arch}`);
  process.exit(2);
}
const { buildPackage } = await import('../dist/src/deploy/package.js');
const { functionSettings } = await import('../dist/src/deploy/function-config.js');
const { startLocalS3 } = await import('@imgpipe/local-s3');
const { s3EventRecord } = await import('../dist/src/core/s3-event.js');
const { createS3Client } = await import('../dist/src/s3/client.js');
const { DEFAULT_SPEC } = await import('../dist/src/core/spec.js');
const { PutObjectCommand } = await import('@aws-sdk/client-s3');
const { default: yauzl } = await import('yauzl');
const { default: sharp } = await import('sharp');

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-bench-lambda-'));
process.on('exit', () => fs.rmSync(WORK, { recursive: true, force: true }));

// ---- 1. packages ------------------------------------------------------------------------------
const packages = {};
for (const [name, handler, arch] of [['resize x86_64', 'resize', 'x86_64'], ['resize arm64', 'resize', 'arm64'], ['presign', 'presign', HOST_ARCH]]) {
  await buildPackage({ handler, arch, runtime: RUNTIME }); // staged install cached: time the build, not npm
  const t = performance.now();
  const p = await buildPackage({ handler, arch, runtime: RUNTIME });
  packages[name] = { zipBytes: p.bytes, unzippedBytes: p.unzippedBytes, files: p.entries, bundleBytes: p.bundleBytes, buildMs: Math.round(performance.now() - t), sha256: p.sha256, zip: p.zip };
  log(`${name.padEnd(14)} zip ${mb(p.bytes).padStart(9)}  unzipped ${mb(p.unzippedBytes).padStart(9)}  ${String(p.entries).padStart(3)} files  bundle ${mb(p.bundleBytes)}  build ${packages[name].buildMs} ms`);
}

// ---- unzip the host architecture's resize package, as Lambda does into /var/task ---------------
const TASK = path.join(WORK, 'task');
await new Promise((resolve, reject) =>
  yauzl.fromBuffer(packages[`resize ${HOST_ARCH}`].zip, { lazyEntries: true }, (err, zip) => {
    if (err) return reject(err);
    zip.on('end', resolve).on('error', reject);
    zip.on('entry', (e) =>
      zip.openReadStream(e, (err2, stream) => {
        if (err2) return reject(err2);
        const file = path.join(TASK, e.fileName);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        stream.pipe(fs.createWriteStream(file)).on('finish', () => zip.readEntry());
      }),
    );
    zip.readEntry();
  }),
);

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: TASK, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (errOut += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${errOut}`))));
  });
}
const sandbox = (extra) => ({ PATH: process.env.PATH, HOME: TASK, LAMBDA_TASK_ROOT: TASK, AWS_REGION: 'us-east-1', ...extra });

// ---- 2. cold import -----------------------------------------------------------------------------
fs.writeFileSync(
  path.join(TASK, 'import.mjs'),
  `const t = performance.now(); await import('./index.mjs'); process.stdout.write(JSON.stringify({ importMs: performance.now() - t, uptimeMs: performance.now() }));\n`,
);
const { variables } = functionSettings({ handler: 'resize', runtime: RUNTIME, arch: HOST_ARCH, destBucket: 'imgpipe-dest', sourceBucket: 'imgpipe-source', spec: DEFAULT_SPEC });
const imports = [];
for (let i = 0; i < IMPORTS; i++) imports.push(JSON.parse(await run(process.execPath, ['import.mjs'], sandbox(variables))));
const importMs = median(imports.map((x) => x.importMs));
const importMinMs = Math.min(...imports.map((x) => x.importMs));
log(`cold import of index.mjs (${HOST_ARCH}, fresh process, median of ${IMPORTS}): ${importMs.toFixed(0)} ms, fastest ${importMinMs.toFixed(0)} ms (process up ${median(imports.map((x) => x.uptimeMs)).toFixed(0)} ms when done)`);

// ---- 3. one 12 MP photo on one core ------------------------------------------------------------
const taskset = spawnSync('taskset', ['--version']).status === 0;
if (taskset && os.availableParallelism() > 1) spawnSync('taskset', ['-a', '-cp', '1', String(process.pid)]); // the S3 server: off core 0
const s3server = await startLocalS3({ dataDir: path.join(WORK, 's3'), port: 0, buckets: ['imgpipe-source', 'imgpipe-dest'] });
const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });
const photo = fs.readFileSync(PHOTO);
const meta = await sharp(photo).metadata();
const key = `uploads/bench/${path.basename(PHOTO)}`;
const put = await s3.send(new PutObjectCommand({ Bucket: 'imgpipe-source', Key: key, Body: photo }));
const event = { Records: [s3EventRecord({ bucket: 'imgpipe-source', key, size: photo.length, eTag: put.ETag.replace(/"/g, ''), eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, s3server.region)] };
fs.writeFileSync(path.join(TASK, 'event.json'), JSON.stringify(event));
fs.writeFileSync(
  path.join(TASK, 'invoke.mjs'),
  `import { readFileSync } from 'node:fs';
const event = JSON.parse(readFileSync('event.json', 'utf8'));
const { handler } = await import('./index.mjs');
const times = [];
for (let i = 0; i < 2; i++) {
  const t = performance.now();
  const r = await handler(event);
  if (r.outcomes[0].status !== 'ok') throw new Error(JSON.stringify(r.outcomes[0]));
  times.push(performance.now() - t);
}
process.stdout.write('RESULT ' + JSON.stringify({ coldMs: times[0], warmMs: times[1] }) + '\\n');
`,
);
const env = sandbox({ ...variables, AWS_ENDPOINT_URL_S3: s3server.endpoint, AWS_ACCESS_KEY_ID: s3server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3server.credentials.secretAccessKey });
const runs = [];
for (let i = 0; i < REPS; i++) {
  const cmd = taskset ? ['taskset', ['-c', '0', process.execPath, 'invoke.mjs']] : [process.execPath, ['invoke.mjs']];
  const out = await run(cmd[0], cmd[1], env);
  runs.push(JSON.parse(out.split('\n').find((l) => l.startsWith('RESULT ')).slice(7)));
}
s3.destroy();
await s3server.close();
const resize = { photo: path.basename(PHOTO), width: meta.width, height: meta.height, megapixels: +((meta.width * meta.height) / 1e6).toFixed(1), pinned: taskset ? 'taskset -c 0' : 'not pinned (no taskset)', coldMs: Math.round(median(runs.map((r) => r.coldMs))), warmMs: Math.round(median(runs.map((r) => r.warmMs))) };
const fastest = { coldMs: Math.round(Math.min(...runs.map((r) => r.coldMs))), warmMs: Math.round(Math.min(...runs.map((r) => r.warmMs))) };
Object.assign(resize, { fastestColdMs: fastest.coldMs, fastestWarmMs: fastest.warmMs });
log(`${resize.photo} ${resize.width}×${resize.height} (${resize.megapixels} MP) → 320/1024/2048 JPEG, ${resize.pinned}, median of ${REPS}: first invocation ${resize.coldMs} ms, second ${resize.warmMs} ms; fastest ${fastest.coldMs} / ${fastest.warmMs} ms (S3 get + resize + 3 puts)`);
log(`load average while measuring: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs (other work on the machine inflates every figure)`);

if (JSON_OUT) {
  for (const p of Object.values(packages)) delete p.zip;
  process.stdout.write(`${JSON.stringify({ node: process.version, cpu: os.cpus()[0]?.model, runtime: RUNTIME, packages, importMs: Math.round(importMs), importMinMs: Math.round(importMinMs), load: os.loadavg().map((l) => +l.toFixed(2)), resize }, null, 2)}\n`);
}
