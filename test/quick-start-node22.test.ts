// README's quick start on Node 22, the other Node it promises (this machine's own is 20): the
// bin is started as npx starts it, as a command whose launcher runs the `node` it finds on PATH,
// with a real Node 22 (from npm, test/helpers/node22.ts) first there. The embedded stack, sharp
// and the resize all run in that one Node 22 process.
import { spawn } from 'node:child_process';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';
import { node22 } from './helpers/node22.js';
import { DEFAULT_RESIZE_CONCURRENCY } from '../src/core/pipeline-defaults.js';
import { readmeBlock, ROOT } from './helpers/readme.js';

const NODE22 = await node22('quick-start-node22.test');

/** The CLI as a command, with `env`; no terminal. */
function runBin(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe.skipIf(!NODE22)('README quick start on Node 22', () => {
  let cwd: string | undefined;
  afterAll(async () => {
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  it('uploads the example photos to the embedded stack, waits and downloads every variant', async () => {
    const [first] = await readmeBlock('Quick start');
    const main = first.replace(/^npm install && /, '');
    expect(main).toBe('npx imgpipe upload examples/photos --local --wait --download ./resized');
    cwd = await tempDir('imgpipe-readme-node22-');
    // Every Node process the command starts writes its version down before the CLI loads.
    const probe = path.join(cwd, 'node-version.mjs');
    const versions = path.join(cwd, 'node-versions.txt');
    await writeFile(probe, "import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.IMGPIPE_TEST_VERSIONS, process.version + '\\n');\n");
    const env = cliEnv({ PATH: `${path.dirname(NODE22!)}${path.delimiter}${process.env.PATH}`, NODE_OPTIONS: `--import=${pathToFileURL(probe)}`, IMGPIPE_TEST_VERSIONS: versions });
    await cp(path.join(ROOT, 'examples'), path.join(cwd, 'examples'), { recursive: true });
    const r = await runBin(main.replace(/^npx imgpipe /, '').split(' '), cwd, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Every process was Node 22: the CLI (the launcher's `exec /usr/bin/env … node` found it on PATH)
    // and the resize instances the embedded stack starts with the same binary, at most its concurrency.
    const seen = (await readFile(versions, 'utf8')).split('\n').filter(Boolean);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThanOrEqual(1 + DEFAULT_RESIZE_CONCURRENCY);
    expect(seen).toEqual(seen.map(() => expect.stringMatching(/^v22\./)));
    expect(r.stdout).toMatch(/4 uploaded, 0 already there, 0 failed of 4 files/);
    expect(r.stdout).toMatch(/12\/12 variants present in imgpipe-dest .*; 12 downloaded to \.\/resized/);

    const photos = (await readdir(path.join(cwd, 'examples/photos'))).filter((f) => f.endsWith('.jpg')).sort();
    const index = JSON.parse(await readFile(path.join(cwd, 'resized', 'index.json'), 'utf8'));
    expect(index.files.map((f: { file: string }) => f.file).sort()).toEqual(photos);
    for (const width of [320, 1024, 2048]) {
      expect((await readdir(path.join(cwd, 'resized', String(width)))).sort()).toEqual(photos);
      for (const photo of photos) {
        const m = await sharp(path.join(cwd, 'resized', String(width), photo)).metadata();
        expect([photo, m.format, m.width]).toEqual([photo, 'jpeg', width]);
      }
    }
  }, 180_000);
});
