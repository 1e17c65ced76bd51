#!/usr/bin/env node
// bench/ab-resize-local.mjs — two builds of imgpipe against each other, `resize-local` through the
// bin on the same folder, runs alternated (A B A B …) so a busy machine slows both alike; medians
// of wall, CPU (user+sys) and peak RSS from GNU time, and B's ratios to A.
//
// usage: node bench/ab-resize-local.mjs ROOT_A ROOT_B [FOLDER] [ROUNDS]
//        (a ROOT holds bin/imgpipe.js and its dist/; FOLDER default ../shared/corpus; ROUNDS 5)
// env:   ARGS (extra resize-local flags, e.g. "--concurrency 1"), ENV_A / ENV_B ("K=V K=V": env for one side)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const [a, b] = process.argv.slice(2, 4).map((r) => path.resolve(r));
if (!a || !b) {
  console.error('usage: node bench/ab-resize-local.mjs ROOT_A ROOT_B [FOLDER] [ROUNDS]');
  process.exit(2);
}
const folder = path.resolve(process.argv[4] ?? path.join(ROOT, '../shared/corpus'));
const ROUNDS = Number(process.argv[5] ?? 5);
const ARGS = (process.env.ARGS ?? '').split(/\s+/).filter(Boolean);
const envOf = (s) => Object.fromEntries((s ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split(/=(.*)/s).slice(0, 2)));
const sides = { A: { root: a, env: envOf(process.env.ENV_A) }, B: { root: b, env: envOf(process.env.ENV_B) } };

function run({ root, env }) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-ab-'));
  const r = spawnSync('/usr/bin/time', ['-v', path.join(root, 'bin/imgpipe.js'), 'resize-local', folder, '--out', out, '--json', ...ARGS], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${root}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
  const field = (name) => Number(new RegExp(`${name}: ([\\d.:]+)`).exec(r.stderr)[1].split(':').reduce((s, x) => s * 60 + Number(x), 0));
  return { wall: field('Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)'), cpu: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'), rss: field('Maximum resident set size \\(kbytes\\)') / 1024 };
}

const runs = { A: [], B: [] };
run(sides.A); // warm the page cache and both builds' module files
run(sides.B);
for (let i = 0; i < ROUNDS; i++) {
  for (const s of i % 2 ? ['B', 'A'] : ['A', 'B']) {
    const m = run(sides[s]);
    runs[s].push(m);
    console.error(`round ${i + 1} ${s}: ${m.wall.toFixed(2)} s wall, ${m.cpu.toFixed(2)} s CPU, ${m.rss.toFixed(0)} MB`);
  }
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
const med = (s, k) => median(runs[s].map((m) => m[k]));
console.log(`# resize-local ${folder} ${ARGS.join(' ')}; ${ROUNDS} rounds alternated, medians\n# A = ${a} ${process.env.ENV_A ?? ''}\n# B = ${b} ${process.env.ENV_B ?? ''}`);
console.log('| | wall s | CPU s | peak RSS MB |\n|---|--:|--:|--:|');
for (const s of ['A', 'B']) console.log(`| ${s} | ${med(s, 'wall').toFixed(2)} | ${med(s, 'cpu').toFixed(2)} | ${med(s, 'rss').toFixed(0)} |`);
console.log(`| B ÷ A | ${(med('B', 'wall') / med('A', 'wall')).toFixed(3)} | ${(med('B', 'cpu') / med('A', 'cpu')).toFixed(3)} | ${(med('B', 'rss') / med('A', 'rss')).toFixed(3)} |`);
