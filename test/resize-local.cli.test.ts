import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
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
    expect(r.stdout).toMatch(/3\/3 files, 9 outputs written to .*; 1 non-image files skipped/);
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
