#!/usr/bin/env node
// bench/heic.mjs — HEIC against JPEG through `resize-local` (issue 24's HEIC row): the same photos,
// 12 MP (4032×3024, an iPhone's), once as JPEG q92 and once as HEIC (Debian's heif-enc, q80), each
// folder resized by the bin as a command (its first line included) under /usr/bin/time, alternated
// JPEG, HEIC, HEIC, JPEG …; medians of wall, CPU and peak RSS, and HEIC ÷ JPEG.
//
// usage: node bench/heic.mjs            (BENCH=heic npm run bench)
// env:   HEIC_PHOTOS (6)  HEIC_REPS (3)  HEIC_ARGS (extra resize-local flags, e.g. "--concurrency 1")
// The set is made once into node_modules/.cache/imgpipe-bench/heic-12mp-<N>/ (jpeg/ and heic/).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { gnuTime } from './gnu-time.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Math.max(1, Number(process.env.HEIC_PHOTOS ?? 6));
const REPS = Math.max(1, Number(process.env.HEIC_REPS ?? 3));
const ARGS = (process.env.HEIC_ARGS ?? '').split(/\s+/).filter(Boolean);
const CORPUS = [path.join(ROOT, '../shared/corpus'), path.join(ROOT, 'test/fixtures/corpus')].find((d) => fs.existsSync(d));
const SET = path.join(ROOT, 'node_modules/.cache/imgpipe-bench', `heic-12mp-${N}`);

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
for (const [tool, pkg] of [['heif-enc', 'libheif-examples'], ['/usr/bin/time', 'time']]) {
  if (!which(tool)) {
    console.log(`# heic bench skipped: ${tool} is missing (apt-get install -y ${pkg})`);
    process.exit(0);
  }
}

async function ensureSet() {
  const done = path.join(SET, 'done');
  if (fs.existsSync(done)) return;
  fs.rmSync(SET, { recursive: true, force: true });
  for (const d of ['jpeg', 'heic']) fs.mkdirSync(path.join(SET, d), { recursive: true });
  const photos = fs.readdirSync(CORPUS).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, N);
  console.log(`# making ${photos.length} photos at 4032×3024 as JPEG and HEIC in ${SET}; once, then cached`);
  for (const f of photos) {
    const base = path.parse(f).name;
    const jpeg = path.join(SET, 'jpeg', `${base}.jpg`);
    await sharp(path.join(CORPUS, f)).resize(4032, 3024, { fit: 'cover' }).jpeg({ quality: 92 }).toFile(jpeg);
    execFileSync('heif-enc', ['-q', '80', jpeg, '-o', path.join(SET, 'heic', `${base}.heic`)], { stdio: 'ignore' });
  }
  fs.writeFileSync(done, '');
}

function run(folder) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-heic-bench-'));
  const timeFile = path.join(out, 'time.txt');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', '-o', timeFile, path.join(ROOT, 'bin/imgpipe.js'), 'resize-local', folder, '--out', path.join(out, 'o'), '--json', ...ARGS], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const { cpu, rssMB } = gnuTime(fs.readFileSync(timeFile, 'utf8'));
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`resize-local ${folder} exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
  return { wall, cpu, rss: rssMB };
}

const median = (xs) => { const v = [...xs].sort((a, b) => a - b); const h = v.length >> 1; return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2; };

await ensureSet();
console.log(`# heic bench  ${new Date().toISOString()}  host: nproc ${os.availableParallelism()}, node ${process.version}; ${N} photos 4032×3024; resize-local ${ARGS.join(' ') || '(defaults)'}; reps ${REPS}, alternated`);
const runs = { jpeg: [], heic: [] };
for (let rep = 0; rep < REPS; rep++) {
  for (const kind of rep % 2 ? ['heic', 'jpeg'] : ['jpeg', 'heic']) {
    const r = run(path.join(SET, kind));
    runs[kind].push(r);
    console.log(`# rep ${rep + 1} ${kind}  ${r.wall.toFixed(2)} s  cpu ${r.cpu.toFixed(2)} s  rss ${r.rss.toFixed(0)} MB`);
  }
}
const med = (kind, k) => median(runs[kind].map((r) => r[k]));
console.log('| format | seconds | s a photo | CPU s | peak RSS MB |');
console.log('|---|--:|--:|--:|--:|');
for (const kind of ['jpeg', 'heic']) console.log(`| ${kind} | ${med(kind, 'wall').toFixed(2)} | ${(med(kind, 'wall') / N).toFixed(3)} | ${med(kind, 'cpu').toFixed(2)} | ${med(kind, 'rss').toFixed(0)} |`);
const ratio = med('heic', 'wall') / med('jpeg', 'wall');
console.log(`# HEIC ÷ JPEG: ${ratio.toFixed(2)}× the time (goal <= 1.5×: ${ratio <= 1.5 ? 'ok' : 'MISSED'}), ${(med('heic', 'cpu') / med('jpeg', 'cpu')).toFixed(2)}× the CPU, ` +
  `${(med('heic', 'rss') / med('jpeg', 'rss')).toFixed(2)}× the peak memory`);
