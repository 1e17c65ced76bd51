// `upload` warns, as `resize-local` does, when the pipeline's spec is estimated to take longer per
// image than the resize Lambda's timeout: one stderr line, and a `warnings` entry under --json.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec, widthVariants } from '../src/core/spec.js';
import type { UploadResult } from '../src/jobs/upload.js';
import { runCli } from './helpers/cli.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

// A 2 s timeout stands in for a deployment's own (IMGPIPE_RESIZE_TIMEOUT_S, as in avif.test.ts).
const env = { IMGPIPE_RESIZE_TIMEOUT_S: '2' };
const WARNING = /^warning: this spec's AVIF variants take about [\d.]+ s per 12 MP image here; the resize Lambda's timeout is 2 s$/;
const lines = (s: string) => s.split('\n').filter(Boolean);

describe('upload: a spec too slow for the resize Lambda', () => {
  let avif: TestStack;
  let jpeg: TestStack;
  let root: string;

  beforeAll(async () => {
    // No trigger: the warning is about the spec; nothing needs resizing.
    [avif, jpeg] = await Promise.all([startTestStack({ trigger: false, spec: parseSpec({ variants: widthVariants([4000, 2048], 'avif', 50) }) }), startTestStack({ trigger: false })]);
    root = await img.tempDir('imgpipe-slow-spec-');
    await writeNoiseJpegs(path.join(root, 'photos'), 2);
  });
  afterAll(async () => {
    await Promise.all([avif?.stop(), jpeg?.stop()]);
  });

  async function upload(stack: TestStack, name: string, json: boolean) {
    const cwd = path.join(root, name);
    await mkdir(cwd);
    await stack.adopt(cwd);
    return runCli(['upload', path.join(root, 'photos'), '--local', ...(json ? ['--json'] : [])], { cwd, env });
  }

  it("an AVIF spec with large widths: one warning line on stderr, the upload still runs", async () => {
    const r = await upload(avif, 'avif-plain', false);
    expect(r.code, r.stderr).toBe(0);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(WARNING)]);
    expect(lines(r.stdout).at(-1)).toMatch(/^2 uploaded, 0 already there, 0 failed of 2 files/);
  });

  it('under --json the warning is also in the document', async () => {
    const r = await upload(avif, 'avif-json', true);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as UploadResult;
    expect(doc.warnings).toEqual([expect.stringMatching(WARNING)]);
    expect(lines(r.stderr)).toEqual(doc.warnings);
  });

  it('the default JPEG spec: no warning, an empty list', async () => {
    const plain = await upload(jpeg, 'jpeg-plain', false);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('');
    const json = await upload(jpeg, 'jpeg-json', true);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as UploadResult).warnings).toEqual([]);
    expect(json.stderr).toBe('');
  });
});
