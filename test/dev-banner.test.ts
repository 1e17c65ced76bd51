// `imgpipe dev`'s banner as a person reads it in a 120-column terminal: no line wraps (replayed
// into xterm's parser, test/helpers/screen.ts), and the commands it gives are the ones their shell
// runs: `imgpipe …` when an imgpipe is on PATH, `npx imgpipe …` when not (npm's own
// node_modules/.bin, which npx puts on PATH for its run only, does not count).
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, collect } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';
import { renderScreen } from './helpers/screen.js';

/** Run `dev` (non-JSON) with this PATH until its banner is out, then Ctrl-C; its stdout. */
async function banner(PATH: string): Promise<string> {
  const cwd = await tempDir('imgpipe-banner-');
  const env = cliEnv({ PATH, XDG_STATE_HOME: await mkdtemp(path.join(os.tmpdir(), 'imgpipe-state-')) });
  const child = spawn(process.execPath, [BIN, 'dev', '--s3-port', '0', '--api-port', '0', '--cdn-port', '0'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stopping = false;
  child.stdout!.on('data', (d) => {
    out += d;
    if (stopping || !/Ctrl-C stops\.\n/.test(out)) return;
    stopping = true;
    child.kill('SIGINT');
  });
  const r = await collect(child);
  expect({ code: r.code, signal: r.signal }, r.stderr + out).toEqual({ code: 0, signal: null });
  return out;
}

/** A folder holding an executable `imgpipe` (the real bin). */
async function binDir(...segments: string[]): Promise<string> {
  const dir = path.join(await tempDir('imgpipe-path-'), ...segments);
  await mkdir(dir, { recursive: true });
  await symlink(BIN, path.join(dir, 'imgpipe'));
  return dir;
}

describe('the dev banner', () => {
  it.each([
    ['no imgpipe on PATH', 'npx imgpipe', async () => path.join(os.tmpdir(), 'no-such-dir')],
    ['imgpipe on PATH', 'imgpipe', () => binDir('bin')],
    ["imgpipe only in a project's node_modules/.bin", 'npx imgpipe', () => binDir('node_modules', '.bin')],
  ] as const)('%s: says `%s`, no line wider than 120 columns', async (_label, cli, dir) => {
    const out = await banner(await dir());
    const screen = await renderScreen(out, 120);
    expect(screen.wrappedLines, out).toEqual([]);
    expect(screen.lines).toContain(`In another terminal: ${cli} upload PHOTOS --local --wait. Ctrl-C stops.`);
    expect(screen.lines).toContain(`  aws-cli      $(${cli} dev --aws-cli) s3 ls s3://imgpipe-dest`);
    expect(screen.lines.filter((l) => /\bimgpipe (upload|dev --aws-cli)/.test(l)).every((l) => (cli === 'imgpipe') === !/npx imgpipe/.test(l))).toBe(true);
  });
});
