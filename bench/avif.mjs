// AVIF encode cost vs sharp's `effort` (0..9, default 4): each test photo is resized to 2048 px
// wide, then encoded at quality 50 for every effort, one image at a time. Per effort: median
// encode seconds per image, mean KB, mean SSIM against the 2048 px JPEG q95 reference (greyscale,
// computed below: this machine's ImageMagick 6 `compare` has no SSIM metric). A JPEG q80 row gives
// the per-megapixel cost src/core/estimate.ts compares against.
//
//   node bench/avif.mjs                  # test/fixtures/corpus + ../shared/corpus (when present)
//   IMAGES=6 EFFORTS="0 2 4" node bench/avif.mjs
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Mean SSIM of two 8-bit greyscale images of the same size, over 8×8 windows stepped by 4
 * (Wang et al. 2004 constants, uniform window). 1 = identical.
 */
export function ssim(a, b, width, height, win = 8, step = 4) {
  if (a.length !== width * height || b.length !== width * height) throw new Error('ssim: size mismatch');
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const n = win * win;
  let sum = 0;
  let count = 0;
  for (let y = 0; y + win <= height; y += step) {
    for (let x = 0; x + win <= width; x += step) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let j = 0; j < win; j++) {
        let i = (y + j) * width + x;
        for (let k = 0; k < win; k++, i++) {
          const va = a[i];
          const vb = b[i];
          sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb;
        }
      }
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return count ? sum / count : 1;
}

function photos() {
  const dirs = [path.join(root, 'test/fixtures/corpus'), path.join(root, '../shared/corpus')];
  const byName = new Map();
  for (const d of dirs.filter((x) => existsSync(x))) {
    for (const f of readdirSync(d).sort()) if (/\.jpe?g$/i.test(f) && !byName.has(f)) byName.set(f, path.join(d, f));
  }
  const all = [...byName.values()];
  return process.env.IMAGES ? all.slice(0, Number(process.env.IMAGES)) : all;
}

const grey = (buf) => sharp(buf).greyscale().raw().toBuffer({ resolveWithObject: true });
const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

async function timed(pipeline) {
  const t = process.hrtime.bigint();
  const out = await pipeline.toBuffer();
  return { out, s: Number(process.hrtime.bigint() - t) / 1e9 };
}

async function main() {
  const files = photos();
  const efforts = (process.env.EFFORTS ?? '0 1 2 3 4 5 6 7 8 9').split(/\s+/).filter(Boolean).map(Number);
  const rows = new Map(efforts.map((e) => [e, { s: [], kb: [], ssim: [] }]));
  const jpeg = { s: [], kb: [], ssim: [] };
  let mp = 0;
  for (const file of files) {
    const { data, info } = await sharp(file).rotate().resize({ width: 2048 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const raw = () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
    const ref = await grey(await raw().jpeg({ quality: 95 }).toBuffer());
    mp += (info.width * info.height) / 1e6;
    const score = async (buf) => ssim((await grey(buf)).data, ref.data, ref.info.width, ref.info.height);
    const j = await timed(raw().jpeg({ quality: 80 }));
    jpeg.s.push(j.s); jpeg.kb.push(j.out.length / 1024); jpeg.ssim.push(await score(j.out));
    for (const effort of efforts) {
      const r = await timed(raw().avif({ quality: 50, effort }));
      const row = rows.get(effort);
      row.s.push(r.s); row.kb.push(r.out.length / 1024); row.ssim.push(await score(r.out));
    }
    process.stderr.write(`${path.basename(file)} ${info.width}×${info.height}\n`);
  }
  console.log(`${files.length} photos at 2048 px wide (mean ${(mp / files.length).toFixed(2)} MP), sharp ${sharp.versions.sharp}, libvips threads ${sharp.concurrency()}`);
  console.log('| encoder | s/image (median) | KB (mean) | SSIM vs JPEG q95 (mean) |');
  console.log('|---|---|---|---|');
  const line = (name, r) => console.log(`| ${name} | ${median(r.s).toFixed(3)} | ${mean(r.kb).toFixed(0)} | ${mean(r.ssim).toFixed(4)} |`);
  for (const [effort, r] of rows) line(`avif q50 effort ${effort}`, r);
  line('jpeg q80', jpeg);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
