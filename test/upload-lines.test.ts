// What `upload --wait` and `watch` say as they end, against the local stack (real S3 server,
// real resize): the wait's bar and its last line count the same thing (images, with their
// variants); -q hides progress, never a result; a re-run whose images the ledger knows resized
// says so; the summary names a manifest only when one was written.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec, widthVariants } from '../src/core/spec.js';
import { BIN, runCli } from './helpers/cli.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { runInPty } from './helpers/pty.js';
import { renderScreen } from './helpers/screen.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_SCRIPT = have(TOOLS.script, 'upload-lines.test');
/** Two variants an image, so a count of images and one of variants differ. */
const SPEC = parseSpec({ variants: widthVariants([64, 32], 'jpeg', 70) });
const FILES = 4;
const lines = (s: string) => s.split('\n').filter(Boolean);
const WAIT_LINE = new RegExp(`^${FILES}/${FILES} images resized: ${2 * FILES}/${2 * FILES} variants present in imgpipe-dest after [\\d.]+ s`);

describe('the lines upload --wait and watch end with', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack({ spec: SPEC });
    cwd = await tempDir('imgpipe-lines-');
    await stack.adopt(cwd);
  });
  afterAll(async () => stack?.stop());

  /** A folder of its own (new noise: never "already there"). */
  const photos = async (name: string) => {
    await writeNoiseJpegs(path.join(cwd, name), FILES);
    return name;
  };

  it.skipIf(!HAS_SCRIPT)('the wait bar counts images, and so does the last line, with the variants beside', async () => {
    const run = runInPty(BIN, ['upload', await photos('bar'), '--local', '--wait'], { cwd, cols: 120, env: { NO_COLOR: '1' } });
    const { code, output } = await run.done;
    expect(code, output).toBe(0);
    // eslint-disable-next-line no-control-regex
    const frames = [...output.matchAll(/\x1b\[1G(waiting for records [^\x1b]*)\x1b\[0K/g)].map((m) => m[1]);
    expect(frames.length, output).toBeGreaterThan(0);
    for (const f of frames) expect(f).toMatch(new RegExp(`\\] \\d{1,3}% \\| \\d/${FILES} images( \\||$)`));
    const screen = await renderScreen(output, 120);
    expect(screen.lines.at(-1)).toMatch(new RegExp(`${WAIT_LINE.source}$`));
  });

  it('-q hides progress, not results: upload -q --download and watch -q --download --html still say where they wrote', async () => {
    const up = await runCli(['upload', await photos('quiet'), '--local', '-q', '--download', 'out'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toBe('');
    expect(lines(up.stdout)).toEqual([
      expect.stringMatching(new RegExp(`^${FILES} uploaded, 0 already there, 0 failed of ${FILES} files; `)),
      expect.stringMatching(new RegExp(`${WAIT_LINE.source}; ${2 * FILES} downloaded to out \\([\\d.]+ KB\\)$`)),
    ]);
    const watch = await runCli(['watch', '--local', '-q', '--download', 'again', '--html', 'batch.html'], { cwd });
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stderr).toBe('');
    expect(lines(watch.stdout)).toEqual([expect.stringMatching(new RegExp(`${WAIT_LINE.source}; ${2 * FILES} downloaded to again `)), 'wrote batch.html']);
  });

  it('the summary names the manifest only when this run wrote it', async () => {
    const written = await runCli(['upload', await photos('named'), '--local', '--manifest', 'named.json'], { cwd });
    expect(written.code, written.stderr).toBe(0);
    expect(lines(written.stdout).at(-1)).toMatch(/; manifest named\.json$/);
    expect(JSON.parse(await readFile(path.join(cwd, 'named.json'), 'utf8')).files).toHaveLength(FILES);

    // Every file refused: no key to record, the last good manifest stays, and the line names none.
    await mkdir(path.join(cwd, 'refused'));
    await writeFile(path.join(cwd, 'refused', 'notes.jpg'), 'shopping list\n');
    const before = await readFile(path.join(cwd, 'named.json'), 'utf8');
    const refused = await runCli(['upload', 'refused', '--local', '--manifest', 'named.json'], { cwd });
    expect(refused.code).toBe(1);
    expect(lines(refused.stdout).at(-1)).toMatch(/^0 uploaded, 0 already there, 1 failed of 1 files; 0 B in [\d.]+ s$/);
    expect(await readFile(path.join(cwd, 'named.json'), 'utf8')).toBe(before);

    // The write fails (its folder is a file): one warning line naming it; the line names none; the uploads stand.
    await writeFile(path.join(cwd, 'a-file'), 'not a folder\n');
    const failed = await runCli(['upload', await photos('unwritable'), '--local', '--manifest', 'a-file/m.json'], { cwd });
    expect(failed.code, failed.stderr).toBe(0);
    expect(lines(failed.stderr)).toEqual([expect.stringMatching(/^warning: could not write the manifest a-file\/m\.json: /)]);
    expect(lines(failed.stdout).at(-1)).toMatch(new RegExp(`^${FILES} uploaded, 0 already there, 0 failed of ${FILES} files; [^;]+$`));
  });

  it('a re-run with --wait says what the ledger knows resized, alone or after the wait of the new files', async () => {
    const dir = await photos('known');
    const first = await runCli(['upload', dir, '--local', '--wait'], { cwd });
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first.stdout).at(-1)).toMatch(WAIT_LINE);
    const again = await runCli(['upload', dir, '--local', '--wait'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(lines(again.stdout).slice(-2)).toEqual([
      expect.stringMatching(new RegExp(`^0 uploaded, ${FILES} already there, 0 failed of ${FILES} files; `)),
      `${FILES}/${FILES} images already resized: ${2 * FILES} variants in imgpipe-dest (the ledger knows; --verify asks)`,
    ]);
    await writeNoiseJpegs(path.join(cwd, dir, 'more'), 2);
    const mixed = await runCli(['upload', dir, '--local', '--wait'], { cwd });
    expect(mixed.code, mixed.stderr).toBe(0);
    expect(lines(mixed.stdout).slice(-2)).toEqual([
      expect.stringMatching(/^2\/2 images resized: 4\/4 variants present in imgpipe-dest after /),
      `and ${FILES} more images already resized: ${2 * FILES} variants in imgpipe-dest (the ledger knows; --verify asks)`,
    ]);
  });
});
