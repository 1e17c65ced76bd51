// Nothing skips on a green CI run: a test whose tool is absent skips with one line outside CI and
// fails under CI=true (test/helpers/tools.ts), and .ci/tools exits 1 naming a tool it lacks.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { have, isCi, TOOLS, type Tool } from './helpers/tools.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const absent: Tool = { name: 'no-such-tool', from: 'nowhere', present: () => false };

function ciTools(env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('bash', [path.join(ROOT, '.ci/tools')], { env, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

describe('a missing tool', () => {
  afterEach(() => vi.restoreAllMocks());

  it('skips with one line naming it outside CI', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(have(absent, 'x.test', {})).toBe(false);
    expect(have(absent, 'x.test', { CI: 'false' })).toBe(false);
    expect(log.mock.calls).toEqual([['x.test: skipped, no-such-tool is absent (nowhere)'], ['x.test: skipped, no-such-tool is absent (nowhere)']]);
  });

  it('fails under CI=true, naming it and where it comes from', () => {
    expect(() => have(absent, 'x.test', { CI: 'true' })).toThrow('x.test: needs no-such-tool, from nowhere (missing under CI=true, where nothing may skip)');
    expect(isCi({ CI: '1' })).toBe(true);
    expect(isCi({ CI: '' })).toBe(false);
  });
});

describe('.ci/tools', () => {
  // Only where every tool is here (it would otherwise start an apt-get install).
  const all = Object.values(TOOLS).every((t) => t.present());
  it.skipIf(!all)('prints a version for every tool, and fails when moto_server and cfn-lint are not on PATH', async () => {
    const ok = await ciTools(process.env);
    expect(ok.code, ok.out).toBe(0);
    for (const tool of ['node', 'npm', '/usr/bin/aws', '/usr/bin/chromium', 'heif-enc', '/usr/bin/python3', 'moto_server', 'cfn-lint']) {
      expect(ok.out).toMatch(new RegExp(`^ci: ${tool.replace(/[/.]/g, '\\$&')} +\\S.*\\d`, 'm'));
    }
    // The same PATH without the folders that hold moto_server or cfn-lint.
    const dirs = (process.env.PATH ?? '').split(':').filter((d) => !existsSync(path.join(d, 'moto_server')) && !existsSync(path.join(d, 'cfn-lint')));
    const without = await ciTools({ ...process.env, PATH: dirs.join(':') });
    expect(without.code).toBe(1);
    expect(without.out).toMatch(/^ci: missing moto_server$/m);
    expect(without.out).toMatch(/^ci: missing cfn-lint$/m);
    expect(without.out).toMatch(/a tool the tests need is missing/);
  });
});
