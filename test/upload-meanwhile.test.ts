// A URL that expires while another client stores the same bytes: the fresh presign answers
// "exists", and the upload ends the file as `exists` under that key with nothing more sent, for
// one PUT and for a file in parts. The race is made real: an S3 front, on the URLs' endpoint,
// stores the file's bytes straight into the bucket and then answers the PUT "Request has expired".
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULTIPART_MIN_BYTES } from '../src/api/parts.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runUpload, type UploadEvent } from '../src/jobs/upload.js';
import { writeNoiseJpegs } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const EXPIRED = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';

/** Passes requests to S3 (Host kept: it is signed), but answers the first PUT of each key as `race` says. */
async function startFront(s3Endpoint: () => string, race: (key: string) => Promise<void>) {
  const puts: string[] = [];
  const raced = new Set<string>();
  const server = http.createServer((req, res) => {
    const [pathname] = (req.url ?? '/').split('?');
    if (req.method === 'PUT') puts.push(pathname);
    const key = decodeURIComponent(pathname.split('/').slice(2).join('/'));
    if (req.method === 'PUT' && !raced.has(key)) {
      raced.add(key);
      req.resume();
      req.on('end', () => {
        void race(key).then(() => {
          res.writeHead(403, { 'content-type': 'application/xml' });
          res.end(EXPIRED);
        });
      });
      return;
    }
    const t = new URL(s3Endpoint());
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.headers);
      ures.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('bytes stored by another client while a URL expired', () => {
  let stack: TestStack;
  let front: Awaited<ReturnType<typeof startFront>>;
  let root: string;
  const local: Record<string, string> = {}; // key → the local file whose bytes "another client" stores

  beforeAll(async () => {
    front = await startFront(() => stack.s3Endpoint, async (key) => {
      const file = Object.values(local).find((f) => key.endsWith(`/${path.basename(f)}`))!;
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: key, Body: await readFile(file), ContentType: file.endsWith('.tif') ? 'image/tiff' : 'image/jpeg' }));
    });
    stack = await startTestStack({ trigger: false, urlEndpoint: front.url });
    root = await img.tempDir('imgpipe-meanwhile-');
  });
  afterAll(async () => {
    await front?.close();
    await stack?.stop();
  });

  async function upload(file: string) {
    local[file] = file;
    const events: UploadEvent[] = [];
    const result = await runUpload({
      paths: [file],
      spec: DEFAULT_SPEC,
      api: stack.apiUrl,
      manifestPath: path.join(root, 'last-upload.json'),
      ledgerPath: path.join(root, 'ledger.jsonl'),
      destination: { destBucket: stack.destBucket, pipeline: `local:${stack.dir}` },
      signal: new AbortController().signal,
      concurrency: 1,
      onEvent: (e) => events.push(e),
      env: {},
    });
    return { result, events };
  }

  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  it('one PUT: refused as expired, the fresh presign says exists, the file ends `exists`, nothing sent again', async () => {
    const [file] = await writeNoiseJpegs(path.join(root, 'one'), 1);
    const before = front.puts.length;
    const { result, events } = await upload(file);
    expect(result).toMatchObject({ ok: true, uploaded: 0, exists: 1, failed: 0, retries: 1 });
    const [u] = result.uploads;
    expect(u).toMatchObject({ status: 'exists', key: expect.stringMatching(/^uploads\/[a-z2-7]{52}\/img-000\.jpg$/) });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['url-refresh', 'file-exists']));
    expect(events.some((e) => e.type === 'file-uploaded')).toBe(false);
    expect(front.puts.length - before).toBe(1); // the refused one only
    expect(sha256(await stack.get(stack.sourceBucket, u.key!))).toBe(sha256(await readFile(file)));
  });

  it('in parts: the first part refused as expired, the fresh plan says exists: no other part, no complete', async () => {
    const file = path.join(root, 'big', 'scan.tif');
    // Noise, uncompressed: just over the multipart threshold, so three parts.
    const side = Math.ceil(Math.sqrt((MULTIPART_MIN_BYTES * 1.2) / 3));
    const noise = Buffer.alloc(side * side * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    await mkdir(path.dirname(file), { recursive: true });
    await sharp(noise, { raw: { width: side, height: side, channels: 3 } }).tiff({ compression: 'none' }).toFile(file);
    const before = front.puts.length;
    const { result, events } = await upload(file);
    expect(result).toMatchObject({ ok: true, uploaded: 0, exists: 1, failed: 0 });
    expect(result.uploads[0]).toMatchObject({ status: 'exists', key: expect.stringMatching(/^uploads\/[a-z2-7]{52}\/scan\.tif$/) });
    expect(events.filter((e) => e.type === 'url-refresh')).toHaveLength(1);
    expect(front.puts.length - before).toBe(1); // the first part only; the others were never sent
    expect(sha256(await stack.get(stack.sourceBucket, result.uploads[0].key!))).toBe(sha256(await readFile(file)));
  });
});
