#!/usr/bin/env node
// bench/resize-profile.mjs — where one photo's time goes through the built engine (dist/):
// header read, the one shrink-on-load decode, each resize, each encode, resizeImage as a whole,
// doneRecord (ThumbHash/colour + EXIF), the upload's integrity walk (hash + structure + header),
// and the floor (one shrink-on-load decode plus the encodes). Every stage runs once per round,
// the rounds interleaved (odd rounds in reverse order, so no stage always follows the same heavy
// one), so a busy machine slows all stages alike; medians of wall ms and of process CPU ms
// (libvips' threads and V8's background GC included).
//
// usage: node bench/resize-profile.mjs [PHOTO] [ROUNDS]   (default: the largest ../shared/corpus JPEG, 15)
// env:   VIPS_THREADS (sharp.concurrency, default libvips' own)   WIDTHS (320,1024,2048)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => import(path.join(ROOT, 'dist', p));
const { resizeImage } = await dist('src/core/resize.js');
const { doneRecord } = await dist('src/core/record.js');
const { parseSpec, widthVariants } = await dist('src/core/spec.js');
const { inspectFile } = await dist('src/files/inspect.js');

sharp.cache(false);
if (process.env.VIPS_THREADS) sharp.concurrency(Number(process.env.VIPS_THREADS));

const corpus = path.resolve(ROOT, '../shared/corpus');
const largest = () =>
  fs.readdirSync(corpus).filter((f) => /\.jpe?g$/i.test(f)).map((f) => path.join(corpus, f))
    .map((f) => ({ f, s: fs.statSync(f).size })).sort((a, b) => b.s - a.s)[0].f;
const photo = process.argv[2] ? path.resolve(process.argv[2]) : largest();
const ROUNDS = Number(process.argv[3] ?? 15);
const WIDTHS = (process.env.WIDTHS ?? '320,1024,2048').split(',').map(Number);
const spec = parseSpec({ variants: widthVariants(WIDTHS) });
const bytes = fs.readFileSync(photo);
const meta = await sharp(photo).metadata();

// Fixed inputs for the isolated stages: the intermediate (largest width) and each variant's raw pixels.
const big = Math.max(...WIDTHS);
const decodeTo = (w) => sharp(photo, { failOn: 'warning' }).rotate().resize({ width: w }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
const inter = await decodeTo(big);
const raw = (buf) => sharp(buf.data, { raw: { width: buf.info.width, height: buf.info.height, channels: buf.info.channels } });
const rawOf = {};
for (const w of WIDTHS) rawOf[w] = w === big ? inter : await raw(inter).resize({ width: w }).raw().toBuffer({ resolveWithObject: true });
const sorted = [...WIDTHS].sort((a, b) => b - a);
const rendered = await resizeImage(photo, spec);

const stages = {
  'header (metadata)': () => sharp(photo).metadata(),
  [`decode → ${big} (shrink-on-load)`]: () => decodeTo(big),
  'decode full (no shrink)': () => sharp(photo, { failOn: 'warning' }).rotate().toColourspace('srgb').raw().toBuffer(),
  ...Object.fromEntries(WIDTHS.filter((w) => w !== big).map((w) => [`resize ${big} → ${w}`, () => raw(inter).resize({ width: w }).raw().toBuffer()])),
  ...Object.fromEntries(sorted.slice(1).map((w, i) => [sorted[i] === big ? null : `resize ${sorted[i]} → ${w} (cascade)`, () => raw(rawOf[sorted[i]]).resize({ width: w }).raw().toBuffer()]).filter(([k]) => k)),
  ...Object.fromEntries(WIDTHS.map((w) => [`encode ${w} jpeg q80`, () => raw(rawOf[w]).jpeg({ quality: 80 }).toBuffer()])),
  'resizeImage (all)': () => resizeImage(photo, spec),
  'doneRecord (looks + EXIF)': () => doneRecord({ key: 'k.jpg', sha256: 'x', bytes: bytes.length, source: rendered.source, outputs: rendered.outputs, exif: rendered.exif, spec }),
  'integrity walk (inspectFile)': () => inspectFile(photo, spec),
  'plain sharp (clone per width)': () => {
    const p = sharp(photo).rotate();
    return Promise.all(WIDTHS.map((w) => p.clone().resize({ width: w, withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer()));
  },
  'floor: decode + encodes': async () => {
    const d = await decodeTo(big);
    const encodes = [raw(d).jpeg({ quality: 80 }).toBuffer()];
    for (const w of WIDTHS.filter((x) => x !== big)) encodes.push(raw(d).resize({ width: w }).jpeg({ quality: 80 }).toBuffer());
    return Promise.all(encodes);
  },
};

const names = Object.keys(stages);
const wall = Object.fromEntries(names.map((n) => [n, []]));
const cpu = Object.fromEntries(names.map((n) => [n, []]));
for (const n of names) await stages[n](); // warm
for (let r = 0; r < ROUNDS; r++) {
  for (const n of r % 2 ? [...names].reverse() : names) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await stages[n]();
    wall[n].push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu[n].push((c.user + c.system) / 1000);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (x) => x.toFixed(1).padStart(8);
console.log(`# ${path.basename(photo)} ${meta.width}×${meta.height} (${((meta.width * meta.height) / 1e6).toFixed(1)} MP, ${(bytes.length / 1e6).toFixed(2)} MB); ` +
  `widths ${WIDTHS.join('/')} q80; ${ROUNDS} rounds interleaved, medians; sharp ${sharp.versions.sharp} libvips ${sharp.versions.vips}, ` +
  `vips threads ${sharp.concurrency()}`);
const ref = median(wall['resizeImage (all)']);
console.log(`| stage | wall ms | CPU ms | wall ÷ resizeImage |\n|---|--:|--:|--:|`);
for (const n of names) console.log(`| ${n} | ${ms(median(wall[n]))} | ${ms(median(cpu[n]))} | ${(median(wall[n]) / ref).toFixed(2)} |`);
const floor = median(wall['floor: decode + encodes']);
console.log(`# resizeImage ÷ floor: ${(ref / floor).toFixed(2)} (wall), ${(median(cpu['resizeImage (all)']) / median(cpu['floor: decode + encodes'])).toFixed(2)} (CPU)`);
