// A clone in any folder must pass: no tracked file may name where some checkout happened to sit.
// Two readings: the absolute path of the checkout this runs in (as written, and as the real path),
// and any quoted absolute path that reaches into one of the repository's own top-level folders
// from elsewhere (a quoted path like <another clone>/packages/local-s3/dist/index.js).
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const TOP = ['bench', 'docs', 'examples', 'infra', 'lambda', 'node_modules', 'packages', 'scripts', 'src', 'test', 'web', '.ci', '.imgpipe'];
// A quote, two or more /folders, then one of ours: a path into some checkout (not bin/: /usr/bin).
const FOREIGN = new RegExp(String.raw`['"\`](/[\w.@-]+){2,}/(${TOP.map((t) => t.replace('.', '\\.')).join('|')})/`, 'g');

/** Every `file:line: text` of `files` that names `roots` or a checkout's folder by absolute path. */
export function absolutePaths(files: Map<string, string>, roots: string[]): string[] {
  const found: string[] = [];
  for (const [file, text] of files) {
    text.split('\n').forEach((line, i) => {
      if (roots.some((r) => line.includes(r)) || FOREIGN.test(line)) found.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
      FOREIGN.lastIndex = 0;
    });
  }
  return found;
}

function trackedTextFiles(): Map<string, string> {
  const names = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const files = new Map<string, string>();
  for (const name of names) {
    if (name === 'package-lock.json') continue;
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(ROOT, name));
    } catch {
      continue; // deleted in the work tree
    }
    if (bytes.includes(0)) continue; // binary: images, zips
    files.set(name, bytes.toString('utf8'));
  }
  return files;
}

describe('portable paths', () => {
  it('no tracked file names the absolute path of this checkout, or of any other', () => {
    const files = trackedTextFiles();
    expect(files.size).toBeGreaterThan(100);
    expect(absolutePaths(files, [...new Set([ROOT, realpathSync(ROOT)])])).toEqual([]);
  });

  it('tests, sources and CI read nothing beside the checkout (../shared is not in a clone)', () => {
    const outside = [...trackedTextFiles()]
      .filter(([name]) => /^(test|src|lambda|scripts|packages|\.ci)\//.test(name) && !name.endsWith('.md') && name !== 'test/portable-paths.test.ts')
      .filter(([, text]) => /['"`]\.\.\/shared\b|'\.\.\/\.\.\/shared/.test(text))
      .map(([name]) => name);
    expect(outside).toEqual([]);
  });

  it('finds the path of the checkout it runs in and a path into another checkout', () => {
    const files = new Map([
      ['test/a.test.ts', `const DIST = '${path.join(ROOT, 'packages/local-s3/dist/index.js')}';`],
      ['test/b.test.ts', `import x from '${['', 'home', 'someone', 'imgpipe', 'src', 'core', 'keys.js'].join('/')}';`],
      ['bench/c.mjs', 'const photos = `/home/me/photos/2026/trip-1/IMG_000001.jpg`; // data, not a checkout'],
      ['test/d.test.ts', "const CHROMIUM = '/usr/bin/chromium';"],
    ]);
    expect(absolutePaths(files, [ROOT])).toEqual([expect.stringMatching(/^test\/a\.test\.ts:1: /), expect.stringMatching(/^test\/b\.test\.ts:1: /)]);
  });
});
