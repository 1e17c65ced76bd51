// One error model: every error class of ours is an ImgpipeError with a stable code and the exit
// code it maps to, each raised here by the real code path that throws it; and the built CLI turns
// them into `imgpipe: ` lines and that exit code.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError, requestUploads } from '../src/api/client.js';
import { loadConfig } from '../src/config/load.js';
import { EXIT, ImgpipeError, UsageError } from '../src/core/errors.js';
import { readHeifHeader } from '../src/core/heif.js';
import { ImageError, resizeImage } from '../src/core/resize.js';
import { DEFAULT_SPEC, parseSpec, SpecError } from '../src/core/spec.js';
import { explainAwsError } from '../src/deploy/errors.js';
import { LocalKeysError } from '../src/core/local-keys.js';
import { assertWithinLimits, LIMITS } from '../src/deploy/limits.js';
import { putWithRetry } from '../src/s3/put.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';

/** A local HTTP server answering every request with the next of `answers` (the last one repeats). */
async function answering(answers: { status: number; body: string }[]): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = answers[Math.min(hits++, answers.length - 1)];
      res.writeHead(a.status, { 'content-type': a.body.startsWith('<') ? 'application/xml' : 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const caught = (fn: () => unknown): Promise<unknown> => Promise.resolve().then(fn).then(() => undefined, (err: unknown) => err);

function expectModel(err: unknown, cls: abstract new (...args: never[]) => Error, code: string, exit: number): void {
  expect(err).toBeInstanceOf(cls);
  expect(err).toBeInstanceOf(ImgpipeError);
  expect(err).toMatchObject({ code, exit, name: cls.name });
}

describe('every error class is an ImgpipeError with a stable code and exit', () => {
  it('UsageError: exit 2', async () => {
    expectModel(new UsageError('--widths: "x" is not a positive integer'), UsageError, 'Usage', EXIT.usage);
    const dir = await img.tempDir('imgpipe-errors-');
    await writeFile(path.join(dir, 'imgpipe.config.json'), '{"variants": [{"name": "s", "widht": 3}]}');
    expectModel(await caught(() => loadConfig(undefined, {}, dir)), UsageError, 'Usage', EXIT.usage);
  });

  it('SpecError: a spec that does not parse is a config problem, exit 2', async () => {
    expectModel(await caught(() => parseSpec({ variants: [] })), SpecError, 'InvalidSpec', EXIT.usage);
  });

  it('ImageError and the HEIC decoder\'s own: failed work, exit 1, ImageError keeping the failure records\' codes', async () => {
    expectModel(await caught(() => resizeImage(Buffer.from('just some text'), DEFAULT_SPEC)), ImageError, 'unsupported', EXIT.failed);
    expectModel(await caught(() => resizeImage(img.truncatedJpeg(), DEFAULT_SPEC)), ImageError, 'corrupt', EXIT.failed);
    expectModel(await caught(() => readHeifHeader(Buffer.from('not a HEIF file'))), ImgpipeError, 'HeifDecode', EXIT.failed);
  });

  it('explainAwsError names the AWS failure as an ImgpipeError (exit 1), and passes one of ours through', async () => {
    const ours = new ImgpipeError('function f does not exist', 'FunctionNotFound');
    expect(explainAwsError(ours, 'lambda:GetFunction on f')).toBe(ours);
    const denied = explainAwsError({ name: 'AccessDeniedException', message: 'no', $metadata: { httpStatusCode: 403 } }, 'lambda:GetFunction on f');
    expectModel(denied, ImgpipeError, 'AccessDenied', EXIT.failed);
    // The local stack's keys refused before any call: the same line, but a failed deploy (exit 1), not bad usage.
    expectModel(explainAwsError(new LocalKeysError('AWS Lambda', true), 'lambda:GetFunction on f'), ImgpipeError, 'LocalKeys', EXIT.failed);
    expect(denied.message).toBe('access denied: lambda:GetFunction on f is not allowed for these credentials (no)');
    expectModel(await caught(() => assertWithinLimits(LIMITS.unzippedBytes + 1)), ImgpipeError, 'PackageTooLarge', EXIT.failed);
  });

  it('ApiError: a 4xx is ApiRefused and asked once; a 503 is ApiUnavailable and asked again', async () => {
    const refused = await answering([{ status: 403, body: '{"error":{"code":"Forbidden","message":"bad key"}}' }]);
    const file = { name: 'a.jpg', size: 3, contentType: 'image/jpeg', sha256: 'x' };
    try {
      const err = await caught(() => requestUploads([file], { api: refused.url }));
      expectModel(err, ApiError, 'ApiRefused', EXIT.failed);
      expect((err as ApiError).message).toBe('presign API refused the request (403): Forbidden: bad key');
      expect(refused.hits()).toBe(1);
    } finally {
      await refused.close();
    }
    const upload = { name: 'a.jpg', key: 'uploads/a.jpg', url: 'http://x/', method: 'PUT', headers: {}, expiresAt: '' };
    const flaky = await answering([{ status: 503, body: 'busy' }, { status: 200, body: JSON.stringify({ uploads: [upload] }) }]);
    try {
      const retries: string[] = [];
      expect(await requestUploads([file], { api: flaky.url, onRetry: (why) => retries.push(why) })).toEqual([upload]);
      expect(retries).toEqual(['presign API 503: busy']);
      expectModel(new ApiError('presign API 503: busy', 503), ApiError, 'ApiUnavailable', EXIT.failed);
    } finally {
      await flaky.close();
    }
  });

  it("PutError: S3's code, exit 1", async () => {
    const s3 = await answering([{ status: 403, body: '<Error><Code>AccessDenied</Code><Message>nope</Message></Error>' }]);
    const dir = await img.tempDir('imgpipe-errors-');
    await writeFile(path.join(dir, 'a.jpg'), 'abc');
    try {
      const err = await caught(() => putWithRetry({ path: path.join(dir, 'a.jpg'), size: 3, sign: async () => ({ url: `${s3.url}/a.jpg`, headers: {} }) }));
      // S3's status beside the code: the class is put.ts's own, so the name says it.
      expect(err).toBeInstanceOf(ImgpipeError);
      expect(err).toMatchObject({ name: 'PutError', code: 'AccessDenied', exit: EXIT.failed, status: 403 });
    } finally {
      await s3.close();
    }
  });
});

describe('the built CLI maps errors to lines and exit codes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await img.tempDir('imgpipe-errors-cli-');
  });

  it('a config error exits 2, one line per problem naming the file and the field', async () => {
    const cwd = path.join(dir, 'config');
    await mkdir(cwd);
    const config = path.join(cwd, 'imgpipe.config.json');
    await writeFile(config, JSON.stringify({ variants: [{ name: 's', widht: 320 }], quality: 80 }));
    await writeFile(path.join(cwd, 'a.jpg'), 'x');
    const r = await runCli(['resize-local', 'a.jpg', '--out', 'out'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `imgpipe: ${config}: variants[0].widht: unknown field; did you mean "width"?`,
      `imgpipe: ${config}: variants[0]: needs a width or a height`,
      `imgpipe: ${config}: quality: unknown field`,
    ]);
    expect(r.stdout).toBe('');
  });

  it('a bad argument of a verb (UsageError from the verb) exits 2', async () => {
    const r = await runCli(['watch', '--manifest', path.join(dir, 'none.json')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`imgpipe: no keys given and no manifest at ${path.join(dir, 'none.json')}\n`);
  });

  it('a run whose work fails exits 1 and names the file', async () => {
    const cwd = path.join(dir, 'failed');
    await mkdir(cwd);
    await writeFile(path.join(cwd, 'notes.jpg'), 'hello world\n');
    const r = await runCli(['resize-local', 'notes.jpg', '--out', 'out'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error ${path.join(cwd, 'notes.jpg')}: a text file, not an image`);
  });
});
