// `upload --no-progress` where it matters: on a real terminal (a pseudo-terminal from util-linux
// `script`), where without the flag the bar and spinner redraw one line in place. With it: plain
// lines only, one per file, and not one escape sequence or carriage return (NO_COLOR: no colours).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { runInPty } from './helpers/pty.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_SCRIPT = have(TOOLS.script, 'no-progress-tty.test');
const FILES = 5;
const SUMMARY = new RegExp(`^${FILES} uploaded, 0 already there, 0 failed of ${FILES} files; .*; manifest \\.imgpipe/last-upload\\.json$`);

describe.skipIf(!HAS_SCRIPT)('upload --no-progress on a real terminal', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    cwd = await tempDir('imgpipe-no-progress-');
    await stack.adopt(cwd);
  });
  afterAll(async () => stack?.stop());

  /** Upload a folder of its own (new noise, so never "already there") in a 100-column pty. */
  async function upload(folder: string, flags: string[]): Promise<{ code: number | null; output: string }> {
    await writeNoiseJpegs(path.join(cwd, folder), FILES);
    const run = runInPty(BIN, ['upload', folder, '--local', ...flags], { cwd, cols: 100, env: { NO_COLOR: '1' }, timeoutMs: 120_000 });
    return run.done;
  }

  it('without the flag the terminal gets the bar, redrawn in place', async () => {
    const { code, output } = await upload('with-bar', []);
    expect(code, output).toBe(0);
    // The bar's frame as cli-progress draws it: to column 1, the line, clear to its right.
    expect(output).toMatch(/\x1b\[1Guploading \[[█░]+\] \d{1,3}%[^\x1b]*\x1b\[0K/);
    expect(output).toContain('\x1b[?25l'); // the cursor hidden while it draws
    // The bar stands for the per-file lines.
    expect(output).not.toMatch(/^ok /m);
  });

  it('with --no-progress: plain lines, one per file, then the summary; no escape, no carriage return', async () => {
    const { code, output } = await upload('plain', ['--no-progress']);
    expect(code, output).toBe(0);
    // The terminal turns each \n into \r\n (onlcr); any other \r would be a redraw.
    const text = output.replace(/\r\n/g, '\n');
    expect(JSON.stringify(text)).not.toMatch(/\\r|\\u001b/);
    expect(text).not.toMatch(/[█░]|uploading \[/);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^imgpipe: uploading to /);
    const ok = lines.slice(1, -1);
    expect(ok).toHaveLength(FILES);
    for (const l of ok) expect(l).toMatch(/^ok img-00\d\.jpg → uploads\/\S+\/img-00\d\.jpg$/);
    expect(lines.at(-1)).toMatch(SUMMARY);
  });
});
