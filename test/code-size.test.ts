// The code-size bars (scripts/check-size.mjs): no file over 400 lines, no function over 80.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { plantTree, runScript } from './helpers/repo-scripts.js';

const checkSize = (args: string[] = []) => runScript('check-size.mjs', args);

/** A function declaration spanning exactly `lines` lines. */
function functionOf(name: string, lines: number): string {
  const body = ['  let x = 0;', ...Array.from({ length: lines - 4 }, () => '  x += 1;'), '  return x;'];
  return [`export function ${name}(): number {`, ...body, '}'].join('\n') + '\n';
}

describe('check-size', () => {
  it('the repository is within the bars', async () => {
    const { code, output } = await checkSize(['--top', '5']);
    expect(code, `scripts/check-size.mjs failed:\n${output}`).toBe(0);
  });

  it('reports a 401-line file and an 81-line function, and exits 1', async () => {
    const dir = await plantTree('imgpipe-check-size-', {});
    await mkdir(path.join(dir, 'src/deep'), { recursive: true });
    await mkdir(path.join(dir, 'packages/pkg/src'), { recursive: true });
    await mkdir(path.join(dir, 'packages/pkg/dist'), { recursive: true });
    await mkdir(path.join(dir, 'src/node_modules/dep'), { recursive: true });

    await writeFile(path.join(dir, 'src/big.ts'), Array.from({ length: 401 }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n');
    await writeFile(path.join(dir, 'src/deep/long.ts'), '// one too long\n' + functionOf('tooLong', 81));
    // At the bars exactly: not reported.
    await writeFile(path.join(dir, 'packages/pkg/src/edge.ts'), functionOf('justFits', 80) + '// pad\n'.repeat(400 - 80));
    // Not source: skipped, however long.
    await writeFile(path.join(dir, 'src/types.d.ts'), Array.from({ length: 500 }, (_, i) => `declare const d${i}: number;`).join('\n'));
    await writeFile(path.join(dir, 'packages/pkg/dist/out.ts'), functionOf('built', 200));
    await writeFile(path.join(dir, 'src/node_modules/dep/index.ts'), functionOf('vendored', 200));

    const { code, output } = await checkSize(['--root', dir, '--top', '2']);
    expect(code, output).toBe(1);
    const [report, top] = output.split('longest 2 function(s):');
    expect(report).toMatch(/^src\/big\.ts:1\s+\(file\)\s+401 lines$/m);
    expect(report).toMatch(/^src\/deep\/long\.ts:2\s+tooLong\s+81 lines$/m);
    expect(report).toMatch(/3 files, 2 functions scanned; 1 file\(s\) over 400 lines, 1 function\(s\) over 80 lines/);
    expect(output).not.toMatch(/types\.d\.ts|built|vendored/);
    expect(report).not.toMatch(/justFits|edge\.ts/);
    // --top lists the longest functions, violations or not.
    expect(top, output).toBeDefined();
    expect(top.split('\n').slice(1, 3)).toEqual([
      expect.stringMatching(/^src\/deep\/long\.ts:2\s+tooLong\s+81 lines$/),
      expect.stringMatching(/^packages\/pkg\/src\/edge\.ts:1\s+justFits\s+80 lines$/),
    ]);
  });

  it('refuses a root with nothing to scan', async () => {
    const dir = await plantTree('imgpipe-check-size-', {});
    const { code, output } = await checkSize(['--root', dir]);
    expect(code, output).toBe(2);
  });
});
