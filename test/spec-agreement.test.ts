// One variant spec end to end: `upload --wait` waits for what the pipeline makes. A spec the user
// asked for that the running pipeline does not make is refused before anything is sent; with no
// spec of their own, the pipeline's is used.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC, specHash } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

describe('the spec the pipeline runs', () => {
  let dev: DevProcess;
  let cwd: string;

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-spec-');
    await mkdir(path.join(cwd, 'photos'));
    await copyFile(img.corpusFile('plasma-Grey.jpg'), path.join(cwd, 'photos', 'grey.jpg'));
    dev = await startDev(cwd);
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it('GET /spec says which spec the pipeline runs', async () => {
    const res = await fetch(`${dev.state.apiUrl}/spec`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      specHash: specHash(DEFAULT_SPEC),
      spec: JSON.parse(JSON.stringify(DEFAULT_SPEC)),
      limits: { maxFileBytes: 256 * 1024 * 1024, maxFiles: 100, allowedTypes: ['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/gif', 'image/tiff', 'image/heic'] },
    });
  });

  it('upload --widths 400 against a 320/1024/2048 pipeline fails at once naming both, and sends nothing', async () => {
    const started = Date.now();
    const r = await runCli(['upload', 'photos', '--local', '--widths', '400', '--wait'], { cwd });
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000); // not the 300 s wait
    expect(r.stderr).toMatch(/the pipeline makes 320 \(320 jpeg q80\), 1024 \(1024 jpeg q80\), 2048 \(2048 jpeg q80\), but you asked for 400 \(400 jpeg q80\)/);
    expect(await dev.list(dev.state.sourceBucket)).toEqual([]);
  });

  it('with no spec of its own, upload --wait takes the pipeline\'s', async () => {
    const other = await img.tempDir('imgpipe-spec400-');
    await mkdir(path.join(other, 'photos'));
    await copyFile(img.corpusFile('plasma-Grey.jpg'), path.join(other, 'photos', 'grey.jpg'));
    const dev400 = await startDev(other, { args: ['--widths', '400'] });
    try {
      const r = await runCli(['upload', 'photos', '--local', '--wait', '--json', '--timeout', '60'], { cwd: other });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.wait).toMatchObject({ ok: true, expected: 1, found: 1 });
      expect(doc.wait.records[0].variants.map((v: { name: string; width: number }) => [v.name, v.width])).toEqual([['400', 400]]);
    } finally {
      await dev400.stop();
    }
  });
});
