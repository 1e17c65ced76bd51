// Progress of a deployment: ora on a terminal, one line per step otherwise, silence under --json;
// every step recorded for the summary either way.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Steps } from '../src/deploy/steps.js';

function capture(tty: { isTTY: boolean; columns?: number } = { isTTY: false }) {
  // A terminal's cursor calls, as ora uses them; the text is what matters here.
  const cursor = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true };
  const stream = Object.assign(new PassThrough(), tty, tty.isTTY ? cursor : {});
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

describe('deploy-lambda steps', () => {
  it('prints one line per finished or skipped step when there is no terminal, and records each', async () => {
    const out = capture();
    const err = capture();
    const steps = new Steps({ stdout: out.stream, stderr: err.stream });
    expect(await steps.run('Publishing a version', async () => ({ Version: '3' }), (v) => `version ${v.Version}`)).toEqual({ Version: '3' });
    steps.skip('Uploading code', 'unchanged');
    await expect(steps.run('Updating configuration', async () => Promise.reject(new Error('denied')))).rejects.toThrow('denied');
    expect(out.text()).toBe('✓ Publishing a version: version 3\n- Uploading code: unchanged\n');
    expect(err.text()).toBe('');
    expect(steps.records).toEqual([
      { step: 'Publishing a version', status: 'done', detail: 'version 3' },
      { step: 'Uploading code', status: 'skipped', detail: 'unchanged' },
      { step: 'Updating configuration', status: 'failed', detail: 'denied' },
    ]);
  });

  it('under --json prints nothing', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 80 });
    const steps = new Steps({ json: true, stdout: out.stream, stderr: err.stream });
    await steps.run('Looking up function f', async () => undefined);
    steps.skip('Uploading code', 'unchanged');
    expect([out.text(), err.text()]).toEqual(['', '']);
    expect(steps.records).toHaveLength(2);
  });

  it('on a terminal, an ora spinner per step on stderr that ends with the result', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 80 });
    const steps = new Steps({ stdout: out.stream, stderr: err.stream, interactive: true });
    await steps.run('Uploading code (8 MB)', async () => 'ok', () => 'done');
    steps.skip('Updating configuration', 'unchanged');
    expect(out.text()).toBe('');
    expect(err.text()).toMatch(/Uploading code \(8 MB\): done/);
    expect(err.text()).toMatch(/Updating configuration: unchanged/);
  });

  it('a terminal that reports no width gets plain lines (ora would redraw forever)', async () => {
    const out = capture();
    const err = capture({ isTTY: true, columns: 0 });
    const saved = process.env.CI;
    delete process.env.CI;
    try {
      const steps = new Steps({ stdout: out.stream, stderr: err.stream });
      await steps.run('Building', async () => 1);
      expect(out.text()).toBe('✓ Building\n');
    } finally {
      if (saved !== undefined) process.env.CI = saved;
    }
  });
});
