// No import cycles (scripts/check-cycles.mjs): dependencies point one way.
import { describe, expect, it } from 'vitest';
import { plantTree, runScript } from './helpers/repo-scripts.js';

const checkCycles = (args: string[] = []) => runScript('check-cycles.mjs', args);

const cyclesIn = (output: string) => output.split('\n').filter((line) => line.includes(' -> '));

describe('check-cycles', () => {
  it('the repository has no import cycle', async () => {
    const { code, output } = await checkCycles();
    expect(output).toMatch(/check-cycles: \d+ files, \d+ imports; no cycles — OK/);
    expect(cyclesIn(output), output).toEqual([]);
    expect(code, output).toBe(0);
  });

  it('reports a planted cycle through every kind of import, and exits 1', async () => {
    const dir = await plantTree('imgpipe-check-cycles-', {
      // A value import one way, a type import back.
      'src/a.ts': "import { b } from './b.js';\nexport const a = b + 1;\n",
      'src/b.ts': "import type { A } from './a.js';\nexport const b = 1;\nexport type B = A;\n",
      // Four files, across folders: a re-export, a lazy import of a folder's index,
      // a type's `import('…')`, a side-effect import.
      'src/core/x.ts': "export { y } from '../../lambda/y.js';\n",
      'lambda/y.ts': "export const y = 2;\nexport const load = () => import('./z/index.js');\n",
      'lambda/z/index.ts': "export type T = import('../../src/w.js').W;\n",
      'src/w.ts': "import './core/x.js';\nexport type W = number;\n",
      // Not a cycle: a diamond, packages, a file outside the scan.
      'packages/pkg/src/top.ts': "import { l } from './left.js';\nimport { r } from './right.js';\nimport 'node:fs';\nexport const t = l + r;\n",
      'packages/pkg/src/left.ts': "import { base } from './base.js';\nimport { outside } from '../../../test/outside.js';\nexport const l = base + outside;\n",
      'packages/pkg/src/right.ts': "import { base } from './base.js';\nexport const r = base;\n",
      'packages/pkg/src/base.ts': "import sharp from 'sharp';\nexport const base = typeof sharp;\n",
      'test/outside.ts': "import { t } from '../packages/pkg/src/top.js';\nexport const outside = t;\n",
      // Built and vendored code is not scanned.
      'packages/pkg/dist/d.ts': "import './d.js';\n",
      'src/node_modules/m/m.ts': "import './m.js';\n",
    });

    const { code, output } = await checkCycles(['--root', dir]);
    expect(code, output).toBe(1);
    expect(cyclesIn(output).sort(), output).toEqual([
      'lambda/y.ts -> lambda/z/index.ts -> src/w.ts -> src/core/x.ts -> lambda/y.ts',
      'src/a.ts -> src/b.ts -> src/a.ts',
    ]);
    expect(output).toMatch(/2 cycle\(s\) in 2 tangle\(s\)/);
  });

  it('passes a tree without cycles', async () => {
    const dir = await plantTree('imgpipe-check-cycles-', {
      'src/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
      'src/b.ts': 'export const b = 1;\n',
    });
    const { code, output } = await checkCycles(['--root', dir]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/2 files, 1 imports; no cycles — OK/);
  });

  it('refuses a root with nothing to scan', async () => {
    const dir = await plantTree('imgpipe-check-cycles-', {});
    const { code, output } = await checkCycles(['--root', dir]);
    expect(code, output).toBe(2);
  });
});
