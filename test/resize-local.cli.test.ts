import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe('imgpipe resize-local', () => {
  let input: string;
  let work: string;

  beforeAll(async () => {
    work = await img.tempDir();
    input = path.join(work, 'in');
    await mkdir(path.join(input, 'nested/deeper'), { recursive: true });
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(input, 'aqua.jpg'));
    await copyFile(img.corpusFile('lomiri16-Wine_by_Jakkub_Mede.jpg'), path.join(input, 'nested/deeper/wine photo.jpg'));
    await writeFile(path.join(input, 'nested/rotated.jpg'), await img.rotatedJpeg());
    await writeFile(path.join(input, 'README.txt'), 'not an image, and not named like one');
  });

  it('writes every variant under its output key, relative to the folder given', async () => {
    const out = path.join(work, 'out-ok');
    const r = await runCli(['resize-local', input, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await listFiles(out)).toEqual([
      '1024/aqua.jpg', '1024/nested/deeper/wine photo.jpg', '1024/nested/rotated.jpg',
      '2048/aqua.jpg', '2048/nested/deeper/wine photo.jpg', '2048/nested/rotated.jpg',
      '320/aqua.jpg', '320/nested/deeper/wine photo.jpg', '320/nested/rotated.jpg',
    ]);
    const m = await sharp(path.join(out, '1024/nested/deeper/wine photo.jpg')).metadata();
    expect([m.format, m.width, m.height]).toEqual(['jpeg', 1024, 1535]);
    const rot = await sharp(path.join(out, '320/nested/rotated.jpg')).metadata();
    expect([rot.width, rot.height]).toEqual([100, 200]); // oriented, never upscaled
    expect(r.stdout).toMatch(/3\/3 files, 9 outputs written to .*; 1 non-image file skipped$/m);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const out = path.join(work, 'out-dry');
    const r = await runCli(['resize-local', input, '--out', out, '--dry-run']);
    expect(r.code).toBe(0);
    expect(existsSync(out)).toBe(false);
    expect(r.stdout).toContain('plan aqua.jpg (jpeg 2560×1600) → 320/aqua.jpg 320×200 jpeg, 1024/aqua.jpg 1024×640 jpeg, 2048/aqua.jpg 2048×1280 jpeg');
    expect(r.stdout).toMatch(/9 outputs planned \(dry run, nothing written\)/);
  });

  it('--json gives one document with every input and output', async () => {
    const out = path.join(work, 'out-json');
    const r = await runCli(['resize-local', path.join(input, 'aqua.jpg'), '--out', out, '--json', '--widths', '100,200', '--format', 'webp']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, files: 1, succeeded: 1, failed: 0, outputs: 2 });
    expect(doc.inputs[0].outputs.map((o: { key: string; width: number; height: number; format: string }) => [o.key, o.width, o.height, o.format])).toEqual([
      ['100/aqua.webp', 100, 63, 'webp'],
      ['200/aqua.webp', 200, 125, 'webp'],
    ]);
    expect((await sharp(path.join(out, '200/aqua.webp')).metadata()).format).toBe('webp');
    expect(doc.bytesOut).toBe(doc.inputs[0].outputs.reduce((n: number, o: { bytes: number }) => n + o.bytes, 0));
  });

  it('goes on past broken files, one line each, and exits 1', async () => {
    const bad = path.join(work, 'bad');
    await mkdir(bad, { recursive: true });
    await copyFile(img.corpusFile('mate-Garden.jpg'), path.join(bad, 'good.jpg'));
    await writeFile(path.join(bad, 'truncated.jpg'), img.truncatedJpeg());
    await writeFile(path.join(bad, 'text.jpg'), 'hello world\n');
    await writeFile(path.join(bad, 'empty.png'), Buffer.alloc(0));
    await writeFile(path.join(bad, 'bomb.png'), img.bombPng());
    await symlink(bad, path.join(bad, 'loop')); // a folder linking to itself
    const out = path.join(work, 'out-bad');
    const r = await runCli(['resize-local', bad, '--out', out, '--json']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n').sort();
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^error .*bad\/bomb\.png: image is 50000×50000 \(2500\.0 MP\), over the 100 MP limit/);
    expect(lines[1]).toMatch(/^error .*bad\/empty\.png: empty file \(0 bytes\)$/);
    expect(lines[2]).toMatch(/^error .*bad\/text\.jpg: a text file, not an image$/);
    expect(lines[3]).toMatch(/^error .*bad\/truncated\.jpg: corrupt or truncated image/);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, files: 5, succeeded: 1, failed: 4, outputs: 3 });
    expect(await listFiles(out)).toEqual(['1024/good.jpg', '2048/good.jpg', '320/good.jpg']);
  });

  it('exits 2 on bad usage and names the bad config field', async () => {
    const r1 = await runCli(['resize-local', input, '--concurrency', 'zero']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/--concurrency/);
    const r2 = await runCli(['resize-local']);
    expect(r2.code).toBe(2);
    const cfg = path.join(work, 'bad.json');
    await writeFile(cfg, JSON.stringify({ variants: [{ name: 'x', width: 0 }] }));
    const r3 = await runCli(['resize-local', input, '--config', cfg, '--dry-run']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/bad\.json: variants\[0\]\.width: /);
    const r4 = await runCli(['resize-local', input, '--format', 'bmp']);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/--format: "bmp" is not one of jpeg, webp, avif, png, same/);
  });

  it('reads imgpipe.config.json from the working folder', async () => {
    const dir = path.join(work, 'cfg');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'imgpipe.config.json'), JSON.stringify({ variants: [{ name: 'sq', width: 64, height: 64, fit: 'cover', format: 'png' }] }));
    const r = await runCli(['resize-local', path.join(input, 'aqua.jpg'), '--out', 'o'], { cwd: dir });
    expect(r.code).toBe(0);
    const m = await sharp(path.join(dir, 'o/sq/aqua.png')).metadata();
    expect([m.format, m.width, m.height]).toEqual(['png', 64, 64]);
  });
});

// Outputs are keyed by each file's path relative to the folder given, so A/x.jpg and B/x.jpg both
// plan <out>/320/x.jpg. Such inputs are refused before anything is written; the rest carries on.
describe('imgpipe resize-local: two inputs, one output path', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const WIDTHS = ['320', '1024', '2048'];
  // What the default spec writes for one input, variant by variant: the bytes a correct run leaves.
  const expected = async (file: string) => new Map((await resizeImage(file, DEFAULT_SPEC)).outputs.map((o) => [o.variant, o.data]));
  const clash = (file: string, output: string, others: string[]) =>
    `error ${file}: its output ${output} would overwrite the output of ${others.join(', ')}; ` +
    `${others.length === 1 ? 'neither is' : 'none of them is'} written: resize them in separate runs, each with its own --out, or rename one`;

  let work: string;
  let A: string;
  let B: string;
  beforeAll(async () => {
    work = await img.tempDir();
    A = path.join(work, 'A');
    B = path.join(work, 'B');
    await mkdir(A);
    await mkdir(path.join(B, 'sub'), { recursive: true });
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(A, 'x.jpg')); // 2560×1600
    await copyFile(img.corpusFile('plasma-Kite.jpg'), path.join(B, 'x.jpg')); // a different picture, same name
    await copyFile(img.corpusFile('mate-Wood.jpg'), path.join(A, 'wood.jpg'));
    await copyFile(img.corpusFile('plasma-Grey.jpg'), path.join(B, 'sub/x.jpg')); // key sub/x.jpg: no clash
  });

  it('A/x.jpg and B/x.jpg: both refused, one line each naming the other, the rest written, exit 1', async () => {
    const out = path.join(work, 'out-ab');
    const r = await runCli(['resize-local', A, B, '--out', out, '--json']);
    expect(r.code).toBe(1);
    const ax = path.join(A, 'x.jpg');
    const bx = path.join(B, 'x.jpg');
    expect(r.stderr.split('\n')).toEqual([clash(ax, path.join(out, '320/x.jpg'), [bx]), clash(bx, path.join(out, '320/x.jpg'), [ax]), '']);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, files: 4, succeeded: 2, failed: 2, outputs: 6 });
    expect(doc.errors.map((e: { path: string }) => e.path)).toEqual([ax, bx]);
    const refused = doc.inputs.filter((i: { status: string }) => i.status === 'error');
    expect(refused.map((i: { path: string; outputs: unknown[]; clashesWith: string[] }) => [i.path, i.outputs, i.clashesWith])).toEqual([
      [ax, [], [bx]],
      [bx, [], [ax]],
    ]);
    // On disk: exactly the six outputs counted, nothing of either x.jpg, each the resize of its own input.
    expect(await listFiles(out)).toEqual(WIDTHS.flatMap((w) => [`${w}/sub/x.jpg`, `${w}/wood.jpg`]).sort());
    let bytesOnDisk = 0;
    for (const [input, rel] of [[path.join(A, 'wood.jpg'), 'wood.jpg'], [path.join(B, 'sub/x.jpg'), 'sub/x.jpg']]) {
      const want = await expected(input);
      for (const w of WIDTHS) {
        const got = await readFile(path.join(out, w, rel));
        expect(sha(got), `${w}/${rel}`).toBe(sha(want.get(w)!));
        bytesOnDisk += got.length;
      }
    }
    expect(doc.bytesOut).toBe(bytesOnDisk);
    const wood = await sharp(path.join(out, '1024/wood.jpg')).metadata();
    expect(wood.width).toBe(1024);
  });

  it('the text summary counts what was written', async () => {
    const out = path.join(work, 'out-ab-text');
    const r = await runCli(['resize-local', A, B, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(r.stdout).toMatch(new RegExp(`^2/4 files, 6 outputs written to ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; .*; 2 failed$`, 'm'));
    expect(r.stdout).not.toMatch(/^ok x\.jpg/m);
    expect(await listFiles(out)).toHaveLength(6);
  });

  it('photo.jpg beside photo.jpeg clash as jpeg outputs, not with --format same', async () => {
    const dir = path.join(work, 'jpeg-pair');
    await mkdir(dir);
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(dir, 'photo.jpeg'));
    await copyFile(img.corpusFile('plasma-Kite.jpg'), path.join(dir, 'photo.jpg'));
    const out = path.join(work, 'out-pair');
    const r = await runCli(['resize-local', dir, '--out', out, '--json', '--widths', '100']);
    expect(r.code).toBe(1);
    const [jpeg, jpg] = [path.join(dir, 'photo.jpeg'), path.join(dir, 'photo.jpg')];
    expect(r.stderr).toBe(`${clash(jpeg, path.join(out, '100/photo.jpg'), [jpg])}\n${clash(jpg, path.join(out, '100/photo.jpg'), [jpeg])}\n`);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, files: 2, succeeded: 0, failed: 2, outputs: 0, bytesOut: 0 });
    expect(existsSync(out)).toBe(false);

    const same = await runCli(['resize-local', dir, '--out', out, '--json', '--widths', '100', '--format', 'same']);
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ ok: true, files: 2, succeeded: 2, outputs: 2 });
    expect(await listFiles(out)).toEqual(['100/photo.jpeg', '100/photo.jpg']);
  });

  it('--dry-run reports the same clashes (three-way here) and writes nothing', async () => {
    const C = path.join(work, 'C');
    await mkdir(C);
    await writeFile(path.join(C, 'x.jpg'), await img.rotatedJpeg());
    const out = path.join(work, 'out-dry');
    const r = await runCli(['resize-local', A, B, C, '--out', out, '--json', '--dry-run']);
    expect(r.code).toBe(1);
    const [ax, bx, cx] = [A, B, C].map((d) => path.join(d, 'x.jpg'));
    const at = path.join(out, '320/x.jpg');
    expect(r.stderr.split('\n')).toEqual([clash(ax, at, [bx, cx]), clash(bx, at, [ax, cx]), clash(cx, at, [ax, bx]), '']);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, dryRun: true, files: 5, succeeded: 2, failed: 3, outputs: 6 });
    expect(existsSync(out)).toBe(false);
  });

  it('outputs left by an earlier run are no clash: a re-run overwrites its own outputs', async () => {
    const dir = path.join(work, 'rerun');
    await mkdir(dir);
    const x = path.join(dir, 'x.jpg');
    await copyFile(img.corpusFile('mate-Aqua.jpg'), x);
    const out = path.join(work, 'out-rerun');
    const args = ['resize-local', dir, '--out', out, '--json'];
    const first = await runCli(args);
    expect([first.code, first.stderr]).toEqual([0, '']);
    const again = await runCli(args);
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, files: 1, succeeded: 1, failed: 0, outputs: 3 });
    // The input changes between runs: its outputs are replaced by the new picture's.
    await copyFile(img.corpusFile('plasma-Kite.jpg'), x);
    const changed = await runCli(args);
    expect([changed.code, changed.stderr]).toEqual([0, '']);
    expect(await listFiles(out)).toEqual(WIDTHS.map((w) => `${w}/x.jpg`).sort());
    const want = await expected(x);
    for (const w of WIDTHS) expect(sha(await readFile(path.join(out, w, 'x.jpg'))), w).toBe(sha(want.get(w)!));
  });

  it('a write that fails part-way: the summary counts only the files written', async () => {
    const dir = path.join(work, 'partial');
    await mkdir(dir);
    const x = path.join(dir, 'x.jpg');
    await copyFile(img.corpusFile('mate-Aqua.jpg'), x);
    const out = path.join(work, 'out-partial');
    await mkdir(out);
    await writeFile(path.join(out, '1024'), 'a file where the 1024 folder would go');
    const r = await runCli(['resize-local', dir, '--out', out, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error ${x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*1024.*\\n$`));
    const doc = JSON.parse(r.stdout);
    const written = await readFile(path.join(out, '320/x.jpg'));
    expect(doc).toMatchObject({ ok: false, files: 1, succeeded: 0, failed: 1, outputs: 1, bytesOut: written.length });
    expect(doc.inputs[0].outputs.map((o: { key: string; bytes: number }) => [o.key, o.bytes])).toEqual([['320/x.jpg', written.length]]);
    expect(await listFiles(out)).toEqual(['1024', '320/x.jpg']);
  });
});

describe('imgpipe resize-local start-up', () => {
  // Loading the AWS SDK for verbs that never call AWS cost every resize-local run ~0.6 s of CPU
  // and ~40 MB (bench/README.md, issue 24): the modules a run loads are listed by a loader hook.
  it('loads no AWS SDK module', async () => {
    const work = await img.tempDir();
    const hook = path.join(work, 'hook.mjs');
    const list = path.join(work, 'loaded.txt');
    await writeFile(hook, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`);
    const register = path.join(work, 'register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hook}`).href)});\n`);
    await mkdir(path.join(work, 'in'));
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(work, 'in', 'aqua.jpg'));
    const r = await runCli(['resize-local', path.join(work, 'in'), '--out', path.join(work, 'out')], { env: { NODE_OPTIONS: `--import=${register}` } });
    expect(r.code, r.stderr).toBe(0);
    const loaded = (await readFile(list, 'utf8')).split('\n');
    expect(loaded.some((u) => u.includes('/dist/src/jobs/resize-local.js'))).toBe(true); // the hook saw the run
    expect(loaded.filter((u) => u.includes('/@aws-sdk/'))).toEqual([]);
  });
});
