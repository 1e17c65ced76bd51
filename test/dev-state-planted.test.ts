// A `.imgpipe/dev.json` that a cloned repository, an unpacked archive or a shared folder ships
// must not steer `upload --local`: only a file of this user's, mode 0600, naming loopback
// endpoints, whose API proves it is the `dev` the file names, is used. A refused file gets one
// line, and `--local` goes on as if none were there (a bare --local starts a stack of its own).
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevState } from '../src/local/dev-state.js';
import { STATE_FILE, writeDevState } from '../src/local/state.js';
import { runCli } from './helpers/cli.js';
import { startDev, type DevProcess } from './helpers/dev.js';
import * as img from './helpers/images.js';

/** Something on loopback that answers every request 200, as an old or hostile server would; it counts what reaches it. */
async function startImpostor(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, service: 'imgpipe-local', uploads: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A folder with one photo and a planted state file, written by the product's own writer (so 0600, ours). */
async function plantedFolder(state: Partial<DevState>): Promise<string> {
  const cwd = await img.tempDir('imgpipe-planted-');
  await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'photo.jpg'));
  const planted: DevState = {
    pid: 1, // always alive: kill(1, 0) passes (or answers EPERM, which counts as alive)
    apiUrl: 'http://127.0.0.1:9',
    s3Endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    sourceBucket: 'imgpipe-source',
    destBucket: 'imgpipe-dest',
    dataDir: path.join(cwd, 'elsewhere'),
    credentials: { accessKeyId: 'LOCAL0123456789ABCDE', secretAccessKey: randomBytes(30).toString('base64url') },
    ...state,
  };
  await writeDevState(planted, path.join(cwd, STATE_FILE));
  return cwd;
}

const upload = (cwd: string, ...args: string[]) => runCli(['upload', 'photo.jpg', ...args], { cwd, timeoutMs: 90_000 });
const AGAIN = 'delete it and run imgpipe dev again';

describe('a planted .imgpipe/dev.json', () => {
  let impostor: Awaited<ReturnType<typeof startImpostor>>;
  beforeAll(async () => {
    impostor = await startImpostor();
  });
  afterAll(async () => impostor?.close());

  it('with a foreign pid and loopback URLs of a server that answers /health 200: refused, as the server cannot prove it is that dev; it gets no upload', async () => {
    const cwd = await plantedFolder({ apiUrl: impostor.url, s3Endpoint: impostor.url });
    const before = impostor.requests.length;
    const r = await upload(cwd, '--local');
    // Only the challenge reached it: no /spec, no /uploads.
    const seen = impostor.requests.slice(before);
    expect(seen.filter((s) => !s.startsWith('GET /health?'))).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^GET \/health\?challenge=[A-Za-z0-9_-]{22,}$/);
    expect(r.stderr).toBe(`imgpipe: ignored .imgpipe/dev.json: its API at ${impostor.url} did not prove it is the imgpipe dev (pid 1) this file names (${AGAIN})\n`);
    // As with no stack there: this run's own stack, on this folder's data.
    expect(r.stdout).toContain(`imgpipe: uploading to embedded local stack started for this run (data in .imgpipe/data)`);
    expect(r.code).toBe(0);
  });

  it('naming an API or S3 endpoint off loopback: refused before anything is sent', async () => {
    const far = await plantedFolder({ apiUrl: 'http://192.0.2.10:9467', s3Endpoint: impostor.url });
    const r = await upload(far, `--local=${far}`);
    expect(r.stderr).toBe(
      `imgpipe: ignored .imgpipe/dev.json: http://192.0.2.10:9467 is not on this machine: a local stack listens on loopback only (${AGAIN})\n` +
        `imgpipe: --local=${far}: no running \`imgpipe dev\` there (give the folder it runs in, its data folder, or its page, API or S3 URL)\n`,
    );
    expect(r.code).toBe(2); // as for a folder where no dev runs
    // A name that resolves to loopback is still not loopback by name: a DNS answer can change.
    const before = impostor.requests.length;
    const named = await plantedFolder({ apiUrl: impostor.url, s3Endpoint: `http://127.0.0.1.nip.io:${new URL(impostor.url).port}` });
    const r2 = await upload(named, `--local=${named}`);
    expect(r2.stderr.split('\n')[0]).toBe(
      `imgpipe: ignored .imgpipe/dev.json: http://127.0.0.1.nip.io:${new URL(impostor.url).port} is not on this machine: a local stack listens on loopback only (${AGAIN})`,
    );
    expect(r2.code).toBe(2);
    expect(impostor.requests.length).toBe(before);
  });
});

describe("the real `imgpipe dev`'s own state file", () => {
  let cwd: string;
  let dev: DevProcess;
  const file = () => path.join(cwd, STATE_FILE);
  const usedDev = () => `imgpipe: uploading to local stack of this folder (\`imgpipe dev\`, pid ${dev.state.pid}) at ${dev.state.apiUrl}`;

  beforeAll(async () => {
    cwd = await img.tempDir('imgpipe-real-state-');
    await mkdir(cwd, { recursive: true });
    await copyFile(img.corpusFile('mate-Aqua.jpg'), path.join(cwd, 'photo.jpg'));
    dev = await startDev(cwd);
  });
  afterAll(async () => {
    await chmod(file(), 0o600).catch(() => undefined);
    if (process.getuid?.() === 0) await chown(file(), 0, 0).catch(() => undefined);
    await dev?.stop();
  });

  it('is accepted as dev wrote it (mode 0600, ours, loopback, and its API proves it)', async () => {
    const r = await upload(cwd, `--local=${cwd}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(usedDev());
  });

  it('made readable by others (mode 0644): refused with one line, although its stack is real', async () => {
    await chmod(file(), 0o644);
    try {
      const r = await upload(cwd, `--local=${cwd}`);
      expect(r.stderr.split('\n')[0]).toBe(`imgpipe: ignored .imgpipe/dev.json: mode 0644, not 0600 (chmod 600 it, or ${AGAIN})`);
      expect(r.stderr.split('\n')).toHaveLength(3); // that line, the usual "no running dev there", and the final newline
      expect(r.code).toBe(2);
    } finally {
      await chmod(file(), 0o600);
    }
  });

  // Only root can give a file away; elsewhere this cannot be arranged.
  it.skipIf(process.getuid?.() !== 0)('owned by another user (nobody): refused with one line', async () => {
    const nobody = 65534;
    await chown(file(), nobody, nobody);
    try {
      const r = await upload(cwd, `--local=${cwd}`);
      expect(r.stderr.split('\n')[0]).toBe(`imgpipe: ignored .imgpipe/dev.json: owned by uid ${nobody}, not by you (uid 0) (${AGAIN})`);
      expect(r.code).toBe(2);
    } finally {
      await chown(file(), 0, 0);
    }
    // Given back, it is taken again.
    const again = await upload(cwd, `--local=${cwd}`);
    expect(again.stderr).toBe('');
    expect(again.stdout).toContain(usedDev());
  });
});
