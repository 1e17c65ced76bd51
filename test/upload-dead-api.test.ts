// A presign API that cannot be reached (nothing listens, or it refuses the key) stops the run after
// its first batch: one line naming the URL and what to check, exit 3, nothing sent or written.
// The CLI runs as a separate process against a closed port and a real HTTP server answering 403.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';
import { ApiError } from '../src/api/client.js';
import type { UploadResult } from '../src/jobs/upload.js';
import { stopForFirstBatch } from '../src/jobs/upload/unreachable.js';

const N = 500;
let cwd: string;
let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers) await c();
  closers = [];
});

/** N small PNGs, each its own colour (so each is its own upload, not a copy of another). */
beforeAll(async () => {
  cwd = await tempDir('imgpipe-dead-api-');
  await mkdir(path.join(cwd, 'photos'));
  for (let i = 0; i < N; i++) {
    const background = { r: i % 256, g: Math.floor(i / 256), b: 200 };
    await sharp({ create: { width: 16, height: 16, channels: 3, background } }).png().toFile(path.join(cwd, 'photos', `p${String(i).padStart(3, '0')}.png`));
  }
}, 120_000);

async function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, server };
}

/** A loopback URL where nothing listens: a port just given up by a server. */
async function deadUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const nothingWritten = () => {
  expect(existsSync(path.join(cwd, '.imgpipe/last-upload.json'))).toBe(false);
  expect(existsSync(path.join(cwd, '.imgpipe/ledger.jsonl'))).toBe(false);
};

describe('upload to a presign API that cannot be reached', () => {
  it(`connection refused, ${N} files: one line naming the URL, exit 3, one batch's retries`, async () => {
    const api = await deadUrl();
    const where = 'check the URL (--api, IMGPIPE_API or "api" in imgpipe.config.json) and that the API is deployed; nothing was uploaded';
    const line = `imgpipe: cannot reach the presign API at ${api}/uploads: connection refused (nothing listens there); ${where}\n`;

    const json = await runCli(['upload', 'photos', '--api', api, '--dest-bucket', 'photos-out', '--json'], { cwd });
    expect(json.stderr).toBe(line);
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as UploadResult;
    expect(doc).toMatchObject({ ok: false, files: N, uploaded: 0, exists: 0, failed: 0, keys: [], stopped: { code: 'ApiUnreachable', message: line.slice('imgpipe: '.length, -1) } });
    // The first batch's six attempts and no more (there were 105 retries over 21 batches).
    expect(doc.retries).toBe(5);
    expect(doc.uploads.filter((u) => u.status !== 'pending')).toEqual([]);
    nothingWritten();

    const plain = await runCli(['upload', 'photos', '--api', api, '--dest-bucket', 'photos-out'], { cwd });
    expect(plain.stderr).toBe(line);
    expect(plain.code).toBe(3);
    expect(plain.stdout).toContain(`0 uploaded, 0 already there, 0 failed, ${N} not sent (the API could not be reached) of ${N} files`);
    nothingWritten();
  }, 120_000); // two runs, each through one batch's six attempts and their backoff

  it(`403 on the first batch (a real server refusing the key), ${N} files: one request, one line, exit 3, the key never printed`, async () => {
    const requests: string[] = [];
    const { url } = await listen((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      // What API Gateway answers a request without a valid x-api-key.
      req.on('end', () => res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}'));
    });
    const key = 'k3y-that-must-not-show-Zx81';
    const r = await runCli(['upload', 'photos', '--api', url, '--dest-bucket', 'photos-out'], { cwd, env: { IMGPIPE_API_KEY: key } });
    expect(r.stderr).toBe(`imgpipe: the presign API at ${url}/uploads refused the request (403): check IMGPIPE_API_KEY (the key \`imgpipe deploy\` made) and the URL; nothing was uploaded\n`);
    expect(r.code).toBe(3);
    // The spec check, then the first batch, asked once (a 403 is not retried), and nothing more.
    expect(requests).toEqual(['GET /spec', 'POST /uploads']);
    expect(r.stdout + r.stderr).not.toContain(key);
    nothingWritten();
  });

  it('an API that answered once and then fails fails only its batches, one line per file, exit 1', async () => {
    let posts = 0;
    const { url } = await listen((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.method !== 'POST') return res.writeHead(404).end();
        // The first batch: every file refused by name (an answer: the API is there); then 403s.
        if (++posts > 1) return res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}');
        const { files } = JSON.parse(body) as { files: { name: string }[] };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uploads: files.map((f) => ({ name: f.name, error: { code: 'TooSmall', message: 'no' } })) }));
      });
    });
    const r = await runCli(['upload', 'photos', '--api', url, '--dest-bucket', 'photos-out', '--concurrency', '8', '--json'], { cwd });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as UploadResult;
    expect(doc.stopped).toBeUndefined();
    expect(doc).toMatchObject({ files: N, failed: N });
    // A first batch of 8, then each twice the last up to 100: 8, 16, 32, 64, 100, 100, 100, 80; each asked once.
    expect(posts).toBe(8);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(N);
    expect(lines.filter((l) => l.endsWith(': presign API refused the request (403): {"message":"Forbidden"}'))).toHaveLength(N - 8);
  });
});

describe('which first-batch failures stop the run', () => {
  const api = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod';
  const stop = (err: unknown) => stopForFirstBatch(err, api, false)?.message;
  const check = 'check the URL (--api, IMGPIPE_API or "api" in imgpipe.config.json) and that the API is deployed; nothing was uploaded';
  it('no answer: a name that does not resolve, TLS, a timeout', () => {
    expect(stop(new ApiError('x', undefined, 'ENOTFOUND'))).toBe(`cannot reach the presign API at ${api}/uploads: its host name does not resolve (ENOTFOUND); ${check}`);
    expect(stop(new ApiError('x', undefined, 'ERR_TLS_CERT_ALTNAME_INVALID'))).toBe(`cannot reach the presign API at ${api}/uploads: the TLS connection failed (ERR_TLS_CERT_ALTNAME_INVALID); ${check}`);
    expect(stop(new ApiError('x', undefined, 'TimeoutError'))).toBe(`cannot reach the presign API at ${api}/uploads: no answer before the request timeout; ${check}`);
  });
  it('an answer that is no presign API (404, or a 200 that is not a list of uploads)', () => {
    expect(stop(new ApiError('x', 404))).toBe(`no presign API at ${api}/uploads (it answered 404, not a list of uploads): ${check}`);
    expect(stop(new ApiError('x', 200))).toBe(`no presign API at ${api}/uploads (it answered 200, not a list of uploads): ${check}`);
  });
  it('what asking again may mend does not stop it: 5xx, 429, a 400 about the files', () => {
    for (const status of [500, 503, 429, 400, 413]) expect(stop(new ApiError('x', status)), String(status)).toBeUndefined();
  });
  it('the local stack: the hint names `imgpipe dev`, not --api', () => {
    expect(stopForFirstBatch(new ApiError('x', undefined, 'ECONNREFUSED'), 'http://127.0.0.1:9/', true)?.message).toBe(
      'cannot reach the presign API at http://127.0.0.1:9/uploads: connection refused (nothing listens there); check that `imgpipe dev` is still running (its address is in .imgpipe/dev.json); nothing was uploaded',
    );
  });
});
