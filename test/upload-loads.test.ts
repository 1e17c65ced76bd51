// What an upload loads: `upload --local` to a running stack sends pre-signed requests and needs
// neither the AWS SDK's S3 client (about 0.3 s of loading, before any PUT) nor the local stack's
// own server code; `--wait` reads S3 and loads the client then. Every module each run loads is
// logged by a preload (helpers/module-log.mjs).
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec, widthVariants } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import { adoptVia, writeNoiseJpegs } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const PRELOAD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers/module-log.mjs');

describe('what upload loads', () => {
  let stack: TestStack;
  let cwd: string;

  beforeAll(async () => {
    stack = await startTestStack({ spec: parseSpec({ variants: widthVariants([64], 'jpeg', 70) }) });
    cwd = await tempDir('imgpipe-loads-');
    await adoptVia(stack, cwd, stack.apiUrl);
    await writeNoiseJpegs(path.join(cwd, 'photos'), 3);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  async function loaded(...args: string[]): Promise<string[]> {
    const log = path.join(cwd, `modules-${args.join('_').replace(/\W/g, '')}.txt`);
    await rm(log, { force: true });
    const r = await runCli(['upload', 'photos', '--local', '--json', ...args], { cwd, env: { NODE_OPTIONS: `--import=${PRELOAD}`, IMGPIPE_MODULE_LOG: log } });
    expect(r.code, r.stderr).toBe(0);
    return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  }
  const sdk = (mods: string[]) => mods.filter((m) => m.includes('/@aws-sdk/client-s3/'));
  const ours = (mods: string[], file: string) => mods.filter((m) => m.endsWith(`/dist/src/${file}`));

  it('an upload without --wait loads no S3 client and no local stack; it still loads what it uses', async () => {
    const mods = await loaded();
    expect(ours(mods, 'jobs/upload.js')).toHaveLength(1); // the log holds what ran
    expect(mods.filter((m) => m.includes('/node_modules/sharp/')).length).toBeGreaterThan(0);
    expect(sdk(mods)).toEqual([]);
    expect(ours(mods, 'local/stack.js')).toEqual([]);
    expect(ours(mods, 'jobs/watch.js')).toEqual([]);
  }, 60_000);

  it('--wait loads the S3 client, to read the records', async () => {
    const mods = await loaded('--wait');
    expect(sdk(mods).length).toBeGreaterThan(0);
    expect(ours(mods, 'jobs/watch.js')).toHaveLength(1);
    expect(ours(mods, 'local/stack.js')).toEqual([]);
  }, 60_000);
});
