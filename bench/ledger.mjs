#!/usr/bin/env node
// bench/ledger.mjs — the upload ledger (.imgpipe/ledger.jsonl) at 100,000 entries: time to
// append them (in batches, as a run does), the file's size, time to load it, time per lookup.
// usage: node bench/ledger.mjs   env: LEDGER_ENTRIES (100000)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { Ledger } = await import(path.join(ROOT, 'dist/src/files/ledger.js'));
const N = Number(process.env.LEDGER_ENTRIES ?? 100_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-ledger-bench-'));
const file = path.join(dir, 'ledger.jsonl');
const pipeline = 'local:/home/me/project/.imgpipe/data';
const entry = (i) => ({
  pipeline,
  path: `/home/me/photos/2026/trip-${i % 97}/IMG_${String(i).padStart(6, '0')}.jpg`,
  size: 3_000_000 + i,
  mtimeMs: 1_780_000_000_000 + i * 1000.25,
  sha256: Buffer.alloc(32, i % 251).toString('base64'),
  contentType: 'image/jpeg',
  key: `uploads/${'a'.repeat(52)}/IMG_${String(i).padStart(6, '0')}.jpg`,
  at: new Date(1_780_000_000_000 + i).toISOString(),
});

let ledger = await Ledger.open(file);
let t = performance.now();
for (let i = 0; i < N; i += 100) await ledger.append(Array.from({ length: Math.min(100, N - i) }, (_, j) => entry(i + j)));
const appendMs = performance.now() - t;
const bytes = fs.statSync(file).size;

const rss0 = process.memoryUsage().rss;
t = performance.now();
ledger = await Ledger.open(file);
const loadMs = performance.now() - t;
const rss = process.memoryUsage().rss - rss0;

t = performance.now();
let hits = 0;
for (let i = 0; i < N; i++) if (ledger.lookup(pipeline, entry(i).path)) hits++;
const lookupUs = ((performance.now() - t) * 1000) / N;

console.log(`ledger at ${N} entries: append ${(appendMs / 1000).toFixed(2)} s (${((appendMs * 1000) / N).toFixed(1)} µs/entry, batches of 100), ` +
  `file ${(bytes / 1e6).toFixed(1)} MB (${Math.round(bytes / N)} B/entry), load ${loadMs.toFixed(0)} ms (+${(rss / 2 ** 20).toFixed(0)} MiB RSS), ` +
  `lookup ${lookupUs.toFixed(2)} µs (${hits}/${N} found)`);
fs.rmSync(dir, { recursive: true, force: true });
