// The local S3 server's bounds on what one request may make it hold (its LIMITS, S3's own): user
// metadata, the header section, the body, aws-chunked trailers, XML bodies, connections; and its answers to values
// S3 refuses (CR/LF in response-* overrides, a LocationConstraint). A REAL server on loopback,
// driven by real AWS SDK v3 clients and, for what the SDK will not send, by raw HTTP.
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, HeadBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { LIMITS, startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { s3Client, sdkFailure, xmlCode, type S3Target } from './helpers/s3.js';

const BUCKET = 'limits';
const DIST = path.resolve(import.meta.dirname, '../packages/local-s3/dist/index.js');

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

const README = path.resolve(import.meta.dirname, '../packages/local-s3/README.md');
/** A byte count as the README writes it: 5 GiB, 2 MiB, or 8,192. */
const written = (n: number): string => (n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2} MiB` : n.toLocaleString('en-US'));

describe('LIMITS, the public face of these bounds', () => {
  it("are S3's published limits (the XML body aside, which S3 does not publish), and the README's Limits say each", async () => {
    // AWS's numbers, written here independently: a key 1,024 bytes, user metadata 2 KB, the header
    // section 8 KB, one PUT 5 GiB; the trailer and XML-body bounds are this server's own.
    expect(LIMITS).toEqual({ keyBytes: 1024, userMetadataBytes: 2048, headerSectionBytes: 8192, bodyBytes: 5 * 2 ** 30, trailerBytes: 4096, xmlBodyBytes: 2 * 2 ** 20 });
    const limitsItem = /^- \*\*Limits, as S3's\*\*[^]*?(?=^- )/m.exec(await readFile(README, 'utf8'))?.[0] ?? '';
    for (const [name, n] of Object.entries(LIMITS)) expect({ name, said: limitsItem.includes(written(n)) }).toEqual({ name, said: true });
  });
});

describe("user metadata: S3's LIMITS.userMetadataBytes (names and values, UTF-8 bytes)", () => {
  it('exactly the limit is stored and read back; 1 byte more is 400 MetadataTooLarge on PUT, CreateMultipartUpload and CopyObject (REPLACE)', async () => {
    const fits = { a: 'v'.repeat(LIMITS.userMetadataBytes - 1) }; // 1 + 2047 = 2048
    const over = { a: 'v'.repeat(LIMITS.userMetadataBytes) };
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'meta/fits', Body: 'x', Metadata: fits }));
    expect((await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'meta/fits' }))).Metadata).toEqual(fits);
    // Two entries count both names: 2 + 2046 ("ab") + 1 + 0 ("c") = 2049.
    const split = { ab: 'v'.repeat(LIMITS.userMetadataBytes - 2), c: '' };
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

describe("header section: S3's LIMITS.headerSectionBytes of headers and query", () => {
  it('a header 1 KB over is 400 RequestHeaderSectionTooLarge (in S3 format); 1 MB of headers too; cookies are not counted; the server still answers', async () => {
    const pad = 'p'.repeat(LIMITS.headerSectionBytes + 1024);
    const nine = await rawRequest(s3.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: 127.0.0.1:${s3.port}\r\nX-Pad: ${pad}\r\nConnection: close\r\n\r\n`);
    expect({ status: nine.status, code: nine.code }).toEqual({ status: 400, code: 'RequestHeaderSectionTooLarge' });
    const lines = Array.from({ length: 1024 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
    const huge = await rawRequest(s3.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: 127.0.0.1:${s3.port}\r\n${lines}\r\n`);
    expect({ status: huge.status, code: huge.code }).toEqual({ status: 400, code: 'RequestHeaderSectionTooLarge' });
    // Cookies are not counted (a browser sends other local apps' cookies to loopback, never to S3):
    // 9 KB of them reach the signature check, which this unsigned request fails.
    const cookies = await rawRequest(s3.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: 127.0.0.1:${s3.port}\r\nCookie: a=${pad}\r\nConnection: close\r\n\r\n`);
    expect({ status: cookies.status, code: cookies.code }).toEqual({ status: 403, code: 'AccessDenied' });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after-headers', Body: 'fine' }));
  });
});

describe('bodies: LIMITS.bodyBytes for an upload, LIMITS.xmlBodyBytes for XML', () => {
  it('a signed PUT announcing 1 byte over the limit is 400 EntityTooLarge before any body is sent; the limit itself is let through to the body', async () => {
    const put = async (length: number) => {
      const headers = await signedHeaders(s3, 'PUT', `/${BUCKET}/huge`, {}, { 'content-length': String(length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
      const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      return rawRequest(s3.port, `PUT /${BUCKET}/huge HTTP/1.1\r\n${head}Connection: close\r\n\r\n`);
    };
    expect(await put(LIMITS.bodyBytes + 1)).toMatchObject({ status: 400, code: 'EntityTooLarge' });
    // At the limit the server waits for the bytes; ours end after none: not EntityTooLarge.
    expect((await put(LIMITS.bodyBytes)).code).not.toBe('EntityTooLarge');
    expect(await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'huge' })))).toMatchObject({ status: 404 });
  });

  it('a DeleteObjects body over LIMITS.xmlBodyBytes is 400 MaxMessageLengthExceeded, and deletes nothing', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'x' }));
    const long = 'k'.repeat(1000);
    const objects = [{ Key: 'kept' }, ...Array.from({ length: Math.ceil(LIMITS.xmlBodyBytes / 1000) }, (_, i) => ({ Key: `${i}/${long}` }))];
    const f = await sdkFailure(client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: objects } })));
    expect({ status: f.status, code: f.code }).toEqual({ status: 400, code: 'MaxMessageLengthExceeded' });
    await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'kept' }));
  });
});

type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (d: SourceData): Buffer =>
  typeof d === 'string' ? Buffer.from(d, 'utf8') : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** The Checksum constructor @smithy/signature-v4 wants, on node:crypto. */
class NodeSha256 {
  private h;
  constructor(private readonly secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
}

describe('aws-chunked trailers', () => {
  it('a trailer flooded with 32 MiB of lines x-amz-trailer did not announce is 400 MalformedTrailerError, and the server holds none of it; SDK trailers still work', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-trailer-'));
    const script = path.join(tmp, 'server.mjs');
    // The server in a child process, so that its peak memory is its own: "mem" on stdin answers it.
    await writeFile(
      script,
      `import { createInterface } from 'node:readline';\n` +
        `import { startLocalS3 } from ${JSON.stringify(DIST)};\n` +
        `const s3 = await startLocalS3({ dataDir: process.argv[2], buckets: [${JSON.stringify(BUCKET)}] });\n` +
        `process.stdout.write(JSON.stringify({ endpoint: s3.endpoint, port: s3.port, region: s3.region, credentials: s3.credentials }) + '\\n');\n` +
        `createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }) + '\\n'));\n`,
    );
    const child = spawn(process.execPath, [script, path.join(tmp, 'data')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const target = JSON.parse((await lines.next()).value as string) as S3Target & { port: number };
    const peakMb = async () => {
      child.stdin!.write('mem\n');
      return (JSON.parse((await lines.next()).value as string) as { maxRssKb: number }).maxRssKb / 1024;
    };
    const c = s3Client(target, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    try {
      // SDK uploads with a checksum trailer, before (warming the server up) and after the flood.
      const sdkPut = async (key: string, alg: 'CRC32' | 'SHA256') => {
        const body = Buffer.alloc(100_000, key);
        await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from([body]), ContentLength: body.length, ChecksumAlgorithm: alg }));
        const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
      };
      await sdkPut('before-crc32', 'CRC32');
      await sdkPut('before-sha256', 'SHA256');
      const before = await peakMb();

      const data = Buffer.from('the object');
      const checksum = Buffer.alloc(4);
      checksum.writeUInt32BE(crc32(data));
      const flood = Buffer.from('x-foo:\r\n'.repeat(1024 * 1024 / 8));
      const head = Buffer.from(`${data.length.toString(16)}\r\n${data}\r\n0\r\n`);
      const tail = Buffer.from(`x-amz-checksum-crc32:${checksum.toString('base64')}\r\n\r\n`);
      const FLOOD_MIB = 32;
      const length = head.length + FLOOD_MIB * flood.length + tail.length;
      const signer = new SignatureV4({ service: 's3', region: target.region, credentials: target.credentials, sha256: NodeSha256, uriEscapePath: false });
      const host = `127.0.0.1:${target.port}`;
      const signed = await signer.sign({
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: target.port,
        path: `/${BUCKET}/flooded`,
        query: {},
        headers: {
          host,
          'content-length': String(length),
          'content-encoding': 'aws-chunked',
          'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
          'x-amz-decoded-content-length': String(data.length),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        },
      } as Parameters<SignatureV4['sign']>[0]);
      const answer = await new Promise<{ status: number; code: string | undefined }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: target.port, method: 'PUT', path: `/${BUCKET}/flooded`, headers: signed.headers, agent: false }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, code: xmlCode(text) }));
        });
        // The server may answer and close before the flood is all sent: that is its answer.
        req.on('error', reject);
        void (async () => {
          req.write(head);
          for (let i = 0; i < FLOOD_MIB && !req.destroyed; i++) if (!req.write(flood)) await new Promise((r) => req.once('drain', r));
          req.end(tail);
        })();
      });
      expect(answer).toEqual({ status: 400, code: 'MalformedTrailerError' });
      const after = await peakMb();
      expect(await sdkFailure(c.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'flooded' })))).toMatchObject({ status: 404 });
      await sdkPut('after-crc32', 'CRC32');
      await sdkPut('after-sha256', 'SHA256');
      console.log(`[trailer] ${FLOOD_MIB} MiB of trailer lines: ${answer.status} ${answer.code}; server peak RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after`);
      expect(after - before).toBeLessThan(FLOOD_MIB);
    } finally {
      c.destroy();
      child.kill('SIGKILL');
      await exited;
      await rm(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});

/** A signed request through @smithy/signature-v4 (an independent signer): headers to send. */
async function signedHeaders(target: S3Target & { port: number }, method: string, p: string, query: Record<string, string>, headers: Record<string, string>) {
  const signer = new SignatureV4({ service: 's3', region: target.region, credentials: target.credentials, sha256: NodeSha256, uriEscapePath: false });
  const signed = await signer.sign({ method, protocol: 'http:', hostname: '127.0.0.1', port: target.port, path: p, query, headers: { host: `127.0.0.1:${target.port}`, ...headers } } as Parameters<SignatureV4['sign']>[0]);
  return signed.headers as Record<string, string>;
}

describe('values S3 refuses with 400', () => {
  it('response-content-type (or any response-* override) with CR/LF is 400 InvalidArgument, not 500, and injects no header', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'override', Body: 'x' }));
    for (const [param, value] of [
      ['response-content-type', 'text/plain\r\nX-Injected: yes'],
      ['response-content-disposition', 'inline\nSet-Cookie: a=b'],
    ]) {
      const query = { [param]: value };
      const headers = await signedHeaders(s3, 'GET', `/${BUCKET}/override`, query, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
      const answer = await new Promise<{ status: number; code: string | undefined; injected: unknown }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: s3.port, method: 'GET', path: `/${BUCKET}/override?${param}=${encodeURIComponent(value)}`, headers, agent: false },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, code: xmlCode(text), injected: res.headers['x-injected'] ?? res.headers['set-cookie'] }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect({ param, ...answer }).toEqual({ param, status: 400, code: 'InvalidArgument', injected: undefined });
    }
  });

  it('CreateBucket: a LocationConstraint is 400 (InvalidLocationConstraint for us-east-1 itself or a made-up one, IllegalLocationConstraintException for another region); none is fine', async () => {
    for (const [location, code] of [
      ['moon-base-1', 'InvalidLocationConstraint'],
      ['us-east-1', 'InvalidLocationConstraint'],
      ['<script>', 'InvalidLocationConstraint'],
      ['eu-west-1', 'IllegalLocationConstraintException'],
    ]) {
      const f = await sdkFailure(client.send(new CreateBucketCommand({ Bucket: 'located', CreateBucketConfiguration: { LocationConstraint: location as never } })));
      expect({ location, status: f.status, code: f.code }).toEqual({ location, status: 400, code });
    }
    expect(await sdkFailure(client.send(new HeadBucketCommand({ Bucket: 'located' })))).toMatchObject({ status: 404 });
    await client.send(new CreateBucketCommand({ Bucket: 'located' }));
    await client.send(new HeadBucketCommand({ Bucket: 'located' }));
  });
});

describe('connections', () => {
  it('past maxConnections the longest-idle connections are closed, a request in progress is not, and new requests are served', async () => {
    const MAX = 20;
    const capped = await startLocalS3({ dataDir: path.join(dir, 'capped'), buckets: [BUCKET], maxConnections: MAX });
    const c = s3Client(capped);
    const idle: net.Socket[] = [];
    try {
      // A PUT in progress: the server has read its headers and asked for the body (100 Continue).
      const body = Buffer.from('sent after the flood of idle connections');
      const headers = await signedHeaders(capped, 'PUT', `/${BUCKET}/in-progress`, {}, { 'content-length': String(body.length), 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' });
      const req = http.request({ host: '127.0.0.1', port: capped.port, method: 'PUT', path: `/${BUCKET}/in-progress`, headers: { ...headers, expect: '100-continue' }, agent: false });
      const response = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.flushHeaders();
      await new Promise((resolve) => req.once('continue', resolve));

      // 3 × MAX connections that never send a byte. At most MAX stay open at the server: the PUT
      // in progress and the MAX - 1 newest idle ones.
      const CONNECTIONS = 3 * MAX;
      const EXPECT_CLOSED = CONNECTIONS - (MAX - 1);
      let closedByServer = 0;
      let enoughClosed!: () => void;
      const closedEnough = new Promise<void>((resolve) => (enoughClosed = resolve));
      for (let i = 0; i < CONNECTIONS; i++) {
        const socket = net.connect(capped.port, '127.0.0.1');
        socket.on('error', () => undefined);
        socket.once('close', () => ++closedByServer === EXPECT_CLOSED && enoughClosed());
        await new Promise((resolve) => socket.once('connect', resolve));
        idle.push(socket);
      }
      await closedEnough;
      // The oldest idle went first: the newest are the ones still open.
      expect(idle.map((s) => s.destroyed)).toEqual(idle.map((_, i) => i < EXPECT_CLOSED));

      req.end(body);
      expect(await response).toBe(200);
      await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after-flood', Body: 'served' }));
      const got = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'in-progress' }));
      expect(await got.Body!.transformToString()).toBe(body.toString());
    } finally {
      for (const s of idle) s.destroy();
      c.destroy();
      await capped.close();
    }
  }, 20_000);
});
