// The local S3 server's bounds on what one request may make it hold: user metadata (S3's 2 KB),
// the header section (S3's 8 KB), aws-chunked trailers, connections; and its answers to values
// S3 refuses (CR/LF in response-* overrides, a LocationConstraint). A REAL server on loopback,
// driven by real AWS SDK v3 clients and, for what the SDK will not send, by raw HTTP.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyObjectCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { s3Client, sdkFailure, xmlCode } from './helpers/s3.js';

const BUCKET = 'limits';

let dir: string;
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-limits-'));
  s3 = await startLocalS3({ dataDir: path.join(dir, 'data'), buckets: [BUCKET] });
  client = s3Client(s3);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A request as written, on its own connection; resolves with status, body and the S3 error code. */
function rawRequest(port: number, head: string, body = ''): Promise<{ status: number; text: string; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const text = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ status, text, code: xmlCode(text) });
    });
    socket.end(head + body);
  });
}

describe('user metadata: S3 allows 2 KB (names and values, UTF-8 bytes)', () => {
  it('exactly 2 KB is stored and read back; 1 byte more is 400 MetadataTooLarge on PUT, CreateMultipartUpload and CopyObject (REPLACE)', async () => {
    const fits = { a: 'v'.repeat(2047) }; // 1 + 2047 = 2048
    const over = { a: 'v'.repeat(2048) };
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'meta/fits', Body: 'x', Metadata: fits }));
    expect((await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'meta/fits' }))).Metadata).toEqual(fits);
    // Two entries count both names: 2 + 2046 ("ab") + 1 + 0 ("c") = 2049.
    const split = { ab: 'v'.repeat(2046), c: '' };
    for (const [what, call] of [
      ['PUT', new PutObjectCommand({ Bucket: BUCKET, Key: 'meta/over', Body: 'x', Metadata: over })],
      ['PUT, two entries', new PutObjectCommand({ Bucket: BUCKET, Key: 'meta/over', Body: 'x', Metadata: split })],
      ['CreateMultipartUpload', new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'meta/over', Metadata: over })],
      ['CopyObject', new CopyObjectCommand({ Bucket: BUCKET, Key: 'meta/over', CopySource: `${BUCKET}/meta/fits`, MetadataDirective: 'REPLACE', Metadata: over })],
    ] as const) {
      const f = await sdkFailure(client.send(call as never));
      expect({ what, status: f.status, code: f.code }).toEqual({ what, status: 400, code: 'MetadataTooLarge' });
    }
    expect(await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'meta/over' })))).toMatchObject({ status: 404 });
  });
});

describe('header section: S3 allows 8 KB of headers and query', () => {
  it('a 9 KB header is 400 RequestHeaderSectionTooLarge (in S3 format); 1 MB of headers too, and the server still answers', async () => {
    const nine = await rawRequest(s3.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: 127.0.0.1:${s3.port}\r\nX-Pad: ${'p'.repeat(9 * 1024)}\r\nConnection: close\r\n\r\n`);
    expect({ status: nine.status, code: nine.code }).toEqual({ status: 400, code: 'RequestHeaderSectionTooLarge' });
    const lines = Array.from({ length: 1024 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
    const huge = await rawRequest(s3.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: 127.0.0.1:${s3.port}\r\n${lines}\r\n`);
    expect({ status: huge.status, code: huge.code }).toEqual({ status: 400, code: 'RequestHeaderSectionTooLarge' });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after-headers', Body: 'fine' }));
  });
});
