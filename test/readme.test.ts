// README's main command, run as written (with `npx imgpipe` resolved to this checkout's bin, run as
// a command as npx runs it) in a fresh folder holding only the example photos: what a new user
// sees is what we test.
import { cp, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { runCommand } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';

const ROOT = path.resolve(__dirname, '..');

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

describe('README quick start', () => {
  it('runs the main command on the embedded stack and leaves resized files on disk', async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const block = readme.split('## Quick start')[1].split('```sh')[1].split('```')[0];
    const lines = block.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('npm install && npm test');
    const main = lines[0].replace(/^npm install && /, '');
    expect(main).toMatch(/^npx imgpipe upload examples\/photos --local --wait --download \.\/resized$/);

    const cwd = await tempDir('imgpipe-readme-');
    await cp(path.join(ROOT, 'examples'), path.join(cwd, 'examples'), { recursive: true });
    const r = await runCommand(main.replace(/^npx imgpipe /, '').split(' '), { cwd });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The bin's first line set it (the test's environment does not have it): one malloc arena.
    expect(r.environ.MALLOC_ARENA_MAX).toBe('1');
    expect(r.stdout).toMatch(/4 uploaded, 0 already there, 0 failed of 4 files/);
    expect(r.stdout).toMatch(/12\/12 variants present in imgpipe-dest .*; 12 downloaded to \.\/resized/);

    // Run again, as a user would: the stack started for each run gets a new API port, and the
    // files must still be recognised as uploaded.
    const again = await runCommand(main.replace(/^npx imgpipe /, '').split(' '), { cwd });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 uploaded, 4 already there, 0 failed of 4 files/);

    const files = (await walk(path.join(cwd, 'resized'))).map((f) => path.relative(path.join(cwd, 'resized'), f)).filter((f) => f !== 'index.json').sort();
    expect(files).toHaveLength(12);
    // Each photo's variants under its own name: resized/<width>/<name>.jpg
    const photos = (await readdir(path.join(cwd, 'examples/photos'))).filter((f) => f.endsWith('.jpg')).sort();
    expect(files).toEqual(['1024', '2048', '320'].flatMap((w) => photos.map((p) => path.join(w, p))).sort());
    const index = JSON.parse(await readFile(path.join(cwd, 'resized', 'index.json'), 'utf8'));
    expect(index.files.map((f: { file: string }) => f.file).sort()).toEqual(photos);
    for (const f of files) {
      const [variant] = f.split(path.sep);
      const m = await sharp(path.join(cwd, 'resized', f)).metadata();
      expect(m.format).toBe('jpeg');
      expect(m.width).toBe(Number(variant));
    }
  });
});
