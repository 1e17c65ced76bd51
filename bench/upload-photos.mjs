#!/usr/bin/env node
// bench/upload-photos.mjs — the upload benchmark's input set: N distinct real photos of about
// 1 MiB each, re-encoded with sharp from the photo corpus, made once and cached.
//
// Only corpus photos with enough detail to weigh ~1 MiB at their own resolution and JPEG q <= 95
// are used (no upscaling: the pipeline then resizes real photo pixels, not blown-up ones). Each
// output is a random crop (55-97 % of the area, aspect 3:2, 4:3, 16:9, 1:1 or portrait, grown
// when needed), then scaled down and/or re-encoded at a quality between 80 and 95 until its size
// is within ±3 % of its own target, drawn between 0.95 and 1.05 MiB, with a small EXIF block.
// A fixed seed makes the set reproducible; different crops (never the whole photo) and the
// file's number in the EXIF description make every file's pixels and bytes distinct.
//
// usage: node bench/upload-photos.mjs [OUT_DIR] [COUNT]     (or import { ensurePhotos })
// default OUT_DIR: node_modules/.cache/imgpipe-bench/photos-1mib-<COUNT>
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;
const VERSION = 2; // bump when the recipe changes: cached sets of another version are rebuilt

export const defaultPhotoDir = (count) => path.join(ROOT, 'node_modules/.cache/imgpipe-bench', `photos-1mib-${count}`);

// mulberry32: small, seeded, good enough to pick crops.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// A crop never takes the whole photo, so two files from one photo never have the same pixels.
const MAX_AREA = 0.97;
const ASPECTS = [3 / 2, 4 / 3, 16 / 9, 1, 2 / 3, 3 / 4];

/** The set's files (sorted) when the cache is complete and of this recipe, else undefined. */
function cached(dir, count) {
  try {
    const meta = JSON.parse(fs.readFileSync(`${dir}.json`, 'utf8'));
    if (meta.version !== VERSION || meta.count !== count) return undefined;
    const all = fs.readdirSync(dir);
    const files = all.filter((f) => f.endsWith('.jpg')).sort();
    return files.length === count && all.length === count ? { files: files.map((f) => path.join(dir, f)), meta } : undefined;
  } catch {
    return undefined;
  }
}

export async function ensurePhotos({ corpus, dir, count = 500, log = (s) => console.error(s) }) {
  dir ??= defaultPhotoDir(count);
  const hit = cached(dir, count);
  if (hit) return { dir, ...hit, made: false };

  const names = fs.readdirSync(corpus).filter((f) => /\.jpe?g$/i.test(f)).sort();
  // Decode each corpus photo once; keep the ones that reach ~1 MiB at q95 without upscaling.
  const sources = [];
  for (const f of names) {
    const file = path.join(corpus, f);
    const { data, info } = await sharp(file).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const full = await sharp(data, { raw: info }).jpeg({ quality: 95 }).toBuffer();
    if (full.length >= 1.1 * MIB) sources.push({ name: f, data, info });
  }
  if (!sources.length) throw new Error(`no photo in ${corpus} is detailed enough for ~1 MiB files`);
  log(`# making ${count} photos of ~1 MiB in ${dir} from ${sources.length} corpus photos (${sources.map((s) => s.name).join(', ')}); once, then cached`);

  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const t0 = Date.now();
  let next = 0;
  let done = 0;
  const stats = [];

  async function makeOne(i) {
    const r = rng(0x1a2b3c + i * 7919);
    const src = sources[i % sources.length];
    const { width: W, height: H } = src.info;
    const target = MIB * (0.95 + 0.1 * r());
    // Crop: random aspect and area, random place (kept as fractions so the crop can grow).
    let aspect = ASPECTS[Math.floor(r() * ASPECTS.length)];
    const fx = r(), fy = r();
    const crop = (area) => {
      let cw = Math.round(Math.sqrt(area * W * H * aspect));
      let ch = Math.round(cw / aspect);
      if (cw > W) { cw = W; ch = Math.round(W / aspect); }
      if (ch > H) { ch = H; cw = Math.round(H * aspect); }
      return { left: Math.floor(fx * (W - cw + 1)), top: Math.floor(fy * (H - ch + 1)), width: cw, height: ch };
    };
    let area = 0.55 + 0.45 * r();
    let quality = 80 + Math.floor(r() * 11); // 80..90 to start
    let scale = 1;
    let best;
    for (let round = 0; round < 10; round++) {
      const c = crop(area);
      const w = Math.max(64, Math.round(c.width * scale));
      let p = sharp(src.data, { raw: src.info }).extract(c);
      if (w < c.width) p = p.resize({ width: w });
      // EXIF like a camera's (and a name in it, so every file's bytes differ whatever happens).
      const exif = { IFD0: { ImageDescription: `imgpipe upload bench photo ${i}`, Software: 'imgpipe bench/upload-photos.mjs' } };
      const buf = await p.withExif(exif).jpeg({ quality, chromaSubsampling: '4:2:0' }).toBuffer();
      if (!best || Math.abs(buf.length - target) < Math.abs(best.buf.length - target)) best = { buf, quality, w };
      const err = buf.length / target;
      if (Math.abs(err - 1) <= 0.03) break;
      // Size goes roughly with the pixel count. Too big: fewer pixels. Too small: more pixels
      // (up to the crop's own), then a higher quality (up to 95), then a larger crop,
      // at last of the photo's own aspect.
      if (err > 1) scale *= Math.sqrt(1 / err) * 0.995;
      else if (scale < 1) scale = Math.min(1, scale * Math.sqrt(1 / err));
      else if (quality < 95) quality = Math.min(95, quality + Math.max(1, Math.round((1 / err - 1) * 25)));
      else if (area < MAX_AREA) area = Math.min(MAX_AREA, area / err);
      else if (aspect !== W / H) aspect = W / H; // the crop's aspect cut too much away: the photo's own
      else break; // the whole photo at q95: as close as it gets
    }
    const name = `photo-${String(i).padStart(4, '0')}.jpg`;
    fs.writeFileSync(path.join(tmp, name), best.buf);
    stats.push(best.buf.length);
    if (++done % 50 === 0) log(`#   ${done}/${count} photos (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }

  const workers = Math.max(1, Math.min(4, os.availableParallelism()));
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < count) await makeOne(next++);
  }));
  stats.sort((a, b) => a - b);
  const meta = {
    version: VERSION,
    count,
    corpus,
    sources: sources.map((s) => s.name),
    bytes: stats.reduce((a, b) => a + b, 0),
    minBytes: stats[0],
    maxBytes: stats[stats.length - 1],
    medianBytes: stats[Math.floor(stats.length / 2)],
  };
  // The folder holds the photos only (every tool uploads all of it); the recipe sits beside it.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(tmp, dir);
  fs.writeFileSync(`${dir}.json`, `${JSON.stringify(meta, null, 2)}\n`);
  log(`# made ${count} photos in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${(meta.bytes / MIB).toFixed(1)} MiB, ` +
    `${(meta.minBytes / MIB).toFixed(2)}..${(meta.maxBytes / MIB).toFixed(2)} MiB each`);
  return { dir, ...cached(dir, count), made: true };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[3] ?? 500);
  const corpus = process.env.CORPUS ?? path.resolve(ROOT, '../shared/corpus');
  const out = process.argv[2] ? path.resolve(process.argv[2]) : undefined;
  const set = await ensurePhotos({ corpus, dir: out, count });
  console.log(JSON.stringify({ dir: set.dir, files: set.files.length, ...set.meta }));
}
