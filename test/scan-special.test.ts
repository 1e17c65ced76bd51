// A FIFO or a socket in a walked folder is no file to read (opening a FIFO would block the run):
// it is passed over, but said, in the counts and one line each under -v, never silently.
import { execFileSync } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanPaths, walkSkips, walkSkipsText } from '../src/files/scan.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';

describe('entries that are not regular files', () => {
  let dir: string;
  let socket: net.Server;
  beforeAll(async () => {
    dir = await img.tempDir('imgpipe-special-');
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(dir, 'photo.jpg'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.jpg')]);
    socket = net.createServer();
    await new Promise<void>((resolve) => socket.listen(path.join(dir, 'sock.jpg'), resolve));
  });
  afterAll(() => new Promise<void>((resolve) => socket.close(() => resolve())));

  it('the scan keeps them apart with their kind; the counts and -v lines name them', async () => {
    const scan = await scanPaths([dir]);
    expect(scan.files.map((f) => f.relPath)).toEqual(['photo.jpg']);
    expect(scan.special).toEqual([
      { path: path.join(dir, 'pipe.jpg'), kind: 'FIFO' },
      { path: path.join(dir, 'sock.jpg'), kind: 'socket' },
    ]);
    expect(walkSkipsText(walkSkips(scan))).toBe('skipped 2: 1 FIFO, 1 socket');
    const named = await scanPaths([path.join(dir, 'pipe.jpg')]);
    expect(named.problems).toEqual([{ path: path.join(dir, 'pipe.jpg'), reason: 'not a regular file or folder (a FIFO)' }]);
  });

  it('upload -v names each one it passed over (a dry run: the same walk, nothing sent)', async () => {
    const cwd = await img.tempDir('imgpipe-special-cwd-');
    const r = await runCli(['upload', dir, '--local', '--dry-run', '-v'], { cwd, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('skip '))).toEqual([`skip ${path.join(dir, 'pipe.jpg')}: not a regular file (a FIFO)`, `skip ${path.join(dir, 'sock.jpg')}: not a regular file (a socket)`]);
    expect(r.stdout).toMatch(/^\(dryrun\) 1 to upload .*; skipped 2: 1 FIFO, 1 socket; nothing sent$/m);
  });

  it('resize-local says it passed over them, and does not hang on the FIFO', async () => {
    const out = await img.tempDir('imgpipe-special-out-');
    const r = await runCli(['resize-local', dir, '--out', out], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/1\/1 files, 3 outputs written to .*; 2 not regular files skipped \(FIFO, socket\)/);
  });
});
