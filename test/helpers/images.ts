// Odd inputs, generated with real sharp (or by hand, byte for byte) inside the tests.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

// Only the photos the repository carries: a test reads the same bytes in a clone in any folder
// (the larger shared corpus beside some checkouts is the benchmarks' alone).
const ROOT = path.resolve(__dirname, '../..');
const CORPUS_DIRS = [path.join(ROOT, 'test/fixtures/corpus'), path.join(ROOT, 'examples/photos')];
export const corpusFile = (name: string): string => {
  const found = CORPUS_DIRS.map((d) => path.join(d, name)).find((p) => existsSync(p));
  if (!found) throw new Error(`test photo ${name} is in none of ${CORPUS_DIRS.join(', ')}`);
  return found;
};

export const tempDir = (prefix = 'imgpipe-test-') => mkdtemp(path.join(tmpdir(), prefix));

/** 200×100: left half red, right half blue, stored with EXIF orientation 6 (display = 90° CW). */
export function rotatedJpeg(): Promise<Buffer> {
  const left = { input: { create: { width: 100, height: 100, channels: 3 as const, background: '#ff0000' } }, left: 0, top: 0 };
  return sharp({ create: { width: 200, height: 100, channels: 3, background: '#0000ff' } })
    .composite([left])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export function cmykJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 300, height: 200, channels: 3, background: '#3080c0' } }).toColourspace('cmyk').jpeg().toBuffer();
}

export function png16(): Promise<Buffer> {
  return sharp({ create: { width: 400, height: 300, channels: 3, background: '#40a060' } }).toColourspace('rgb16').png().toBuffer();
}

/** 400×300 fully transparent PNG with an opaque black square in the middle. */
export function alphaPng(): Promise<Buffer> {
  const square = { input: { create: { width: 100, height: 100, channels: 4 as const, background: { r: 0, g: 0, b: 0, alpha: 1 } } }, left: 150, top: 100 };
  return sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).composite([square]).png().toBuffer();
}

export function onePixel(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).png().toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG of a few bytes whose header claims width × height (a decompression bomb). */
export function bombPng(width = 50000, height = 50000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const { deflateSync } = require('node:zlib') as typeof import('node:zlib');
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

export function truncatedJpeg(): Buffer {
  const whole = readFileSync(corpusFile('mate-Aqua.jpg'));
  return whole.subarray(0, Math.floor(whole.length * 0.6));
}

/** A JPEG carrying EXIF (camera make, GPS-like comment) and an ICC profile. */
export function jpegWithMetadata(): Promise<Buffer> {
  return sharp(corpusFile('plasma-Kite.jpg'))
    .keepIccProfile()
    .withExif({ IFD0: { Make: 'TestCam', Model: 'Secret Model 9', Copyright: 'someone' } })
    .jpeg()
    .toBuffer();
}

/** An animated GIF of `frames` distinct 8×8 frames (a frame bomb when there are thousands). */
export function manyFrameGif(frames: number): Promise<Buffer> {
  const side = 8;
  const raw = Buffer.alloc(side * side * 3 * frames);
  for (let i = 0; i < frames; i++) {
    // A different pixel lit per frame, so the encoder cannot merge frames.
    raw.fill(255, (i * side * side + (i % 64)) * 3, (i * side * side + (i % 64)) * 3 + 3);
    raw[(i * side * side + ((i >> 6) % 64)) * 3 + 1] = 200;
  }
  return sharp(raw, { raw: { width: side, height: side * frames, channels: 3, pageHeight: side } }).gif().toBuffer();
}

export async function multiPageTiff(pages = 3): Promise<Buffer> {
  const frame = (c: string) => sharp({ create: { width: 16, height: 16, channels: 3, background: c } }).png().toBuffer();
  const frames = await Promise.all(['#ff0000', '#00ff00', '#0000ff', '#ffffff'].slice(0, pages).map(frame));
  return sharp(frames, { join: { animated: true } }).tiff().toBuffer();
}

/** A real PNG with one byte of its image data flipped: its IDAT CRC no longer matches. */
export async function badCrcPng(): Promise<Buffer> {
  const png = Buffer.from(await sharp(corpusFile('mate-Aqua.jpg')).resize(200).png().toBuffer());
  const idat = png.indexOf(Buffer.from('IDAT'));
  png[idat + 40] ^= 0xff;
  return png;
}
