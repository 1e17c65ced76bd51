#!/usr/bin/env node
// bench/presign.mjs — what the largest batch POST /uploads accepts costs the presign function.
// The handler (dist/lambda/presign.js) runs in this process against a local S3 server in another
// (`imgpipe dev`), so this process's CPU time is the handler's own: signing every URL and, with
// dedupe on, one ListObjectsV2 per file. Lambda gives a function CPU in proportion to its memory
// (1,769 MB = one vCPU), so the estimate at the template's setting is CPU time ÷ that share, or the
// wall time here if longer (the lookups' round trips). It is compared with a third of the
// function's timeout: the headroom the template promises (infra/template.yaml, PresignFunction).
// usage: node bench/presign.mjs   env: PRESIGN_REPS (5)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { createPresignHandler, PRESIGN_DEFAULTS } = await import(path.join(ROOT, 'dist/lambda/presign.js'));
const { FUNCTION_DEFAULTS } = await import(path.join(ROOT, 'dist/src/deploy/function-config.js'));
const PRESIGN_FUNCTION = { memoryMb: FUNCTION_DEFAULTS.presign.memory, timeoutSeconds: FUNCTION_DEFAULTS.presign.timeout };
const { createS3Client } = await import(path.join(ROOT, 'dist/src/s3/client.js'));
const REPS = Number(process.env.PRESIGN_REPS ?? 5);
const LAMBDA_MB_PER_VCPU = 1769;

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-bench-presign-'));
const dev = spawn(process.execPath, [path.join(ROOT, 'bin/imgpipe.js'), 'dev', '--s3-port', '0', '--api-port', '0', '--json'], {
  cwd,
  env: { ...process.env, XDG_STATE_HOME: cwd, CI: 'true' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  let out = '';
  dev.stdout.on('data', (d) => {
    out += d;
    if (out.includes('"msg":"ready"')) resolve();
  });
  dev.on('exit', (code) => reject(new Error(`imgpipe dev exited with ${code}`)));
});
const state = JSON.parse(fs.readFileSync(path.join(cwd, '.imgpipe/dev.json'), 'utf8'));
const s3 = createS3Client({ endpoint: state.s3Endpoint, region: state.region, credentials: state.credentials });
const presign = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: state.sourceBucket, s3, dedupe: true });

const N = PRESIGN_DEFAULTS.maxFiles;
const body = () =>
  JSON.stringify({
    files: Array.from({ length: N }, (_, i) => ({ name: `IMG_${i}.jpg`, size: 1_000_000, contentType: 'image/jpeg', sha256: randomBytes(32).toString('base64'), path: `album/IMG_${i}.jpg` })),
  });
const event = () => ({ httpMethod: 'POST', path: '/uploads', headers: { 'content-type': 'application/json' }, body: body() });

await presign(event()); // warm: module loading and the first connections are the cold start's, not the batch's
const runs = [];
for (let i = 0; i < REPS; i++) {
  const ev = event();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await presign(ev);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (res.statusCode !== 200) throw new Error(`POST /uploads answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
  runs.push({ wall, cpu: (cpu.user + cpu.system) / 1000 });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const wall = median(runs.map((r) => r.wall));
const cpu = median(runs.map((r) => r.cpu));
const share = PRESIGN_FUNCTION.memoryMb / LAMBDA_MB_PER_VCPU;
const estimate = Math.max(wall, cpu / share);
const budget = (PRESIGN_FUNCTION.timeoutSeconds * 1000) / 3;
console.log(`presign: ${N} files (dedupe on, all new), median of ${REPS}: ${wall.toFixed(0)} ms wall, ${cpu.toFixed(0)} ms CPU here`);
console.log(
  `presign: at ${PRESIGN_FUNCTION.memoryMb} MB (${share.toFixed(2)} vCPU) about ${(estimate / 1000).toFixed(2)} s; a third of its ${PRESIGN_FUNCTION.timeoutSeconds} s timeout is ${(budget / 1000).toFixed(2)} s: ${estimate <= budget ? 'within' : 'OVER'}`,
);
s3.destroy();
dev.kill('SIGINT');
await new Promise((r) => dev.on('exit', r));
fs.rmSync(cwd, { recursive: true, force: true });
process.exitCode = estimate <= budget ? 0 : 1;
