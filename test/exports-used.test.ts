// Every exported name has an importer that is not a test (scripts/check-exports.mjs), the way
// test/code-size.test.ts holds the size bars.
import { describe, expect, it } from 'vitest';
import { plantTree, runScript } from './helpers/repo-scripts.js';

const checkExports = (args: string[] = []) => runScript('check-exports.mjs', args);

/** `path name` of each reported export (the line number left out: it moves with every edit). */
const reported = (output: string) =>
  output
    .split('\n')
    .map((line) => /^(\S+):\d+ {2}(\S+)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);

describe('check-exports', () => {
  it('every export of the repository has an importer that is not a test', async () => {
    const { code, output } = await checkExports();
    expect(output).toMatch(/check-exports: \d+ files, \d+ scripts; every export has an importer — OK/);
    expect(reported(output), `exported, and only tests import them:\n${output}`).toEqual([]);
    expect(code, output).toBe(0);
  });

  it('reports what only tests or nothing import, counts every kind of importer and entry point, and exits 1', async () => {
    const dir = await plantTree('imgpipe-check-exports-', {
      'src/core/a.ts': [
        'export const used = 1;',
        'export const onlyTested = 2;',
        'export const onlyHere = 3;',
        'export const viaNamespace = 4;',
        'export function f(o: Options): Result { return { n: o.n + onlyHere }; }',
        'export interface Options { n: number }',
        'type Result = { n: number; more?: Deeper };',
        'export interface Deeper { d: number }',
        'export interface Orphan { o: number }',
        'export default function byDefault() {}',
        '',
      ].join('\n'),
      'src/core/b.ts': "export const b1 = 1;\nexport const b2 = 2;\nexport type B = number;\nexport const b3 = 3;\n",
      // Re-exports: used ones pass their names on; an unused one is itself reported.
      'src/core/forward.ts': "export { b1 } from './b.js';\nexport * from './c.js';\nimport { b3 } from './b.js';\nexport { b3 as renamed };\n",
      'src/core/c.ts': 'export const c1 = 1;\nexport const c2 = 2;\n',
      'src/ns.ts': "import * as all from './core/ns-target.js';\nexport const n = all;\n",
      'src/core/ns-target.ts': 'export const everything = 1;\nexport const also = 2;\n',
      'src/cli/main.ts': [
        "import byDefault, { used, f } from '../core/a.js';",
        "import { b1, c1 } from '../core/forward.js';",
        "import type { B } from '../core/b.js';",
        "import { n } from '../ns.js';",
        "export type Wide = import('../core/b.js').B;",
        'export async function main() {',
        "  const { lazy } = await import('../lazy.js');",
        "  const [{ first }, { second }] = await Promise.all([import('../first.js'), import('../second.js')]);",
        '  return [byDefault, used, f, b1, c1, n, lazy, first, second] as unknown as B;',
        '}',
        '',
      ].join('\n'),
      'src/lazy.ts': 'export const lazy = 1;\nexport const notTaken = 2;\n',
      'src/first.ts': 'export const first = 1;\n',
      'src/second.ts': 'export const second = 1;\nexport const alsoInSecond = 2;\n',
      // Entry points: a Lambda's handler, a package's public face, what bin/ and bench/ import.
      'lambda/fn.ts': 'export async function handler() {}\nexport function helperOfFn() {}\n',
      'packages/pkg/package.json': '{"name": "@x/pkg"}',
      'packages/pkg/src/index.ts': "export { inner } from './inner.js';\nexport * from './star.js';\n",
      'packages/pkg/src/inner.ts': 'export const inner = 1;\nexport const notPublic = 2;\n',
      'packages/pkg/src/star.ts': 'export const starred = 1;\n',
      // The specifier split in two so that test/dependencies.test.ts does not take it for one of ours.
      'src/uses-pkg.ts': `import { inner } from '@x${'/'}pkg';\nexport const p = inner;\n`,
      'bin/x.js': "const { main } = await import('../dist/src/cli/main.js');\nawait main();\n",
      'bench/y.mjs': "import path from 'node:path';\nconst { viaBench } = await import(path.join(ROOT, 'dist/src/benched.js'));\n",
      'src/benched.ts': 'export const viaBench = 1;\n',
      // The root package's `exports` are its public face: all of src/sub.ts counts as used.
      'package.json': '{"name": "rootpkg", "exports": {"./sub": "./dist/src/sub.js"}}',
      'examples/e.mjs': `import { viaExports } from 'rootpkg${'/'}sub';\nconsole.log(viaExports);\n`,
      'src/sub.ts': 'export const viaExports = 1;\nexport const notViaExports = 2;\n',
      // Tests are no importers; nor are files outside the scan.
      'test/a.test.ts': "import { onlyTested, viaNamespace, b2 } from '../src/core/a.js';\nimport { Orphan } from '../src/core/a.js';\n",
      'src/dist/skipped.ts': 'export const neverScanned = 1;\n',
    });

    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(1);
    expect(reported(output).sort(), output).toEqual(
      [
        'lambda/fn.ts helperOfFn',
        'packages/pkg/src/inner.ts notPublic',
        'src/cli/main.ts Wide',
        'src/core/a.ts Orphan',
        'src/core/a.ts onlyHere',
        'src/core/a.ts onlyTested',
        'src/core/a.ts viaNamespace',
        'src/core/b.ts b2',
        'src/core/c.ts c2',
        'src/core/forward.ts renamed',
        'src/lazy.ts notTaken',
        'src/second.ts alsoInSecond',
        'src/uses-pkg.ts p',
      ].sort(),
    );
    expect(output).toMatch(/17 files, 3 scripts; 13 export\(s\) nothing but a test imports/);
  });

  it('passes a tree where every export is imported', async () => {
    const dir = await plantTree('imgpipe-check-exports-', {
      'src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/b.ts': 'export const b = 1;\n',
      'lambda/h.ts': "import { a } from '../src/a.js';\nexport const handler = () => a;\n",
    });
    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/3 files, 0 scripts; every export has an importer — OK/);
  });

  it('refuses a root with nothing to scan', async () => {
    const dir = await plantTree('imgpipe-check-exports-', {});
    const { code, output } = await checkExports(['--root', dir]);
    expect(code, output).toBe(2);
  });
});
