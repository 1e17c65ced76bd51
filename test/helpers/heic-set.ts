// The mixed set of issue 18: a JPEG, a small HEIC, a large HEIC, a PNG, a still larger HEIC, a
// corrupt HEIC and a small HEIC again, made here from the corpus (HEICs by Debian's heif-enc: the
// caller checks it is there with `have(TOOLS.heifEnc, …)`). Decoding two of these HEICs at once
// in one process grew libheif's wasm memory under the other's feet.
import { execFileSync } from 'node:child_process';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import { failureKey, outputKey, recordKey, variantPath } from '../../src/core/keys.js';
import type { Spec } from '../../src/core/spec.js';
import { corpusFile } from './images.js';

export interface SetImage {
  /** File name, also the tail of its S3 key. */
  name: string;
  file: string;
  format: 'jpeg' | 'png' | 'heic';
  /** Pixel size of what was encoded, as sharp reads the encoder's input (not the product's decoder). */
  width: number;
  height: number;
  /** The truncated HEIC: it must fail, and only it. */
  corrupt?: boolean;
}

/** A JPEG `width` wide of a corpus photo, written for heif-enc; its size as sharp reads it. */
async function scaled(photo: string, width: number, file: string) {
  const info = await sharp(corpusFile(photo)).resize(width).jpeg({ quality: 90 }).toFile(file);
  return { width: info.width, height: info.height };
}

/** heif-enc at x265's fastest preset: seconds, not tens of seconds, on a loaded 2-core machine. */
async function heic(dir: string, name: string, photo: string, width: number): Promise<SetImage> {
  const src = path.join(dir, `${name}.src.jpg`);
  const size = await scaled(photo, width, src);
  const file = path.join(dir, name);
  execFileSync('heif-enc', ['-p', 'preset=ultrafast', '-q', '60', src, '-o', file], { stdio: 'ignore' });
  return { name, file, format: 'heic', ...size };
}

/** The seven files, in the order, written into `dir`. */
export async function makeMixedSet(dir: string): Promise<SetImage[]> {
  const jpegFile = path.join(dir, 'garden.jpg');
  await copyFile(corpusFile('mate-Garden.jpg'), jpegFile);
  const jpeg = await sharp(jpegFile).metadata();
  const pngFile = path.join(dir, 'kite.png');
  const png = await sharp(corpusFile('plasma-Kite.jpg')).resize(1200).png().toFile(pngFile);
  const small = await heic(dir, 'small.heic', 'mate-Aqua.jpg', 1400);
  const corrupt = path.join(dir, 'corrupt.heic');
  const whole = await readFile(small.file);
  await writeFile(corrupt, whole.subarray(0, Math.floor(whole.length * 0.7)));
  return [
    { name: 'garden.jpg', file: jpegFile, format: 'jpeg', width: jpeg.width!, height: jpeg.height! },
    small,
    await heic(dir, 'large.heic', 'lomiri16-Wine_by_Jakkub_Mede.jpg', 2600),
    { name: 'kite.png', file: pngFile, format: 'png', width: png.width, height: png.height },
    await heic(dir, 'larger.heic', 'lomiri16-Bridge_by_Sander_Klootwijk.jpg', 3400),
    { name: 'corrupt.heic', file: corrupt, format: 'heic', width: small.width, height: small.height, corrupt: true },
    await heic(dir, 'small-again.heic', 'plasma-Grey.jpg', 1000),
  ];
}

/** One more HEIC, decoded after the set: the process is still healthy. */
export const makeAfterHeic = (dir: string) => heic(dir, 'after.heic', 'plasma-DarkestHour.jpg', 1800);

/**
 * `bytes` is the variant `v` of `image`: the spec's format, its width (never upscaled) and the
 * height of the source's aspect ratio (±1 for rounding), all read back with sharp.
 */
export async function expectVariant(bytes: Buffer, image: SetImage, v: Spec['variants'][number]): Promise<void> {
  const meta = await sharp(bytes).metadata();
  const width = Math.min(image.width, v.width!);
  const format = v.format === 'same' ? (image.format === 'heic' ? 'jpeg' : image.format) : v.format;
  expect([image.name, v.name, meta.format, meta.width]).toEqual([image.name, v.name, format, width]);
  expect(Math.abs(meta.height! - (image.height * width) / image.width), `${image.name} ${v.name}: height ${meta.height}`).toBeLessThanOrEqual(1);
}

/** Where each variant of `image` goes, under a source key `prefix + name`. */
export const variantKeys = (prefix: string, image: SetImage, spec: Spec) => spec.variants.map((v) => ({ v, key: outputKey(prefix + image.name, v, spec) }));
/** Where resize-local writes them: the local layout, with no version. */
export const localVariantPaths = (image: SetImage, spec: Spec) => spec.variants.map((v) => ({ v, key: variantPath(image.name, v) }));

/** A destination bucket, read through whatever client the test has. */
export interface Destination {
  list(): Promise<string[]>;
  get(key: string): Promise<Buffer>;
}

/**
 * After `images` were resized under `prefix`: each good one has its done record (source format
 * and size) and every variant, and no failure record; the corrupt HEIC has a failure record
 * that says so, and neither a done record nor a variant.
 */
export async function expectResized(dest: Destination, prefix: string, images: SetImage[], spec: Spec): Promise<void> {
  const keys = await dest.list();
  const json = async (key: string) => JSON.parse((await dest.get(key)).toString());
  for (const image of images) {
    const key = prefix + image.name;
    const variants = variantKeys(prefix, image, spec);
    if (image.corrupt) {
      expect(await json(failureKey(key))).toMatchObject({ status: 'failed', code: 'corrupt', source: { key }, reason: expect.stringMatching(/^corrupt or truncated image: HEIC: /) });
      expect(keys.filter((k) => k === recordKey(key) || variants.some((v) => v.key === k))).toEqual([]);
      continue;
    }
    expect(keys, `${key}: a failure record`).not.toContain(failureKey(key));
    expect(await json(recordKey(key))).toMatchObject({ status: 'done', source: { key, format: image.format, width: image.width, height: image.height } });
    for (const { v, key: k } of variants) await expectVariant(await dest.get(k), image, v);
  }
}
