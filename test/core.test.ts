import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { outputKey, outputKeyAt, variantPath, outputKeys } from '../src/core/keys.js';
import { intermediateSize, variantGeometry } from '../src/core/plan.js';
import { ImageError, planImage, resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC, parseSpec, SpecError } from '../src/core/spec.js';
import { sniff } from '../src/core/validate.js';
import * as img from './helpers/images.js';

const spec = (variants: object[], extra: object = {}) => parseSpec({ variants, ...extra });

describe('variant spec', () => {
  it('defaults to widths 320, 1024 and 2048, fit inside, JPEG q80, safe globals', () => {
    expect(DEFAULT_SPEC.variants.map((v) => [v.name, v.width, v.fit, v.format, v.quality])).toEqual([
      ['320', 320, 'inside', 'jpeg', 80],
      ['1024', 1024, 'inside', 'jpeg', 80],
      ['2048', 2048, 'inside', 'jpeg', 80],
    ]);
    expect(DEFAULT_SPEC).toMatchObject({ withoutEnlargement: true, autoRotate: true, keepIccProfile: true, maxInputPixels: 100_000_000 });
  });

  it('names the field of a bad config', () => {
    expect(() => parseSpec({ variants: [{ name: 'a', width: 10 }, { name: 'b', width: -5 }] })).toThrow(/variants\[1\]\.width/);
    expect(() => parseSpec({ variants: [{ name: 'a', width: 10, fit: 'stretch' }] })).toThrow(/variants\[0\]\.fit/);
    expect(() => parseSpec({ variants: [{ name: 'a' }] })).toThrow(/needs a width or a height/);
    expect(() => parseSpec({ variants: [{ name: 'a', width: 1 }, { name: 'a', width: 2 }] })).toThrow(/unique/);
    expect(() => parseSpec({ variants: [{ name: 'a', width: 1 }], colour: 'x' })).toThrow(SpecError);
    expect(() => parseSpec({ variants: [{ name: '../x', width: 1 }] })).toThrow(/variants\[0\]\.name/);
  });
});

describe('key naming', () => {
  const s = spec([
    { name: '320', width: 320 },
    { name: 'thumb', width: 100, format: 'webp' },
    { name: 'orig', width: 5000, format: 'same' },
  ]);
  // The version segment of a variant's key.
  const [v320, thumb, orig] = s.variants.map((v) => outputKey('a.jpg', v, s).split('/')[1]);
  it('maps one source key to one key per variant, keeping the path and swapping the extension, under the variant\'s version', () => {
    expect(outputKeys('uploads/2026/11/25/k3x9/a b+c%.jpeg', s)).toEqual([
      { variant: '320', key: `320/${v320}/uploads/2026/11/25/k3x9/a b+c%.jpg` },
      { variant: 'thumb', key: `thumb/${thumb}/uploads/2026/11/25/k3x9/a b+c%.webp` },
      { variant: 'orig', key: `orig/${orig}/uploads/2026/11/25/k3x9/a b+c%.jpeg` },
    ]);
    expect([v320, thumb, orig].every((v) => /^[0-9a-f]{8}$/.test(v))).toBe(true);
  });
  it('a version changes with anything that changes the bytes, and only then', () => {
    const at = (over: object, flags: object = {}) => {
      const t = spec([{ name: '320', width: 320, ...over }]);
      return outputKey('uploads/a.jpg', t.variants[0], { ...t, ...flags });
    };
    const base = at({});
    expect(at({ name: '320' })).toBe(base);
    const changed = [at({ quality: 81 }), at({ width: 321 }), at({ height: 100 }), at({ fit: 'cover' }), at({ format: 'webp' }), at({}, { autoRotate: false }), at({}, { keepIccProfile: false }), at({}, { withoutEnlargement: false })];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
    // maxInputPixels decides whether an image is resized, not what its variants are.
    expect(at({}, { maxInputPixels: 5 })).toBe(base);
  });
  it('handles keys without extension, dotted folders and unicode', () => {
    expect(variantPath('a.b/photo', { name: 'x', format: 'png' })).toBe('x/a.b/photo.png');
    expect(variantPath('.hidden', { name: 'x', format: 'jpeg' })).toBe('x/.hidden.jpg');
    expect(variantPath('ünï/çødé 写真.PNG', { name: 'x', format: 'webp' })).toBe('x/ünï/çødé 写真.webp');
    expect(outputKeyAt('ünï/çødé 写真.PNG', { name: 'x', format: 'webp' }, '0123abcd')).toBe('x/0123abcd/ünï/çødé 写真.webp');
    expect(() => variantPath('', { name: 'x', format: 'jpeg' })).toThrow();
  });
});

describe('geometry', () => {
  const input = { width: 4000, height: 3000 };
  const g = (v: object, noUp = true) => variantGeometry(input, spec([{ name: 'v', ...v }]).variants[0], noUp);
  it('computes every fit', () => {
    expect(g({ width: 1000 })).toMatchObject({ width: 1000, height: 750 });
    expect(g({ height: 300 })).toMatchObject({ width: 400, height: 300 });
    expect(g({ width: 1000, height: 1000, fit: 'inside' })).toMatchObject({ width: 1000, height: 750 });
    expect(g({ width: 1000, height: 1000, fit: 'outside' })).toMatchObject({ width: 1333, height: 1000 });
    expect(g({ width: 1000, height: 1000, fit: 'cover' })).toMatchObject({ width: 1000, height: 1000 });
    expect(g({ width: 1000, height: 1000, fit: 'contain' })).toMatchObject({ width: 1000, height: 1000 });
    expect(g({ width: 1000, height: 1000, fit: 'fill' })).toMatchObject({ width: 1000, height: 1000 });
  });
  it('never upscales unless told to', () => {
    expect(g({ width: 8000 })).toMatchObject({ width: 4000, height: 3000 });
    expect(g({ width: 8000 }, false)).toMatchObject({ width: 8000, height: 6000 });
    expect(g({ width: 5000, height: 1000, fit: 'cover' })).toMatchObject({ width: 4000, height: 1000 });
  });
  it('decodes once at the largest size any variant needs', () => {
    expect(intermediateSize({ width: 4352, height: 2448 }, DEFAULT_SPEC)).toEqual({ width: 2048, height: 1152 });
    expect(intermediateSize({ width: 1000, height: 800 }, DEFAULT_SPEC)).toEqual({ width: 1000, height: 800 });
  });
});

describe('validation by magic bytes', () => {
  it('accepts images by content, whatever they are named', async () => {
    expect(sniff(readFileSync(img.corpusFile('mate-Aqua.jpg')))).toMatchObject({ ok: true, format: 'jpeg', contentType: 'image/jpeg' });
    expect(sniff(await img.onePixel())).toMatchObject({ ok: true, format: 'png' });
    for (const f of ['webp', 'avif', 'gif', 'tiff'] as const) {
      const buf = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).toFormat(f).toBuffer();
      expect(sniff(buf)).toMatchObject({ ok: true, format: f });
    }
  });
  it('refuses the rest with the reason', () => {
    expect(sniff(Buffer.alloc(0))).toEqual({ ok: false, reason: 'empty file (0 bytes)' });
    expect(sniff(Buffer.from('hello, this is text\n'))).toMatchObject({ ok: false, reason: expect.stringMatching(/text file/) });
    expect(sniff(Buffer.from('<!DOCTYPE html><html></html>'))).toMatchObject({ ok: false, reason: expect.stringMatching(/HTML/) });
    expect(sniff(Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'))).toMatchObject({ ok: false, reason: expect.stringMatching(/SVG/) });
    expect(sniff(Buffer.from('%PDF-1.7\n'))).toMatchObject({ ok: false, reason: expect.stringMatching(/PDF/) });
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    expect(sniff(heic)).toEqual({ ok: true, format: 'heic', contentType: 'image/heic' }); // decoded by libheif (WebAssembly)
    expect(sniff(Buffer.from([0, 1, 2, 3, 250, 251]))).toMatchObject({ ok: false, reason: expect.stringMatching(/not a supported image/) });
  });
});

describe('resize engine (real sharp, real bytes)', () => {
  it('resizes a real photo to the three default widths as JPEG, aspect kept', async () => {
    const { source, outputs } = await resizeImage(img.corpusFile('lomiri16-Bridge_by_Sander_Klootwijk.jpg'), DEFAULT_SPEC);
    expect(source).toMatchObject({ format: 'jpeg', width: 4352, height: 2448 });
    expect(outputs.map((o) => [o.variant, o.width, o.height, o.format])).toEqual([
      ['320', 320, 180, 'jpeg'],
      ['1024', 1024, 576, 'jpeg'],
      ['2048', 2048, 1152, 'jpeg'],
    ]);
    for (const o of outputs) {
      const m = await sharp(o.data).metadata();
      expect([m.format, m.width, m.height, o.bytes]).toEqual(['jpeg', o.width, o.height, o.data.length]);
    }
  });

  it('renders exactly what the dry-run plan says, for every fit and format', async () => {
    const s = spec([
      { name: 'c', width: 300, height: 300, fit: 'cover', format: 'webp' },
      { name: 'k', width: 300, height: 100, fit: 'contain', format: 'png' },
      { name: 'o', width: 300, height: 300, fit: 'outside', format: 'avif', quality: 50 },
      { name: 'f', width: 123, height: 45, fit: 'fill' },
      { name: 'h', height: 77, format: 'same' },
    ]);
    const file = img.corpusFile('lomiri16-Wine_by_Jakkub_Mede.jpg');
    const plan = await planImage(file, s);
    const { outputs } = await resizeImage(file, s);
    expect(outputs.map(({ variant, format, width, height }) => ({ variant, format, width, height }))).toEqual(
      plan.outputs.map(({ variant, format, width, height }) => ({ variant, format, width, height })),
    );
    const formats = await Promise.all(outputs.map(async (o) => (await sharp(o.data).metadata()).format));
    expect(formats).toEqual(['webp', 'png', 'heif', 'jpeg', 'jpeg']);
    expect(outputs.map((o) => [o.width, o.height])).toEqual([[300, 300], [300, 100], [300, 450], [123, 45], [51, 77]]);
  });

  it('applies the EXIF orientation', async () => {
    const s = spec([{ name: 'v', width: 50 }]);
    const { source, outputs } = await resizeImage(await img.rotatedJpeg(), s);
    expect(source).toMatchObject({ width: 100, height: 200, orientation: 6 });
    expect([outputs[0].width, outputs[0].height]).toEqual([50, 100]);
    // Orientation 6 turns the stored image 90° clockwise: its red left half ends up on top.
    const { data, info } = await sharp(outputs[0].data).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    expect(at(25, 10)[0]).toBeGreaterThan(200);
    expect(at(25, 10)[2]).toBeLessThan(60);
    expect(at(25, 90)[2]).toBeGreaterThan(200);
    expect((await sharp(outputs[0].data).metadata()).orientation).toBeUndefined();
  });

  it('strips metadata but keeps the colour profile', async () => {
    const input = await img.jpegWithMetadata();
    const inMeta = await sharp(input).metadata();
    expect(inMeta.exif).toBeDefined();
    expect(inMeta.icc).toBeDefined();
    const { outputs } = await resizeImage(input, DEFAULT_SPEC);
    for (const o of outputs) {
      const m = await sharp(o.data).metadata();
      expect(m.exif).toBeUndefined();
      expect(m.xmp).toBeUndefined();
      expect(m.icc?.equals(inMeta.icc!)).toBe(true);
      expect(o.data.includes(Buffer.from('Secret Model 9'))).toBe(false);
    }
  });

  it('turns CMYK into 8-bit sRGB', async () => {
    const input = await img.cmykJpeg();
    expect((await sharp(input).metadata()).space).toBe('cmyk');
    const { outputs } = await resizeImage(input, spec([{ name: 'v', width: 100 }]));
    const m = await sharp(outputs[0].data).metadata();
    expect([m.space, m.channels, m.depth]).toEqual(['srgb', 3, 'uchar']);
  });

  it('turns 16-bit PNG into 8-bit', async () => {
    const input = await img.png16();
    expect((await sharp(input).metadata()).depth).toBe('ushort');
    const { outputs } = await resizeImage(input, spec([{ name: 'v', width: 200, format: 'same' }]));
    const m = await sharp(outputs[0].data).metadata();
    expect([m.format, m.depth, m.width, m.height]).toEqual(['png', 'uchar', 200, 150]);
  });

  it('flattens alpha onto white for JPEG, keeps it for PNG', async () => {
    const input = await img.alphaPng();
    const { outputs } = await resizeImage(input, spec([{ name: 'j', width: 200 }, { name: 'p', width: 200, format: 'png' }]));
    const jpeg = await sharp(outputs[0].data).raw().toBuffer({ resolveWithObject: true });
    expect(jpeg.info.channels).toBe(3);
    expect(Array.from(jpeg.data.subarray(0, 3))).toEqual([255, 255, 255]); // corner was transparent
    const centre = ((75 * 200) + 100) * 3;
    expect(Math.max(...jpeg.data.subarray(centre, centre + 3))).toBeLessThan(20); // the black square
    const png = await sharp(outputs[1].data).metadata();
    expect(png.hasAlpha).toBe(true);
  });

  it('never upscales a 1×1 image', async () => {
    const { outputs } = await resizeImage(await img.onePixel(), DEFAULT_SPEC);
    expect(outputs.map((o) => [o.width, o.height])).toEqual([[1, 1], [1, 1], [1, 1]]);
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const before = process.memoryUsage().rss;
    const err = await resizeImage(img.bombPng(), DEFAULT_SPEC).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.code).toBe('too-large');
    expect(err.message).toMatch(/50000×50000 \(2500\.0 MP\), over the 100 MP limit/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });

  it('fails a truncated JPEG instead of returning a grey image', async () => {
    const err = await resizeImage(img.truncatedJpeg(), DEFAULT_SPEC).catch((e) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/corrupt or truncated/);
  });

  it('refuses non-images and empty input with the reason', async () => {
    await expect(resizeImage(Buffer.from('just some text'), DEFAULT_SPEC)).rejects.toThrow(/text file/);
    await expect(resizeImage(Buffer.alloc(0), DEFAULT_SPEC)).rejects.toThrow(/empty file/);
  });

  it('takes a stream as well as a buffer or a path', async () => {
    const { createReadStream } = await import('node:fs');
    const { outputs } = await resizeImage(createReadStream(img.corpusFile('mate-Aqua.jpg')), DEFAULT_SPEC);
    expect(outputs.map((o) => o.width)).toEqual([320, 1024, 2048]);
  });

  it('gives the first frame of an animated GIF', async () => {
    const frame = (c: string) => sharp({ create: { width: 40, height: 30, channels: 3, background: c } }).png().toBuffer();
    const frames = await Promise.all(['#ff0000', '#00ff00', '#0000ff'].map(frame));
    const animated = await sharp(frames, { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(3);
    const { source, outputs } = await resizeImage(animated, spec([{ name: 'g', width: 20 }]));
    expect(source).toMatchObject({ format: 'gif', pages: 3, width: 40, height: 30 });
    expect(outputs[0]).toMatchObject({ format: 'jpeg', width: 20, height: 15 });
    const { data } = await sharp(outputs[0].data).raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBeGreaterThan(200); // red: the first frame
    expect(data[1]).toBeLessThan(60);
  });
});
