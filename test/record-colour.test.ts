// The record's colour is the one a person would call the photo's: as light as the photo looks,
// in its hue. sharp's `stats().dominant` (the fullest of 4096 coarse bins) let shadows win:
// #080808 for a black-and-white facade that is mid-grey to the eye, and for sunny leaves in shade.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { photoColour } from '../src/core/colour.js';
import { doneRecord } from '../src/core/record.js';
import { resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { corpusFile } from './helpers/images.js';

const PHOTOS = ['test/fixtures/corpus', 'examples/photos'].flatMap((d) => readdirSync(path.join(import.meta.dirname, '..', d)).filter((f) => f.endsWith('.jpg')));
const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
const luma = ([r, g, b]: number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

async function pixels(input: Buffer | string) {
  return (await sharp(input).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true })).data;
}

/** The colour the record of this photo gets, through the resize as the Lambda runs it. */
async function recordColour(bytes: Buffer): Promise<string> {
  const { source, outputs } = await resizeImage(bytes, DEFAULT_SPEC);
  return (await doneRecord({ key: 'uploads/x/photo.jpg', sha256: 'x', bytes: bytes.length, source, outputs, spec: DEFAULT_SPEC })).color;
}

describe("a photo's colour", () => {
  it('of one colour is that colour: the round trip through Lab is exact to a unit', () => {
    const solid = (c: number[]) => Uint8Array.from({ length: 16 * 4 }, (_, i) => (i % 4 === 3 ? 255 : c[i % 4]));
    for (const c of ['#000000', '#ffffff', '#c81e5a', '#0c8c3c']) expect(photoColour(solid(rgb(c)))).toBe(c);
  });

  it.each(PHOTOS)('%s: as light as the photo looks (within 12 % of its mean luma)', async (name) => {
    const file = corpusFile(name);
    const colour = await recordColour(await sharp(file).resize(1200).jpeg().toBuffer());
    expect(colour).toMatch(/^#[0-9a-f]{6}$/);
    const means = (await sharp(file).stats()).channels.map((c) => c.mean);
    const grey = luma(means.length >= 3 ? means.slice(0, 3) : [means[0], means[0], means[0]]); // the photo's mean luma
    expect(Math.abs(luma(rgb(colour)) - grey), `${colour} against a mean luma of ${grey.toFixed(0)}`).toBeLessThan(0.12 * 255);
  });

  it('sunny leaves with 40 % of the frame in deep shadow: a green, not black', async () => {
    const w = 200;
    const shade = Buffer.alloc(w * 80 * 3, 6);
    const light = Buffer.alloc(w * 120 * 3);
    for (let i = 0; i < light.length; i += 3) [light[i], light[i + 1], light[i + 2]] = [80 + (i % 40), 150 + (i % 60), 40 + (i % 30)];
    const photo = await sharp(Buffer.concat([shade, light]), { raw: { width: w, height: 200, channels: 3 } }).png().toBuffer();
    const [r, g, b] = rgb(await recordColour(await sharp(photo).resize(1200).jpeg().toBuffer()));
    expect(g).toBeGreaterThan(Math.max(r, b));
    expect(luma([r, g, b])).toBeGreaterThan(60);
  });

  it('is what the record says, from the smallest variant', async () => {
    const bytes = await sharp(corpusFile('plasma-Grey.jpg')).toBuffer();
    const { source, outputs } = await resizeImage(bytes, DEFAULT_SPEC);
    const rec = await doneRecord({ key: 'uploads/x/grey.jpg', sha256: 'x', bytes: bytes.length, source, outputs, spec: DEFAULT_SPEC });
    const smallest = outputs.reduce((a, o) => (o.width < a.width ? o : a));
    expect(rec.color).toBe(photoColour(await pixels(smallest.data)));
    expect(luma(rgb(rec.color))).toBeGreaterThan(80); // mid-grey, not #080808
  });
});
