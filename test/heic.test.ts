// HEIC/HEIF (iPhone photos) in, variants out: real files made here with Debian's heif-enc
// (libheif-examples), decoded by libheif in WebAssembly, resized by the shared engine.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey, outputKey, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { CONTENT_TYPES, sniff } from '../src/core/validate.js';
import { PRESIGN_DEFAULTS } from '../lambda/presign.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';

const hasHeifEnc = have(TOOLS.heifEnc, 'heic.test');

let dir: string;

/** A HEIC of `jpeg`'s pixels (and ICC profile), encoded by heif-enc. */
async function heic(name: string, jpeg: Buffer): Promise<string> {
  const src = path.join(dir, `${name}.jpg`);
  const out = path.join(dir, `${name}.heic`);
  await writeFile(src, jpeg);
  execFileSync('heif-enc', ['-q', '80', src, '-o', out], { stdio: 'ignore' });
  return out;
}

/** 200×100: left half red, right half blue. */
const halves = (quality = 95) =>
  sharp({ create: { width: 200, height: 100, channels: 3, background: '#0000ff' } })
    .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
    .jpeg({ quality });

/**
 * heif-enc has no rotate flag: turn the file's `pixi` property (16 bytes, 3 channels) into an
 * `irot` of the same size in place (angle 1 = 90° anticlockwise), so no offset moves.
 */
function withIrot(file: Buffer): Buffer {
  const b = Buffer.from(file);
  const at = b.indexOf('pixi') - 4;
  expect(b.readUInt32BE(at)).toBe(16);
  b.write('irot', at + 4, 'latin1');
  b.fill(0, at + 8, at + 16);
  b[at + 8] = 1;
  return b;
}

/** Overwrite the `ispe` (image spatial extent) property: a header that lies about its size. */
function withIspe(file: Buffer, width: number, height: number): Buffer {
  const b = Buffer.from(file);
  const at = b.indexOf('ispe') + 8; // after type and version/flags
  b.writeUInt32BE(width, at);
  b.writeUInt32BE(height, at + 4);
  return b;
}

const rgbAt = async (file: string | Buffer, x: number, y: number) => {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
};

describe('HEIC sniffing', () => {
  it('accepts the HEIF brands as image/heic, which presign allows', () => {
    for (const brand of ['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1']) {
      const head = Buffer.concat([Buffer.from([0, 0, 0, 20]), Buffer.from(`ftyp${brand}\0\0\0\0mif1`)]);
      expect(sniff(head)).toEqual({ ok: true, format: 'heic', contentType: 'image/heic' });
    }
    expect(CONTENT_TYPES.heic).toBe('image/heic');
    expect(PRESIGN_DEFAULTS.allowedTypes).toContain('image/heic');
  });
});

describe.skipIf(!hasHeifEnc)('HEIC through resize-local', () => {
  let plain: string;
  beforeAll(async () => {
    dir = await tempDir('imgpipe-heic-');
    plain = await heic('plain', await halves().toBuffer());
  }, 60_000);

  it('resizes a HEIC into JPEG variants of the right size (format "same" gives JPEG)', async () => {
    const out = path.join(dir, 'out-plain');
    const r = await runCli(['resize-local', plain, '--widths', '100,150', '--format', 'same', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const file = doc.inputs[0];
    expect(file.source).toMatchObject({ format: 'heic', width: 200, height: 100 });
    expect(file.outputs.map((o: { format: string; width: number; height: number }) => [o.format, o.width, o.height])).toEqual([
      ['jpeg', 100, 50],
      ['jpeg', 150, 75],
    ]);
    const meta = await sharp(file.outputs[0].path).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 100, 50]);
    expect(await rgbAt(file.outputs[1].path, 10, 37)).toEqual([expect.toSatisfy((v: number) => v > 200), expect.toSatisfy((v: number) => v < 60), expect.toSatisfy((v: number) => v < 60)]);
  });

  it('decodes a 10-bit HEIC (heif-enc from a 16-bit PNG) into 8-bit variants with the right colours', async () => {
    const png = path.join(dir, 'deep.png');
    await halves().toColourspace('rgb16').png().toFile(png);
    const deep = path.join(dir, 'deep.heic');
    execFileSync('heif-enc', ['-b', '10', '-q', '90', png, '-o', deep], { stdio: 'ignore' });
    const out = path.join(dir, 'out-deep');
    const r = await runCli(['resize-local', deep, '--widths', '100', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [output] = JSON.parse(r.stdout).inputs[0].outputs;
    const meta = await sharp(output.path).metadata();
    expect([meta.format, meta.width, meta.height, meta.depth]).toEqual(['jpeg', 100, 50, 'uchar']);
    expect(await rgbAt(output.path, 80, 25)).toEqual([expect.toSatisfy((v: number) => v < 60), expect.toSatisfy((v: number) => v < 60), expect.toSatisfy((v: number) => v > 200)]);
  });

  it('applies the HEIF rotation (irot) once, and does not apply EXIF orientation on top', async () => {
    // The JPEG carries EXIF orientation 6, which heif-enc copies into the HEIC's EXIF: ignored.
    const src = await heic('exif6', await halves().withMetadata({ orientation: 6 }).toBuffer());
    const rotated = path.join(dir, 'rot90.heic');
    await writeFile(rotated, withIrot(await readFile(src)));
    const out = path.join(dir, 'out-rot');
    const r = await runCli(['resize-local', rotated, '--widths', '50', '--format', 'png', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout).inputs[0].outputs[0];
    expect([o.width, o.height]).toEqual([50, 100]);
    // 90° anticlockwise: the blue right half is now on top, the red left half below.
    const [top, bottom] = [await rgbAt(o.path, 25, 10), await rgbAt(o.path, 25, 90)];
    expect(top[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeGreaterThan(200);
  });

  it('keeps the ICC profile (Display P3) in the variants', async () => {
    const p3 = await heic('p3', await sharp({ create: { width: 300, height: 200, channels: 3, background: '#20c040' } }).jpeg().withIccProfile('p3').toBuffer());
    const out = path.join(dir, 'out-p3');
    const r = await runCli(['resize-local', p3, '--widths', '100', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const meta = await sharp(JSON.parse(r.stdout).inputs[0].outputs[0].path).metadata();
    const source = await sharp(path.join(dir, 'p3.jpg')).metadata();
    expect(meta.icc?.equals(source.icc!)).toBe(true);
  });

  it('decodes only the primary image of a multi-image file', async () => {
    const other = path.join(dir, 'tall.jpg');
    await writeFile(other, await sharp({ create: { width: 60, height: 300, channels: 3, background: '#00ff00' } }).jpeg().toBuffer());
    const multi = path.join(dir, 'multi.heic');
    execFileSync('heif-enc', [path.join(dir, 'plain.jpg'), other, '-o', multi], { stdio: 'ignore' });
    const r = await runCli(['resize-local', multi, '--widths', '100', '--out', path.join(dir, 'out-multi'), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).inputs[0].outputs[0]).toMatchObject({ width: 100, height: 50 });
  });

  it('refuses a truncated HEIC with a clear error', async () => {
    const cut = path.join(dir, 'cut.heic');
    const whole = await readFile(plain);
    await writeFile(cut, whole.subarray(0, whole.length - 100));
    const r = await runCli(['resize-local', cut, '--out', path.join(dir, 'out-cut')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error .*cut.heic: corrupt or truncated image: HEIC: the file ends before its image data does$/m);
  });

  it('refuses a header claiming more pixels than --max-pixels, before decoding', async () => {
    // 20000×20000 in the header, 200×100 in the data: decoding would fail on the mismatch, so
    // the pixel-limit reason proves the header was judged first.
    const liar = path.join(dir, 'liar.heic');
    await writeFile(liar, withIspe(await readFile(plain), 20000, 20000));
    const r = await runCli(['resize-local', liar, '--max-pixels', '1000000', '--out', path.join(dir, 'out-liar')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/20000×20000 \(400\.0 MP\), over the 1 MP limit/);
    const small = await runCli(['resize-local', plain, '--max-pixels', '10000', '--out', path.join(dir, 'out-small')]);
    expect(small.stderr).toMatch(/200×100 \(0\.0 MP\), over the 0 MP limit/);
  });
});

describe.skipIf(!hasHeifEnc)('HEIC through the local stack', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack();
    cwd = await tempDir('imgpipe-heic-stack-');
    await stack.adopt(cwd);
    dir ??= await tempDir('imgpipe-heic-');
  }, 60_000);
  afterAll(async () => stack?.stop());

  /** The variant once the resize wrote it; only a hang takes two minutes (a HEIC decode on a loaded machine can take 20 s). */
  async function waitFor(key: string): Promise<Buffer> {
    for (const until = Date.now() + 120_000; Date.now() < until; ) {
      if ((await stack.list(stack.destBucket)).includes(key)) return stack.get(stack.destBucket, key);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${key} never appeared`);
  }

  it('upload stores the HEIC as image/heic and the resize Lambda writes JPEG variants', async () => {
    const photos = path.join(cwd, 'photos');
    await mkdir(photos);
    const file = await heic('upload', await halves(90).toBuffer());
    await writeFile(path.join(photos, 'IMG_0001.HEIC'), await readFile(file));
    const r = await runCli(['upload', photos, '--local', '--json'], { cwd });
    expect(r.code).toBe(0);
    const [sourceKey] = await stack.list(stack.sourceBucket);
    expect(sourceKey).toMatch(/\/IMG_0001\.HEIC$/); // the name as the phone wrote it
    expect((await stack.get(stack.sourceBucket, sourceKey)).equals(await readFile(file))).toBe(true);
    const record = JSON.parse((await waitFor(recordKey(sourceKey))).toString());
    expect(record.status ?? 'done').toBe('done');
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.sourceBucket, Key: sourceKey }));
    expect(head.ContentType).toBe('image/heic');
    for (const v of DEFAULT_SPEC.variants) {
      const meta = await sharp(await stack.get(stack.destBucket, outputKey(sourceKey, v, DEFAULT_SPEC))).metadata();
      expect(meta.format).toBe(v.format === 'same' ? 'jpeg' : v.format);
      expect(meta.width).toBe(Math.min(200, v.width ?? 200));
    }
  }, 180_000);

  it('upload refuses a truncated HEIC before sending it; the Lambda refuses one put straight in the bucket', async () => {
    const photos = path.join(cwd, 'cut');
    await mkdir(photos);
    const whole = await readFile(await heic('cut-source', await halves(70).toBuffer()));
    const cut = path.join(photos, 'cut.heic');
    await writeFile(cut, whole.subarray(0, whole.length - 100));
    const before = await stack.list(stack.sourceBucket);
    const r = await runCli(['upload', photos, '--local'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/truncated HEIC: the file ends inside its "mdat" box/);
    expect(await stack.list(stack.sourceBucket)).toEqual(before);

    const key = 'uploads/direct/cut.heic';
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: key, Body: whole.subarray(0, whole.length - 100), ContentType: 'image/heic' }));
    const failure = JSON.parse((await waitFor(failureKey(key))).toString());
    expect(JSON.stringify(failure)).toMatch(/corrupt or truncated image: HEIC/);
  }, 180_000);
});
