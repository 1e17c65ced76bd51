// AVIF: the encoder's effort, the per-image time estimate and resize-local's timeout warning.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs bench script, no types
import { ssim } from '../bench/avif.mjs';
import { estimateSeconds, timeoutWarning } from '../src/core/estimate.js';
import { AVIF_EFFORT, resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC, parseSpec, widthVariants } from '../src/core/spec.js';
import { FUNCTION_DEFAULTS } from '../src/core/pipeline-defaults.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';

const avifSpec = (widths: number[]) => parseSpec({ variants: widthVariants(widths, 'avif', 50) });

describe('bench ssim', () => {
  it('is 1 for identical images and lower for a distorted one', () => {
    const w = 32, h = 24;
    const a = Uint8Array.from({ length: w * h }, (_, i) => (i * 7) % 256);
    const b = a.map((v, i) => (i % 3 === 0 ? 255 - v : v));
    expect(ssim(a, a, w, h)).toBeCloseTo(1, 6);
    expect(ssim(a, b, w, h)).toBeLessThan(0.9);
    expect(() => ssim(a, b.subarray(1), w, h)).toThrow(/size/);
  });
});

describe('estimateSeconds', () => {
  it('is small for the default JPEG spec and large for a full-size AVIF spec', () => {
    const jpeg = estimateSeconds(DEFAULT_SPEC, AVIF_EFFORT);
    expect(jpeg.seconds).toBeLessThan(1);
    expect(jpeg.avifSeconds).toBe(0);
    const big = estimateSeconds(avifSpec([4000, 2048, 1024]), AVIF_EFFORT);
    expect(big.seconds).toBeGreaterThan(2);
    expect(big.avifSeconds).toBeGreaterThan(big.seconds / 2);
    // Sharp's default effort would be about five times slower (bench/README.md).
    expect(estimateSeconds(avifSpec([4000, 2048, 1024]), 4).seconds).toBeGreaterThan(big.seconds * 3);
    expect(timeoutWarning(jpeg, FUNCTION_DEFAULTS.resize.timeout)).toBeUndefined();
    expect(timeoutWarning(big, 1)).toMatch(/^warning: this spec's AVIF variants take about \d+(\.\d)? s per 12 MP image here; the resize Lambda's timeout is 1 s$/);
  });
});

describe('AVIF output', () => {
  it('still decodes: HEIF container, AV1 compression', async () => {
    const { outputs } = await resizeImage(img.corpusFile('mate-Aqua.jpg'), avifSpec([320]));
    expect(outputs[0].format).toBe('avif');
    const meta = await sharp(outputs[0].data).metadata();
    expect(meta.format).toBe('heif');
    expect(meta.compression).toBe('av1');
    expect(meta.width).toBe(320);
  });

  it("is encoded at effort 3: byte for byte sharp's own effort-3 encode of the same pixels, not effort 4's", async () => {
    // A 320 px wide PNG with no profile: the 320 variant is its pixels as they are, so sharp
    // encoding them directly at a given effort is an oracle the resize engine cannot steer.
    const input = await sharp(img.corpusFile('mate-Aqua.jpg')).resize(320).png().toBuffer();
    const { data, info } = await sharp(input).raw().toBuffer({ resolveWithObject: true });
    const raw = { raw: { width: info.width, height: info.height, channels: info.channels } };
    const atEffort = (effort: number) => sharp(data, raw).avif({ quality: 50, effort }).toBuffer();
    const [three, four] = [await atEffort(3), await atEffort(4)];
    expect(three.equals(four), 'efforts 3 and 4 must differ for this test to say anything').toBe(false);
    const { outputs } = await resizeImage(input, avifSpec([320]));
    expect(outputs[0].width).toBe(info.width);
    expect(outputs[0].data.equals(three), `${outputs[0].data.length} bytes; effort 3 gives ${three.length}, effort 4 ${four.length}`).toBe(true);
  });
});

describe('resize-local timeout warning', () => {
  let input: string;
  beforeAll(async () => {
    const work = await img.tempDir();
    input = path.join(work, 'in');
    await mkdir(input);
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(input, 'aqua.jpg'));
  });

  it('warns once on stderr for an AVIF spec over an injected timeout, dry run or not', async () => {
    const env = { IMGPIPE_RESIZE_TIMEOUT_S: '2' };
    const dry = await runCli(['resize-local', input, '--dry-run', '--widths', '4000,2048', '--format', 'avif'], { env });
    expect(dry.code).toBe(0);
    const lines = dry.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/AVIF variants take about [\d.]+ s per 12 MP image here; the resize Lambda's timeout is 2 s/);
    const out = path.join(path.dirname(input), 'out');
    const real = await runCli(['resize-local', input, '--out', out, '--widths', '320', '--format', 'avif'], { env: { IMGPIPE_RESIZE_TIMEOUT_S: '0.01' } });
    expect(real.code).toBe(0);
    expect(real.stderr).toMatch(/^warning: .*timeout is 0\.01 s\n$/);
    // Scripts get it in the document too, as from upload --json.
    const json = await runCli(['resize-local', input, '--dry-run', '--json', '--widths', '4000,2048', '--format', 'avif'], { env });
    expect(JSON.parse(json.stdout).warnings).toEqual([lines[0].replace(/^warning: /, '')].map((w) => expect.stringContaining(w)));
  });

  it('says nothing for the default JPEG spec, even with the injected timeout', async () => {
    const r = await runCli(['resize-local', input, '--dry-run'], { env: { IMGPIPE_RESIZE_TIMEOUT_S: '2' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const json = await runCli(['resize-local', input, '--dry-run', '--json'], { env: { IMGPIPE_RESIZE_TIMEOUT_S: '2' } });
    expect(JSON.parse(json.stdout).warnings).toEqual([]);
  });
});
