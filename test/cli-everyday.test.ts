// Everyday rough edges, through the built CLI: a second `dev`, busy ports, `--local` from another
// folder, config mistakes, `| head -1`.
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStateFile } from '../src/local/state.js';
import { BIN, cliEnv, runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

const ROOT = path.resolve(__dirname, '..');

function listenOnFreePort(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

describe('imgpipe dev, twice', () => {
  let cwd: string;
  let stateHome: string;
  let dev: DevProcess;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-dev-twice-');
    stateHome = await img.tempDir('imgpipe-state-home-');
    env = { XDG_STATE_HOME: stateHome };
    dev = await startDev(cwd, { env });
  });

  afterAll(async () => {
    expect(await dev?.stop()).toBe(0);
  });

  const runningLine = () =>
    `imgpipe dev: already running (pid ${dev.state.pid}): upload page ${dev.state.apiUrl}/, S3 ${dev.state.s3Endpoint} (data in ${dev.state.dataDir})\n`;

  it('records itself in the user state directory, keyed by its data folder, mode 0600', async () => {
    const file = userStateFile(path.join(cwd, '.imgpipe/data'), env);
    expect(path.dirname(file)).toBe(path.join(stateHome, 'imgpipe'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(cwd, '.imgpipe/dev.json'))).mode & 0o777).toBe(0o600);
  });

  it('a second dev on the same data folder says it is already running, exit 1', async () => {
    const r = await runCli(['dev', '--s3-port', '0', '--api-port', '0'], { cwd, env, timeoutMs: 30_000 });
    expect(r.stderr).toBe(runningLine());
    expect(r.code).toBe(1);
  });

  it('a second dev on the same ports, from another folder, says the same', async () => {
    const other = await img.tempDir('imgpipe-dev-other-');
    const port = new URL(dev.state.apiUrl).port;
    const r = await runCli(['dev', '--s3-port', '0', '--api-port', port], { cwd: other, env, timeoutMs: 30_000 });
    expect(r.stderr).toBe(runningLine());
    expect(r.code).toBe(1);
  });

  it("upload --local from another folder leaves this dev alone and names it; --local=ITS_FOLDER uses it", async () => {
    const elsewhere = await img.tempDir('imgpipe-elsewhere-');
    await copyFile(path.join(ROOT, 'examples/photos/mate-Aqua.jpg'), path.join(elsewhere, 'a.jpg'));
    const own = await runCli(['upload', 'a.jpg', '--local'], { cwd: elsewhere, env, timeoutMs: 60_000 });
    expect(own.stderr).toBe('');
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('imgpipe: uploading to embedded local stack started for this run (data in .imgpipe/data)\n');
    expect(own.stdout).toContain(`imgpipe: \`imgpipe dev\` of ${cwd} runs too (pid ${dev.state.pid}, ${dev.state.apiUrl}); it is not used unless asked: --local=${cwd}\n`);
    expect((await dev.list(dev.state.sourceBucket)).some((k) => k.endsWith('/a.jpg'))).toBe(false);

    const asked = await runCli(['upload', 'a.jpg', `--local=${cwd}`], { cwd: elsewhere, env, timeoutMs: 60_000 });
    expect(asked.stderr).toBe('');
    expect(asked.code).toBe(0);
    expect(asked.stdout).toContain(`local stack of ${cwd} (\`imgpipe dev\`, pid ${dev.state.pid}) at ${dev.state.apiUrl}`);
    expect((await dev.list(dev.state.sourceBucket)).some((k) => k.endsWith('/a.jpg'))).toBe(true);
  });
});

describe('imgpipe dev, stopping', () => {
  it('removes both of its state files when stopped', async () => {
    const cwd = await img.tempDir('imgpipe-dev-stop-');
    const stateHome = await img.tempDir('imgpipe-state-home-');
    const dev = await startDev(cwd, { env: { XDG_STATE_HOME: stateHome } });
    expect(await readdir(path.join(stateHome, 'imgpipe'))).toHaveLength(1);
    expect(await dev.stop()).toBe(0);
    expect(await readdir(path.join(stateHome, 'imgpipe'))).toEqual([]);
    expect(await readdir(path.join(cwd, '.imgpipe'))).not.toContain('dev.json');
  });
});

describe('imgpipe dev, port held by another program', () => {
  let held: { server: Server; port: number };
  beforeAll(async () => {
    held = await listenOnFreePort();
  });
  afterAll(() => new Promise<void>((resolve) => held.server.close(() => resolve())));

  for (const flag of ['--s3-port', '--api-port', '--cdn-port']) {
    it(`names the port and suggests ${flag}, exit 1`, async () => {
      const cwd = await img.tempDir('imgpipe-dev-busy-');
      const stateHome = await img.tempDir('imgpipe-state-home-');
      const args = ['--s3-port', '--api-port', '--cdn-port'].flatMap((f) => [f, f === flag ? String(held.port) : '0']);
      const r = await runCli(['dev', ...args], { cwd, env: { XDG_STATE_HOME: stateHome }, timeoutMs: 30_000 });
      expect(r.stderr).toBe(`imgpipe dev: port ${held.port} is in use by another program: pass ${flag} PORT to choose another (0 picks a free one)\n`);
      expect(r.code).toBe(1);
    });
  }

  it('has defaults no well-known local tool uses', async () => {
    const r = await runCli(['dev', '--help']);
    expect(r.stdout).toMatch(/--s3-port <port>.*\(default: 9466\)/);
    expect(r.stdout).toMatch(/--api-port <port>[^-]*\(default:\s+9467\)/); // commander may wrap the default onto the next line
  });
});

describe('config mistakes', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-config-');
    await copyFile(path.join(ROOT, 'examples/photos/mate-Aqua.jpg'), path.join(cwd, 'a.jpg'));
  });
  const config = (text: string) => writeFile(path.join(cwd, 'imgpipe.config.json'), text);
  const file = () => path.join(cwd, 'imgpipe.config.json');

  it('lists every problem on a line of its own, with the file, the field and a suggestion for a near-miss', async () => {
    await config(
      JSON.stringify({ variants: [{ name: 'a', widht: 300 }, { name: 'b', width: 0, format: 'tiff' }], destBuckt: 'my-bucket' }, null, 2),
    );
    const r = await runCli(['resize-local', 'a.jpg', '--dry-run'], { cwd });
    expect(r.stderr).not.toContain('\\x0a');
    expect(r.stderr.split('\n')).toEqual([
      `imgpipe: ${file()}: variants[0].widht: unknown field; did you mean "width"?`,
      `imgpipe: ${file()}: variants[0]: needs a width or a height`,
      `imgpipe: ${file()}: variants[1].width: Too small: expected number to be >=1`,
      `imgpipe: ${file()}: variants[1].format: "tiff" is not one of jpeg, webp, avif, png, same (TIFF is read, not written)`,
      `imgpipe: ${file()}: destBuckt: unknown field; did you mean "destBucket"?`,
      '',
    ]);
    expect(r.code).toBe(2);
  });

  it('reports invalid JSON with its line and column', async () => {
    await config('{\n  "variants": [\n    { "name": "a", "width": 300, }\n  ]\n}\n');
    const r = await runCli(['resize-local', 'a.jpg', '--dry-run'], { cwd });
    expect(r.stderr).toBe(`imgpipe: ${file()}:3:34: not valid JSON: Expected double-quoted property name\n`);
    expect(r.code).toBe(2);
    await config('{\n  "variants": x\n}\n');
    const bare = await runCli(['resize-local', 'a.jpg', '--dry-run'], { cwd });
    expect(bare.stderr).toBe(`imgpipe: ${file()}:2:15: not valid JSON: Unexpected token 'x'\n`);
  });

  it('takes "jpg" for jpeg, in the file and in --format', async () => {
    await config(JSON.stringify({ variants: [{ name: 'small', width: 64, format: 'jpg' }] }));
    const fromFile = await runCli(['resize-local', 'a.jpg', '--dry-run', '--json'], { cwd });
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('small/a.jpg');
    await config('{}');
    const fromFlag = await runCli(['resize-local', 'a.jpg', '--dry-run', '--widths', '64', '--format', 'JPG'], { cwd });
    expect(fromFlag.stderr).toBe('');
    expect(fromFlag.code).toBe(0);
    expect(fromFlag.stdout).toMatch(/64\/a\.jpg 64×\d+ jpeg/);
    const tif = await runCli(['resize-local', 'a.jpg', '--dry-run', '--format', 'tif'], { cwd });
    expect(tif.stderr).toBe('imgpipe: --format: "tif" is not one of jpeg, webp, avif, png, same (TIFF is read, not written)\n');
    expect(tif.code).toBe(2);
  });
});

describe('stdout closed early', () => {
  it('`resize-local --dry-run | head -1` ends quietly, exit 0', async () => {
    const dir = await img.tempDir('imgpipe-pipe-');
    await mkdir(path.join(dir, 'many'));
    for (let i = 0; i < 300; i++) await copyFile(path.join(ROOT, 'examples/photos/mate-Aqua.jpg'), path.join(dir, 'many', `p${i}.jpg`));
    const script = `node ${JSON.stringify(BIN)} resize-local many --dry-run | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`;
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { cwd: dir, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', () => resolve({ stdout, stderr }));
    });
    expect(r.stdout).toMatch(/^plan p\d+\.jpg .*\n$/);
    expect(r.stderr).toBe('exit=0\n');
  });
});
