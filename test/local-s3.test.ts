// The embedded local S3 server: a REAL server on loopback, driven by real AWS SDK v3 clients
// (path-style, checksums only when required, as the project configures them) and plain fetch.
import { createRequire } from 'node:module';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import { startLocalS3, type LocalS3, type ObjectCreatedEvent } from '../src/local/s3-server.js';
import {
  BodyVerifier,
  checksumOf,
  planBody,
  verifySigV4,
  type SigV4Request,
} from '../src/local/s3-guard.js';
import {
  captureRequestHeaders,
  eventually,
  md5Hex,
  s3Client,
  sdkFailure,
  sha256B64,
  sleep,
  tamperBodyAfterSigning,
  xmlCode,
} from './helpers/s3.js';

const BUCKET = 'uploads';
const OTHER = 'variants';

let dataDir: string;
let s3: LocalS3;
let client: S3Client;
const events: ObjectCreatedEvent[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-test-'));
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET, OTHER] });
  s3.onObjectCreated((ev) => events.push(ev));
  client = s3Client(s3);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function getBytes(c: S3Client, key: string, bucket = BUCKET): Promise<Buffer> {
  const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function expectAbsent(key: string, bucket = BUCKET): Promise<void> {
  const f = await sdkFailure(client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
  expect(f.status).toBe(404);
}

async function put(key: string, body: Buffer | string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ...extra }));
}

describe('basics', () => {
  it('starts on loopback with a random port and the fixed local credentials', () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.port).toBeGreaterThan(0);
    expect(s3.region).toBe('us-east-1');
    expect(s3.credentials).toEqual({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  });

  it('put/get/head round-trips odd keys byte for byte', async () => {
    const keys = [
      'plain.txt',
      'with space.jpg',
      'plus+sign+.png',
      'percent%20literal%.txt',
      'unicode/ünïcødé/日本語 ファイル.webp',
      'emoji/😀 face.txt',
      "quotes'and(parens)!*~.txt",
      'nested/a/b/c/d/deep.bin',
      'folder-marker/',
    ];
    for (const [i, key] of keys.entries()) {
      const body = Buffer.from(`object ${i}: ${key}\n`.repeat(i + 1));
      await put(key, body, { ContentType: 'image/x-test', Metadata: { n: String(i) } });
      expect(await getBytes(client, key)).toEqual(body);
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.$metadata.httpStatusCode).toBe(200);
      expect(head.ContentLength).toBe(body.length);
      expect(head.ContentType).toBe('image/x-test');
      expect(head.ETag).toBe(`"${md5Hex(body)}"`);
      expect(head.Metadata).toEqual({ n: String(i) });
    }
  });

  it('answers a missing key with 404 NoSuchKey and a missing bucket with 404 NoSuchBucket', async () => {
    let f = await sdkFailure(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nope' })));
    expect([f.status, f.code]).toEqual([404, 'NoSuchKey']);
    f = await sdkFailure(client.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })));
    expect([f.status, f.code]).toEqual([404, 'NoSuchBucket']);
  });

  it('refuses anonymous requests with 403 AccessDenied', async () => {
    const res = await fetch(`${s3.endpoint}/${BUCKET}/plain.txt`);
    expect(res.status).toBe(403);
    expect(xmlCode(await res.text())).toBe('AccessDenied');
    const list = await fetch(`${s3.endpoint}/${BUCKET}?list-type=2`);
    expect(list.status).toBe(403);
    expect(xmlCode(await list.text())).toBe('AccessDenied');
  });
});

/** UTF-8 byte order: the order S3 lists keys in. */
const s3Order = (keys: string[]): string[] => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('listing', () => {
  const keys = [
    'list/a-c',
    'list/a/b',
    'list/a/c d',
    'list/a b',
    'list/a+b',
    'list/a%b',
    'list/Z',
    'list/é',
    'list/日本/x',
    'list/😀',
    'list/\uE000private',
    'list/deep/1/2/3.bin',
    'other/x',
  ];

  beforeAll(async () => {
    for (const key of keys) await client.send(new PutObjectCommand({ Bucket: OTHER, Key: key, Body: key }));
  });

  it('ListObjectsV2 returns every key once, in UTF-8 byte order, page by page', async () => {
    const expected = s3Order(keys.filter((k) => k.startsWith('list/')));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const out = await client.send(new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/', MaxKeys: 3, ContinuationToken: token }));
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.KeyCount).toBe(out.Contents?.length ?? 0);
      seen.push(...(out.Contents ?? []).map((o) => o.Key!));
      token = out.NextContinuationToken;
      expect(out.IsTruncated).toBe(token !== undefined);
      pages++;
    } while (token);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 3));
  });

  it('ListObjectsV2 reports sizes and ETags, and filters by prefix', async () => {
    const out = await client.send(new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/a' }));
    const want = s3Order(keys.filter((k) => k.startsWith('list/a')));
    expect(out.Contents!.map((o) => o.Key)).toEqual(want);
    for (const o of out.Contents!) {
      expect(o.Size).toBe(Buffer.byteLength(o.Key!));
      expect(o.ETag).toBe(`"${md5Hex(o.Key!)}"`);
      expect(o.LastModified).toBeInstanceOf(Date);
    }
    const unicode = await client.send(new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/日本/' }));
    expect(unicode.Contents!.map((o) => o.Key)).toEqual(['list/日本/x']);
  });

  it('ListObjectsV2 with a delimiter pages over keys and common prefixes, each exactly once', async () => {
    const all = await client.send(new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/', Delimiter: '/' }));
    expect(all.CommonPrefixes!.map((p) => p.Prefix)).toEqual(['list/a/', 'list/deep/', 'list/日本/']);
    const direct = s3Order(keys.filter((k) => k.startsWith('list/') && !k.slice(5).includes('/')));
    expect(all.Contents!.map((o) => o.Key)).toEqual(direct);
    expect(all.KeyCount).toBe(direct.length + 3);

    const items: string[] = [];
    let token: string | undefined;
    do {
      const out = await client.send(
        new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/', Delimiter: '/', MaxKeys: 1, ContinuationToken: token }),
      );
      items.push(...(out.Contents ?? []).map((o) => o.Key!), ...(out.CommonPrefixes ?? []).map((p) => p.Prefix!));
      token = out.NextContinuationToken;
    } while (token);
    expect(items).toEqual(s3Order([...direct, 'list/a/', 'list/deep/', 'list/日本/']));
  });

  it('ListObjectsV2 honours StartAfter and refuses a forged continuation token', async () => {
    const out = await client.send(new ListObjectsV2Command({ Bucket: OTHER, Prefix: 'list/', StartAfter: 'list/a/c d' }));
    const all = s3Order(keys.filter((k) => k.startsWith('list/')));
    expect(out.Contents!.map((o) => o.Key)).toEqual(all.slice(all.indexOf('list/a/c d') + 1));
    const f = await sdkFailure(client.send(new ListObjectsV2Command({ Bucket: OTHER, ContinuationToken: 'Zm9yZ2Vk' })));
    expect([f.status, f.code]).toEqual([400, 'InvalidArgument']);
  });

  it('ListObjects (V1) pages with Marker / NextMarker', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await client.send(new ListObjectsCommand({ Bucket: OTHER, Prefix: 'list/', Delimiter: '/', MaxKeys: 2, Marker: marker }));
      seen.push(...(out.Contents ?? []).map((o) => o.Key!), ...(out.CommonPrefixes ?? []).map((p) => p.Prefix!));
      if (!out.IsTruncated) break;
      marker = out.NextMarker;
      expect(marker).toBeDefined();
    }
    const direct = keys.filter((k) => k.startsWith('list/') && !k.slice(5).includes('/'));
    expect(s3Order(seen)).toEqual(s3Order([...direct, 'list/a/', 'list/deep/', 'list/日本/']));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('signatures', () => {
  const wrongSecret = () => s3Client({ ...s3, credentials: { accessKeyId: s3.credentials.accessKeyId, secretAccessKey: 'not-the-secret' } });

  it('refuses PUT and LIST signed with a wrong secret: 403 SignatureDoesNotMatch, nothing stored', async () => {
    const bad = wrongSecret();
    let f = await sdkFailure(bad.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sig/wrong-secret.txt', Body: 'x' })));
    expect([f.status, f.code]).toEqual([403, 'SignatureDoesNotMatch']);
    await expectAbsent('sig/wrong-secret.txt');
    f = await sdkFailure(bad.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sig/' })));
    expect([f.status, f.code]).toEqual([403, 'SignatureDoesNotMatch']);
    // The same, read straight off the wire.
    const url = await getSignedUrl(bad, new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sig/' }), { expiresIn: 60 });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    expect(xmlCode(await res.text())).toBe('SignatureDoesNotMatch');
    const putUrl = await getSignedUrl(bad, new PutObjectCommand({ Bucket: BUCKET, Key: 'sig/wrong-secret.txt' }), { expiresIn: 60 });
    const putRes = await fetch(putUrl, { method: 'PUT', body: 'x' });
    expect(putRes.status).toBe(403);
    expect(xmlCode(await putRes.text())).toBe('SignatureDoesNotMatch');
    await expectAbsent('sig/wrong-secret.txt');
    bad.destroy();
  });

  it('ListObjectsV2 signed correctly works (the path the SDK signs is /bucket/)', async () => {
    await put('sig/listed.txt', 'listed');
    const url = await getSignedUrl(client, new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sig/' }), { expiresIn: 60 });
    expect(new URL(url).pathname).toBe(`/${BUCKET}/`);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Key>sig/listed.txt</Key>');
  });

  it('refuses an unknown access key (403 InvalidAccessKeyId) and a skewed clock (403 RequestTimeTooSkewed)', async () => {
    const unknown = s3Client({ ...s3, credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } });
    let f = await sdkFailure(unknown.send(new ListObjectsV2Command({ Bucket: BUCKET })));
    expect([f.status, f.code]).toEqual([403, 'InvalidAccessKeyId']);
    unknown.destroy();
    const skewed = s3Client(s3, { systemClockOffset: -20 * 60 * 1000 });
    f = await sdkFailure(skewed.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sig/skewed.txt', Body: 'x' })));
    expect([f.status, f.code]).toEqual([403, 'RequestTimeTooSkewed']);
    await expectAbsent('sig/skewed.txt');
    skewed.destroy();
  });

  it('refuses x-amz-* headers that the signature does not cover (403 AccessDenied)', async () => {
    await put('sig/readable.txt', 'readable');
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: BUCKET, Key: 'sig/readable.txt' }), { expiresIn: 60 });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('readable');
    const res = await fetch(url, { headers: { 'x-amz-meta-smuggled': '1' } });
    expect(res.status).toBe(403);
    expect(xmlCode(await res.text())).toBe('AccessDenied');
  });

  it('honours response-* overrides on a signed GET', async () => {
    await put('sig/override.bin', 'override', { ContentType: 'application/octet-stream' });
    const url = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: BUCKET, Key: 'sig/override.bin', ResponseContentType: 'text/plain', ResponseContentDisposition: 'attachment; filename="x.txt"' }),
      { expiresIn: 60 },
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="x.txt"');
  });
});

describe('pre-signed PUT', () => {
  const png = (seed: number, n = 2048): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

  async function presignPut(
    key: string,
    body: Buffer,
    opts: { contentType?: string; signContentType?: boolean; expiresIn?: number; signingDate?: Date; checksumAsHeader?: boolean } = {},
  ): Promise<string> {
    return getSignedUrl(
      client,
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        ContentType: opts.contentType ?? 'image/png',
        ContentLength: body.length,
        ChecksumSHA256: sha256B64(body),
      }),
      {
        expiresIn: opts.expiresIn ?? 300,
        signingDate: opts.signingDate,
        signableHeaders: opts.signContentType === false ? undefined : new Set(['content-type']),
        unhoistableHeaders: opts.checksumAsHeader ? new Set(['x-amz-checksum-sha256']) : undefined,
      },
    );
  }

  async function putWithFetch(url: string, body: Buffer | string, headers: Record<string, string> = { 'content-type': 'image/png' }) {
    const res = await fetch(url, { method: 'PUT', body, headers });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  it('works with plain fetch; the checksum travels as a signed query parameter', async () => {
    const body = png(1);
    const url = await presignPut('presign/ok image.png', body);
    const q = new URL(url).searchParams;
    expect(q.get('x-amz-checksum-sha256')).toBe(sha256B64(body));
    expect(q.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host');
    const res = await putWithFetch(url, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${md5Hex(body)}"`);
    expect(res.headers.get('x-amz-checksum-sha256')).toBe(sha256B64(body));
    expect(await getBytes(client, 'presign/ok image.png')).toEqual(body);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'presign/ok image.png' }));
    expect(head.ContentType).toBe('image/png');
  });

  it('refuses a different body of the same length: 400 BadDigest, nothing stored', async () => {
    const body = png(2);
    const url = await presignPut('presign/bad-digest.png', body);
    const other = png(3);
    expect(other.length).toBe(body.length);
    const res = await putWithFetch(url, other);
    expect(res.status).toBe(400);
    expect(xmlCode(res.text)).toBe('BadDigest');
    expect(res.text).toContain('The SHA256 you specified did not match the calculated checksum.');
    await expectAbsent('presign/bad-digest.png');
  });

  it('refuses a body whose length differs from the signed Content-Length: 403 SignatureDoesNotMatch', async () => {
    const body = png(4);
    const url = await presignPut('presign/bad-length.png', body);
    for (const wrong of [Buffer.concat([body, Buffer.from('x')]), body.subarray(1)]) {
      const res = await putWithFetch(url, wrong);
      expect(res.status).toBe(403);
      expect(xmlCode(res.text)).toBe('SignatureDoesNotMatch');
    }
    await expectAbsent('presign/bad-length.png');
  });

  it('refuses a Content-Type different from the signed one: 403 SignatureDoesNotMatch', async () => {
    const body = png(5);
    const url = await presignPut('presign/bad-type.png', body, { signContentType: true });
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toContain('content-type');
    for (const type of ['image/jpeg', 'text/html']) {
      const res = await putWithFetch(url, body, { 'content-type': type });
      expect(res.status).toBe(403);
      expect(xmlCode(res.text)).toBe('SignatureDoesNotMatch');
    }
    await expectAbsent('presign/bad-type.png');
    expect((await putWithFetch(url, body, { 'content-type': 'image/png' })).status).toBe(200);
  });

  it('does not enforce Content-Type when it is not signed (getSignedUrl leaves it unsigned by default), like S3', async () => {
    const body = png(6);
    const url = await presignPut('presign/unsigned-type.png', body, { signContentType: false });
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host');
    const res = await putWithFetch(url, body, { 'content-type': 'text/html' });
    expect(res.status).toBe(200);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'presign/unsigned-type.png' }));
    expect(head.ContentType).toBe('text/html');
  });

  it('refuses an expired URL: 403 AccessDenied, nothing stored', async () => {
    const body = png(7);
    const past = await presignPut('presign/expired.png', body, { expiresIn: 60, signingDate: new Date(Date.now() - 5 * 60 * 1000) });
    let res = await putWithFetch(past, body);
    expect(res.status).toBe(403);
    expect(xmlCode(res.text)).toBe('AccessDenied');
    expect(res.text).toContain('Request has expired');

    const short = await presignPut('presign/expired.png', body, { expiresIn: 1 });
    await sleep(2100);
    res = await putWithFetch(short, body);
    expect(res.status).toBe(403);
    expect(xmlCode(res.text)).toBe('AccessDenied');
    await expectAbsent('presign/expired.png');
  });

  it('refuses a tampered URL, nothing stored', async () => {
    const body = png(8);
    const key = 'presign/tampered.png';
    const url = new URL(await presignPut(key, body));
    const variants: Array<[string, (u: URL) => void, number, string, Buffer?]> = [
      ['longer expiry', (u) => u.searchParams.set('X-Amz-Expires', '604800'), 403, 'SignatureDoesNotMatch'],
      ['other checksum (and matching body)', (u) => u.searchParams.set('x-amz-checksum-sha256', sha256B64(png(9))), 403, 'SignatureDoesNotMatch', png(9)],
      ['other key', (u) => (u.pathname = `/${BUCKET}/presign/elsewhere.png`), 403, 'SignatureDoesNotMatch'],
      ['other bucket', (u) => (u.pathname = `/${OTHER}/presign/tampered.png`), 403, 'SignatureDoesNotMatch'],
      ['extra parameter', (u) => u.searchParams.set('x-amz-acl', 'public-read'), 403, 'SignatureDoesNotMatch'],
      ['other signature', (u) => u.searchParams.set('X-Amz-Signature', '0'.repeat(64)), 403, 'SignatureDoesNotMatch'],
      ['no signature', (u) => u.searchParams.delete('X-Amz-Signature'), 400, 'AuthorizationQueryParametersError'],
      ['other region', (u) => u.searchParams.set('X-Amz-Credential', u.searchParams.get('X-Amz-Credential')!.replace('us-east-1', 'eu-west-1')), 400, 'AuthorizationQueryParametersError'],
    ];
    for (const [what, change, status, code, sendBody] of variants) {
      const u = new URL(url);
      change(u);
      const res = await putWithFetch(u.toString(), sendBody ?? body);
      expect({ what, status: res.status, code: xmlCode(res.text) }).toEqual({ what, status, code });
    }
    await expectAbsent(key);
    await expectAbsent('presign/elsewhere.png');
    await expectAbsent('presign/tampered.png', OTHER);
    expect((await putWithFetch(url.toString(), body)).status).toBe(200);
  });

  it('also checks x-amz-checksum-sha256 when it is a signed header rather than a query parameter', async () => {
    const body = png(10);
    const url = await presignPut('presign/checksum-header.png', body, { checksumAsHeader: true });
    expect(new URL(url).searchParams.get('x-amz-checksum-sha256')).toBeNull();
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toContain('x-amz-checksum-sha256');
    const withHeader = (b: Buffer) => putWithFetch(url, b, { 'content-type': 'image/png', 'x-amz-checksum-sha256': sha256B64(body) });
    let res = await withHeader(png(11));
    expect([res.status, xmlCode(res.text)]).toEqual([400, 'BadDigest']);
    res = await putWithFetch(url, body); // signed header missing
    expect([res.status, xmlCode(res.text)]).toEqual([403, 'SignatureDoesNotMatch']);
    await expectAbsent('presign/checksum-header.png');
    res = await withHeader(body);
    expect(res.status).toBe(200);
    expect(await getBytes(client, 'presign/checksum-header.png')).toEqual(body);
  });
});

describe('body checks on SDK uploads', () => {
  const random = (n: number, seed: number): Buffer => {
    const b = Buffer.alloc(n);
    let x = seed;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      b[i] = x >>> 16;
    }
    return b;
  };

  it('stores the exact bytes of a stream Body sent with ContentLength and ChecksumSHA256 (memory and file spool)', async () => {
    for (const size of [0, 1, 70_000, 3 * 1024 * 1024 + 17]) {
      const body = random(size, size + 1);
      const pieces = [body.subarray(0, Math.floor(size / 3)), body.subarray(Math.floor(size / 3))];
      const key = `body/stream-${size}.bin`;
      const out = await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from(pieces), ContentLength: size, ChecksumSHA256: sha256B64(body) }),
      );
      expect(out.ETag).toBe(`"${md5Hex(body)}"`);
      expect(out.ChecksumSHA256).toBe(sha256B64(body));
      expect(await getBytes(client, key)).toEqual(body);
    }
  });

  it('refuses a wrong ChecksumSHA256: 400 BadDigest, nothing stored', async () => {
    const f = await sdkFailure(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/bad-sha.bin', Body: 'hello', ChecksumSHA256: sha256B64('hellO') })),
    );
    expect([f.status, f.code]).toEqual([400, 'BadDigest']);
    await expectAbsent('body/bad-sha.bin');
  });

  it('refuses a malformed checksum value and several checksums at once: 400 InvalidRequest', async () => {
    let f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/x.bin', Body: 'x', ChecksumSHA256: 'not-base64!' })));
    expect([f.status, f.code]).toEqual([400, 'InvalidRequest']);
    f = await sdkFailure(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/x.bin', Body: 'x', ChecksumSHA256: sha256B64('x'), ChecksumCRC32: checksumOf('CRC32', Buffer.from('x')) })),
    );
    expect([f.status, f.code]).toEqual([400, 'InvalidRequest']);
    await expectAbsent('body/x.bin');
  });

  it('refuses a stream of unknown length: 411 MissingContentLength, like S3', async () => {
    const f = await sdkFailure(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/no-length.bin', Body: Readable.from([Buffer.from('abc')]), ChecksumSHA256: sha256B64('abc') })),
    );
    expect([f.status, f.code]).toEqual([411, 'MissingContentLength']);
    await expectAbsent('body/no-length.bin');
  });

  it('refuses a wrong or malformed Content-MD5: 400 BadDigest / InvalidDigest', async () => {
    const md5b64 = (s: string) => Buffer.from(md5Hex(s), 'hex').toString('base64');
    let f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/md5.bin', Body: 'abc', ContentMD5: md5b64('abd') })));
    expect([f.status, f.code]).toEqual([400, 'BadDigest']);
    f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/md5.bin', Body: 'abc', ContentMD5: 'short' })));
    expect([f.status, f.code]).toEqual([400, 'InvalidDigest']);
    await expectAbsent('body/md5.bin');
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/md5.bin', Body: 'abc', ContentMD5: md5b64('abc') }));
    expect((await getBytes(client, 'body/md5.bin')).toString()).toBe('abc');
  });

  it('refuses a body changed in transit after signing: 400 XAmzContentSHA256Mismatch', async () => {
    const c = s3Client(s3);
    tamperBodyAfterSigning(c, (b) => Buffer.from(b.toString().replace('cat', 'cot')));
    const f = await sdkFailure(c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/in-transit.txt', Body: 'the cat sat' })));
    expect([f.status, f.code]).toEqual([400, 'XAmzContentSHA256Mismatch']);
    await expectAbsent('body/in-transit.txt');
    c.destroy();
  });

  it('DeleteObjects (checksum required, computed by the SDK) is verified and works', async () => {
    await put('body/del-1', '1');
    await put('body/del 2+', '2');
    const out = await client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'body/del-1' }, { Key: 'body/del 2+' }] } }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    await expectAbsent('body/del-1');
    await expectAbsent('body/del 2+');
    await put('body/del-3', '3');
    const c = s3Client(s3);
    tamperBodyAfterSigning(c, (b) => Buffer.from(b.toString().replace('del-3', 'del-4')));
    const f = await sdkFailure(c.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'body/del-3' }] } })));
    expect(f.status).toBe(400);
    expect(['BadDigest', 'XAmzContentSHA256Mismatch']).toContain(f.code);
    expect((await getBytes(client, 'body/del-3')).toString()).toBe('3');
    c.destroy();
  });
});

describe('aws-chunked uploads (flexible checksums in a trailer)', () => {
  const algorithms = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;

  it.each(algorithms)('stores the exact bytes of a %s-trailed streaming upload', async (alg) => {
    const c = s3Client(s3, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    const sent = captureRequestHeaders(c);
    const body = Buffer.concat([Buffer.alloc(9000, 'a'), Buffer.from(' ünï '), Buffer.alloc(70_001, 7)]);
    const key = `chunked/${alg} file.bin`;
    await c.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from([body.subarray(0, 5), body.subarray(5, 9100), body.subarray(9100)]), ContentLength: body.length, ChecksumAlgorithm: alg }),
    );
    expect(sent.at(-1)!['x-amz-content-sha256']).toBe('STREAMING-UNSIGNED-PAYLOAD-TRAILER');
    expect(sent.at(-1)!['x-amz-trailer']).toBe(`x-amz-checksum-${alg.toLowerCase()}`);
    expect(await getBytes(client, key)).toEqual(body);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentEncoding).toBeUndefined(); // aws-chunked is framing, not stored
    c.destroy();
  });

  it('refuses a corrupted trailer checksum or corrupted data: 400 BadDigest, nothing stored', async () => {
    const body = Buffer.from('chunky bacon '.repeat(1000));
    for (const [what, rewrite] of [
      ['trailer', (b: Buffer) => Buffer.from(b.toString('latin1').replace(/(x-amz-checksum-crc32c:)[^\r]+/, '$1AAAAAA=='), 'latin1')],
      ['data', (b: Buffer) => Buffer.from(b.toString('latin1').replace('bacon', 'bacoN'), 'latin1')],
    ] as const) {
      const c = s3Client(s3, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
      tamperBodyAfterSigning(c, rewrite);
      const f = await sdkFailure(
        c.send(new PutObjectCommand({ Bucket: BUCKET, Key: `chunked/corrupt-${what}.txt`, Body: Readable.from([body]), ContentLength: body.length, ChecksumAlgorithm: 'CRC32C' })),
      );
      expect({ what, status: f.status, code: f.code }).toEqual({ what, status: 400, code: 'BadDigest' });
      await expectAbsent(`chunked/corrupt-${what}.txt`);
      c.destroy();
    }
  });

  it('refuses a truncated aws-chunked body: 400 IncompleteBody, nothing stored', async () => {
    const c = s3Client(s3, { requestChecksumCalculation: 'WHEN_SUPPORTED' });
    tamperBodyAfterSigning(c, (b) => b.subarray(0, b.indexOf('\r\n0\r\n') + 2));
    const body = Buffer.from('truncated '.repeat(100));
    const f = await sdkFailure(
      c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked/truncated.txt', Body: Readable.from([body]), ContentLength: body.length, ChecksumAlgorithm: 'CRC32' })),
    );
    expect([f.status, f.code]).toEqual([400, 'IncompleteBody']);
    await expectAbsent('chunked/truncated.txt');
    c.destroy();
  });
});
