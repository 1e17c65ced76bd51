// Two checkouts on one machine, each with its own running `imgpipe dev`: `upload --local` in each
// uses its own; another folder's stack only when named (--local=PATH or --local=URL), and the run
// says whose it is; with only the other one running, a run starts its own and names the other.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

describe('upload --local with two checkouts, each running `imgpipe dev`', () => {
  let a: { dir: string; dev: DevProcess };
  let b: { dir: string; dev: DevProcess };
  let env: NodeJS.ProcessEnv;

  const checkout = async (name: string, photo: string) => {
    const dir = await img.tempDir(`imgpipe-checkout-${name}-`);
    await copyFile(img.corpusFile(photo), path.join(dir, `${name}.jpg`));
    return { dir, dev: await startDev(dir, { env }) };
  };
  const keysOf = async (c: { dev: DevProcess }) => c.dev.list(c.dev.state.sourceBucket);
  const upload = (cwd: string, ...args: string[]) => runCli(['upload', ...args], { cwd, env, timeoutMs: 60_000 });
  const uploadedTo = (c: { dir: string; dev: DevProcess }, whose: string) =>
    `imgpipe: uploading to local stack of ${whose} (\`imgpipe dev\`, pid ${c.dev.state.pid}) at ${c.dev.state.apiUrl} (data in ${path.join(c.dir, '.imgpipe/data')})\n`;

  beforeAll(async () => {
    // One user: both `dev`s and every run share one state directory (and one home, cliEnv's).
    env = { XDG_STATE_HOME: await img.tempDir('imgpipe-state-two-') };
    a = await checkout('a', 'mate-Aqua.jpg');
    b = await checkout('b', 'plasma-Grey.jpg');
  });
  afterAll(async () => {
    await a?.dev.stop();
    await b?.dev.stop();
  });

  it('each checkout uploads to its own stack, and says it is this folder’s', async () => {
    const fromA = await upload(a.dir, 'a.jpg', '--local');
    expect(fromA.stderr).toBe('');
    expect(fromA.code).toBe(0);
    expect(fromA.stdout).toContain(uploadedTo(a, 'this folder'));
    // A bare --local never takes the next word as a stack: here it is the path to upload.
    const fromB = await upload(b.dir, '--local', 'b.jpg');
    expect(fromB.stderr).toBe('');
    expect(fromB.code).toBe(0);
    expect(fromB.stdout).toContain(uploadedTo(b, 'this folder'));
    expect((await keysOf(a)).filter((k) => k.endsWith('/a.jpg'))).toHaveLength(1);
    expect((await keysOf(a)).some((k) => k.endsWith('/b.jpg'))).toBe(false);
    expect((await keysOf(b)).filter((k) => k.endsWith('/b.jpg'))).toHaveLength(1);
    expect((await keysOf(b)).some((k) => k.endsWith('/a.jpg'))).toBe(false);
  });

  it('a folder below a checkout uses that checkout’s stack, naming the folder it runs in', async () => {
    const sub = path.join(a.dir, 'albums', '2026');
    await mkdir(sub, { recursive: true });
    await copyFile(img.corpusFile('mate-Wood.jpg'), path.join(sub, 'sub.jpg'));
    const r = await upload(sub, 'sub.jpg', '--local');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(uploadedTo(a, a.dir));
    expect((await keysOf(a)).some((k) => k.endsWith('/sub.jpg'))).toBe(true);
    expect((await keysOf(b)).some((k) => k.endsWith('/sub.jpg'))).toBe(false);
  });

  it('--local=PATH and --local=URL select the other checkout’s stack and say whose it is', async () => {
    await copyFile(img.corpusFile('mate-Wood.jpg'), path.join(a.dir, 'to-b.jpg'));
    const byPath = await upload(a.dir, 'to-b.jpg', `--local=${path.relative(a.dir, b.dir)}`);
    expect(byPath.stderr).toBe('');
    expect(byPath.code).toBe(0);
    expect(byPath.stdout).toContain(uploadedTo(b, b.dir));
    expect((await keysOf(b)).some((k) => k.endsWith('/to-b.jpg'))).toBe(true);
    expect((await keysOf(a)).some((k) => k.endsWith('/to-b.jpg'))).toBe(false);

    // Its page URL as `dev` printed it, with localhost for 127.0.0.1; and its S3 endpoint.
    const page = `${b.dev.state.apiUrl.replace('127.0.0.1', 'localhost')}/`;
    const byUrl = await upload(a.dir, 'to-b.jpg', `--local=${page}`, '--json');
    expect(byUrl.stderr).toBe('');
    expect(byUrl.code).toBe(0);
    expect(JSON.parse(byUrl.stdout)).toMatchObject({ ok: true, uploaded: 0, exists: 1 }); // already in B's bucket
    const byS3 = await upload(a.dir, 'to-b.jpg', `--local=${b.dev.state.s3Endpoint}`);
    expect(byS3.stdout).toContain(uploadedTo(b, b.dir));
    expect(byS3.code).toBe(0);
  });

  it('--local=PATH where no `dev` runs: one line, exit 2, nothing uploaded', async () => {
    const nowhere = await img.tempDir('imgpipe-no-dev-');
    const r = await upload(a.dir, 'a.jpg', `--local=${nowhere}`);
    expect(r.stderr).toBe(`imgpipe: --local=${nowhere}: no running \`imgpipe dev\` there (give the folder it runs in, its data folder, or its page, API or S3 URL)\n`);
    expect(r.code).toBe(2);
  });

  it('with only the other checkout’s `dev` running, a run starts its own stack and says how to use the other', async () => {
    expect(await a.dev.stop()).toBe(0);
    await copyFile(img.corpusFile('plasma-Grey.jpg'), path.join(a.dir, 'alone.jpg'));
    const r = await upload(a.dir, 'alone.jpg', '--local');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('imgpipe: uploading to embedded local stack started for this run (data in .imgpipe/data)');
    expect(lines).toContain(`imgpipe: \`imgpipe dev\` of ${b.dir} runs too (pid ${b.dev.state.pid}, ${b.dev.state.apiUrl}); it is not used unless asked: --local=${b.dir}`);
    expect((await keysOf(b)).some((k) => k.endsWith('/alone.jpg'))).toBe(false);
    // Its own stack kept it: A's `dev`, started again on the same data folder, holds it.
    a.dev = await startDev(a.dir, { env });
    expect((await keysOf(a)).some((k) => k.endsWith('/alone.jpg'))).toBe(true);
  });
});
