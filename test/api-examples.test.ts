// The public entry points' examples (examples/api/), run as a user runs them: `node FILE`, the
// package's own names (`imgpipe/upload`, `@imgpipe/local-s3`) resolved through package.json's
// `exports`. Each example's output is checked against what it did: keys, counts, dimensions.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { cliEnv, collect, type CliResult } from './helpers/cli.js';

const ROOT = path.resolve(__dirname, '..');
const PHOTOS = path.join(ROOT, 'examples/photos');
const KEY = /uploads\/[a-z2-7]{52}\/[^/\s]+/;

function runExample(name: string): Promise<CliResult> {
  return collect(spawn(process.execPath, [path.join(ROOT, 'examples/api', name)], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
}

const lines = (s: string) => s.trim().split('\n');

describe('examples/api', () => {
  it('local-s3.mjs: startLocalS3 serves the AWS SDK: put, list, read back', async () => {
    const r = await runExample('local-s3.mjs');
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stdout)).toEqual(['listed notes/hello.txt (9 bytes)', 'read back: hello, S3']);
  });

  it('upload.mjs: runUpload sends every photo of examples/photos to the local stack, which resizes each', async () => {
    // The folder's photos are its JPEGs (beside them, ATTRIBUTION.md, which the upload skips).
    const photos = (await readdir(PHOTOS)).filter((name) => name.endsWith('.jpg')).sort();
    const r = await runExample('upload.mjs');
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out.slice(0, photos.length)).toEqual(photos.map((p) => expect.stringMatching(new RegExp(`^uploaded ${p.replace(/\./g, '\\.')} → ${KEY.source}$`))));
    expect(out.slice(photos.length)).toEqual([`${photos.length} uploaded, 0 already there, 0 failed`, `${photos.length * DEFAULT_SPEC.variants.length} variants in imgpipe-dest`]);
  });

  it('lambdas.mjs: the presign handler grants a PUT, the resize handler makes every variant of the spec', async () => {
    const { width, height } = await sharp(path.join(PHOTOS, 'mate-Aqua.jpg')).metadata();
    const r = await runExample('lambdas.mjs');
    expect(r.code, r.stderr).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(new RegExp(`^presigned ${KEY.source} \\(HTTP 200\\)$`));
    expect(out[1]).toBe('PUT 200');
    const variants = out.slice(2, -1).map((l) => /^(\S+) (\d+)x(\d+) (\d+) bytes → (\S+)$/.exec(l)!);
    expect(variants.map((m) => m[1])).toEqual(DEFAULT_SPEC.variants.map((v) => v.name));
    for (const m of variants) expect(Math.abs(Number(m[3]) - (Number(m[2]) * height!) / width!)).toBeLessThanOrEqual(1); // the photo's aspect
    expect(out.at(-1)).toBe('resize: ok');
  });
});
