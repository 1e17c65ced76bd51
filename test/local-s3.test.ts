// The embedded local S3 server: a REAL server on loopback, driven by real AWS SDK v3 clients
// (path-style, checksums only when required, as the project configures them) and plain fetch.
import net from 'node:net';
import { mkdtemp, readFile, rm, readdir, stat } from 'node:fs/promises';
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

import { folderCredentials, readFolderCredentials, startLocalS3, type LocalS3, type ObjectCreatedEvent } from '@imgpipe/local-s3';
import {
  BodyVerifier,
  checksumOf,
  planBody,
  verifySigV4,
  type SigV4Request,
} from '@imgpipe/local-s3';
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
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET, OTHER], silent: !process.env.S3_DEBUG });
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
  it('starts on loopback with a random port and the data folder\'s own random credentials (mode 0600)', async () => {
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    expect(s3.port).toBeGreaterThan(0);
    expect(s3.region).toBe('us-east-1');
    expect(s3.credentials.accessKeyId).toMatch(/^LOCAL[0-9A-F]{15}$/);
    expect(s3.credentials.secretAccessKey.length).toBeGreaterThanOrEqual(40);
    expect(JSON.parse(await readFile(path.join(dataDir, 'credentials.json'), 'utf8'))).toEqual(s3.credentials);
    expect((await stat(path.join(dataDir, 'credentials.json'))).mode & 0o777).toBe(0o600);
    const other = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-creds-'));
    try {
      expect((await readFolderCredentials(other))).toBeUndefined();
      const made = await folderCredentials(other);
      expect(made.accessKeyId).not.toBe(s3.credentials.accessKeyId);
      expect(await folderCredentials(other)).toEqual(made);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
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

  it('answers a refused large upload before its body is sent (Expect: 100-continue)', async () => {
    const bad = wrongSecret();
    const sent = captureRequestHeaders(bad);
    const body = Buffer.alloc(4 * 1024 * 1024, 5);
    const f = await sdkFailure(bad.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sig/big.bin', Body: body })));
    expect(sent[0].Expect ?? sent[0].expect).toBe('100-continue');
    expect([f.status, f.code]).toEqual([403, 'SignatureDoesNotMatch']);
    await expectAbsent('sig/big.bin');
    bad.destroy();
    await put('sig/after-big.txt', 'still serving');
    expect((await getBytes(client, 'sig/after-big.txt')).toString()).toBe('still serving');
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
    const res = await fetch(url, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body), headers });
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
    for (const size of [0, 1, 70_000, 9 * 1024 * 1024 + 17]) { // the last one spills past the 8 MiB memory spool
      const body = random(size, size + 1);
      const pieces = [body.subarray(0, Math.floor(size / 3)), body.subarray(Math.floor(size / 3))];
      const key = `body/stream-${size}.bin`;
      const out = await client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Readable.from(pieces), ContentLength: size, ChecksumSHA256: sha256B64(body) }),
      );
      expect(out.ETag).toBe(`"${md5Hex(body)}"`);
      expect(out.ChecksumSHA256).toBe(sha256B64(body));
      const got = await getBytes(client, key);
      expect(got.length).toBe(size);
      expect(got.equals(body)).toBe(true); // (toEqual on megabytes is needlessly slow)
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
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'body/x.bin', Body: 'x', ChecksumSHA256: sha256B64('x'), ChecksumCRC32: await checksumOf('CRC32', Buffer.from('x')) })),
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

describe('HTTP framing', () => {
  it('stores nothing when the connection ends before Content-Length bytes arrived', async () => {
    const body = Buffer.from('0123456789');
    const url = new URL(
      await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'framing/short.bin', ContentLength: body.length, ChecksumSHA256: sha256B64(body) }), { expiresIn: 60 }),
    );
    const response = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(s3.port, '127.0.0.1', () => {
        sock.write(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: ${body.length}\r\n\r\n`);
        sock.write(body.subarray(0, 6));
        setTimeout(() => sock.end(), 50);
      });
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('close', () => resolve(got));
      sock.on('error', reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 400[\s\S]*<Code>IncompleteBody<\/Code>/);
    await sleep(50);
    await expectAbsent('framing/short.bin');
  });

  it('a connection gone before the server reads the body (headers, a few bytes, FIN at once) leaves no blob behind', async () => {
    // The signature check and the blob's open come first: the connection is often gone by then,
    // and a body read that waited for an event that had already passed kept the blob open forever.
    const url = new URL(await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: 'framing/gone.bin' }), { expiresIn: 60 }));
    const blobsDir = path.join(dataDir, 'blobs');
    const before = (await readdir(blobsDir)).length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<string>((resolve, reject) => {
          const sock = net.connect(s3.port, '127.0.0.1');
          let got = '';
          sock.on('data', (d) => (got += d.toString()));
          sock.on('close', () => resolve(got));
          sock.on('error', reject);
          sock.end(`PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 10\r\n\r\nabc`);
        }),
      ),
    );
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 400[\s\S]*<Code>IncompleteBody<\/Code>/);
    await eventually(async () => expect((await readdir(blobsDir)).length).toBe(before));
    await expectAbsent('framing/gone.bin');
  });

  it('serves byte ranges', async () => {
    await put('framing/range.txt', '0123456789');
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'framing/range.txt', Range: 'bytes=2-4' }));
    expect(out.$metadata.httpStatusCode).toBe(206);
    expect(await out.Body!.transformToString()).toBe('234');
  });
});

describe('onObjectCreated', () => {
  it('fires once per stored object (PUT, pre-signed PUT, CopyObject), after it is readable, with the raw key', async () => {
    const keys = ['events/a b+c%d.jpg', 'events/ünï/日本 😀.png', 'events/presigned+ %.png'];
    const readable: Array<[string, string]> = [];
    const mine: ObjectCreatedEvent[] = [];
    const off = s3.onObjectCreated((ev) => {
      if (!ev.key.startsWith('events/')) return;
      mine.push(ev);
      // The object must already be readable when the event arrives.
      void getBytes(client, ev.key, ev.bucket).then(
        (b) => readable.push([ev.key, b.toString()]),
        (err: Error) => readable.push([ev.key, `ERROR ${err.name}`]),
      );
    });
    await put(keys[0], 'zero');
    await put(keys[1], 'one!');
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: BUCKET, Key: keys[2], ContentLength: 3, ChecksumSHA256: sha256B64('two') }), { expiresIn: 60 });
    expect((await fetch(url, { method: 'PUT', body: 'two' })).status).toBe(200);
    // Refused uploads fire nothing.
    await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'events/refused', Body: 'x', ChecksumSHA256: sha256B64('y') })));
    const copyKey = 'events/copy of a b+c%d.jpg';
    await client.send(
      new CopyObjectCommand({ Bucket: OTHER, Key: copyKey, CopySource: `${BUCKET}/${keys[0].split('/').map(encodeURIComponent).join('/')}` }),
    );
    expect((await getBytes(client, copyKey, OTHER)).toString()).toBe('zero');

    await eventually(() => expect(readable).toHaveLength(4));
    await sleep(200); // and nothing else arrives later
    off();
    expect(mine.map((e) => [e.bucket, e.key, e.eventName])).toEqual([
      [BUCKET, keys[0], 'ObjectCreated:Put'],
      [BUCKET, keys[1], 'ObjectCreated:Put'],
      [BUCKET, keys[2], 'ObjectCreated:Put'],
      [OTHER, copyKey, 'ObjectCreated:Copy'],
    ]);
    expect(mine.map((e) => [e.size, e.eTag])).toEqual([
      [4, md5Hex('zero')],
      [4, md5Hex('one!')],
      [3, md5Hex('two')],
      [4, md5Hex('zero')],
    ]);
    for (const e of mine) expect(new Date(e.eventTime).toISOString()).toBe(e.eventTime);
    expect(readable.sort()).toEqual(
      [
        [keys[0], 'zero'],
        [keys[1], 'one!'],
        [keys[2], 'two'],
        [copyKey, 'zero'],
      ].sort(),
    );
    // The suite-wide listener saw the same events exactly once each.
    expect(events.filter((e) => e.key.startsWith('events/')).map((e) => e.key)).toEqual([...keys, copyKey]);
  });

  it('stops calling a listener once unsubscribed, and survives a throwing listener', async () => {
    const calls: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const offThrowing = s3.onObjectCreated(() => {
      throw new Error('listener bug');
    });
    const off = s3.onObjectCreated((ev) => calls.push(ev.key));
    try {
      await put('unsub/one', '1');
      await eventually(() => expect(calls).toEqual(['unsub/one']));
      off();
      await put('unsub/two', '2');
      await eventually(() => expect(events.map((e) => e.key)).toContain('unsub/two'));
      await sleep(50);
      expect(calls).toEqual(['unsub/one']);
    } finally {
      offThrowing();
      stderr.mockRestore();
    }
  });

  it('fires ObjectCreated:CompleteMultipartUpload once for a multipart upload', async () => {
    const key = 'events/multi part+.bin';
    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from('tail');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const p1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part1, ChecksumSHA256: sha256B64(part1) }));
    const bad = await sdkFailure(
      client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2, ChecksumSHA256: sha256B64('tale') })),
    );
    expect([bad.status, bad.code]).toEqual([400, 'BadDigest']);
    const p2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: part2 }));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] },
      }),
    );
    const got = await getBytes(client, key);
    expect(got.equals(Buffer.concat([part1, part2]))).toBe(true);
    await eventually(() => expect(events.filter((e) => e.key === key)).toHaveLength(1));
    await sleep(100);
    const [ev] = events.filter((e) => e.key === key);
    expect([ev.eventName, ev.size]).toEqual(['ObjectCreated:CompleteMultipartUpload', part1.length + part2.length]);
  });
});

describe('refusals that protect the on-disk store', () => {
  it('refuses keys a directory tree cannot hold (empty, "." or ".." segments): 400 InvalidArgument', async () => {
    for (const key of ['a/../escape.txt', '../outside.txt', 'a//b.txt', '/leading-slash.txt', 'dot/./x']) {
      const f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })));
      expect({ key, status: f.status, code: f.code }).toEqual({ key, status: 400, code: 'InvalidArgument' });
    }
    const entries = await readdir(dataDir);
    expect(entries.sort()).toEqual(['blobs', 'credentials.json', 'journal.jsonl']);
  });

  it('refuses keys over 1024 UTF-8 bytes: 400 KeyTooLongError', async () => {
    const f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'é'.repeat(513), Body: 'x' })));
    expect([f.status, f.code]).toEqual([400, 'KeyTooLongError']);
  });

  it('refuses browser POST uploads (no policy checks here): 501 NotImplemented', async () => {
    const form = new FormData();
    form.set('key', 'post/upload.txt');
    form.set('file', new Blob(['x']), 'upload.txt');
    const res = await fetch(`${s3.endpoint}/${BUCKET}`, { method: 'POST', body: form });
    expect(res.status).toBe(501);
    expect(xmlCode(await res.text())).toBe('NotImplemented');
    await expectAbsent('post/upload.txt');
  });
});

describe('lifecycle', () => {
  it('keeps every object across a restart on the same dataDir (and port), adding new buckets', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-restart-'));
    try {
      const first = await startLocalS3({ dataDir: dir, buckets: ['keep-me'] });
      const c1 = s3Client(first);
      const objects: Record<string, string> = { 'a.txt': 'A', 'dir/ü b+c%.png': 'B', 'deep/x/y/z': 'C' };
      for (const [k, v] of Object.entries(objects)) await c1.send(new PutObjectCommand({ Bucket: 'keep-me', Key: k, Body: v }));
      c1.destroy();
      const port = first.port;
      await first.close();
      await first.close(); // idempotent

      const second = await startLocalS3({ dataDir: dir, buckets: ['keep-me', 'added-later'], port });
      expect(second.port).toBe(port);
      const c2 = s3Client(second);
      for (const [k, v] of Object.entries(objects)) expect((await getBytes(c2, k, 'keep-me')).toString()).toBe(v);
      const list = await c2.send(new ListObjectsV2Command({ Bucket: 'keep-me' }));
      expect(list.Contents!.map((o) => o.Key)).toEqual(s3Order(Object.keys(objects)));
      const empty = await c2.send(new ListObjectsV2Command({ Bucket: 'added-later' }));
      expect(empty.KeyCount).toBe(0);
      c2.destroy();
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is quiet by default: nothing on stdout or stderr while serving', async () => {
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    const log = vi.spyOn(console, 'log');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-quiet-'));
    try {
      const quiet = await startLocalS3({ dataDir: dir, buckets: ['quiet'] });
      const c = s3Client(quiet);
      await c.send(new PutObjectCommand({ Bucket: 'quiet', Key: 'k', Body: 'v' }));
      await getBytes(c, 'k', 'quiet');
      await sdkFailure(c.send(new GetObjectCommand({ Bucket: 'quiet', Key: 'missing' })));
      await c.send(new ListObjectsV2Command({ Bucket: 'quiet' }));
      c.destroy();
      await quiet.close();
      const ours = [...out.mock.calls, ...err.mock.calls, ...log.mock.calls].filter((call) => !/NodeVersionSupportWarning|node >=22/.test(String(call[0])));
      expect(ours).toEqual([]);
    } finally {
      out.mockRestore();
      err.mockRestore();
      log.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// The guard against the worked examples in the S3 SigV4 documentation (sig-v4-header-based-auth,
// sigv4-query-string-auth, sigv4-streaming, sigv4-streaming-trailers): an oracle independent of
// both the SDK and this implementation.
describe('SigV4 verification against the AWS documentation examples', async () => {
  const DOC = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };
  const T0 = Date.UTC(2013, 4, 24, 0, 0, 0);
  const h = (o: Record<string, string>): Record<string, string[]> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [v]]));
  const auth = (signed: string, sig: string) =>
    `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${sig}`;
  const code = async (f: () => unknown): Promise<string | undefined> => {
    try {
      await f();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return undefined;
  };

  it('GET Object with a Range header (Authorization header)', async () => {
    const req: SigV4Request = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery: '',
      headers: h({
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
        authorization: auth('host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'),
      }),
    };
    expect(verifySigV4(req, { ...DOC, now: T0 + 60_000 })?.mode).toBe('header');
    expect(await code(() => verifySigV4({ ...req, headers: { ...req.headers, range: ['bytes=0-10'] } }, { ...DOC, now: T0 }))).toBe('SignatureDoesNotMatch');
    expect(await code(() => verifySigV4(req, { ...DOC, now: T0 + 16 * 60_000 }))).toBe('RequestTimeTooSkewed');
  });

  it('pre-signed GET Object (query string), including expiry', async () => {
    const req: SigV4Request = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery:
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      headers: h({ host: 'examplebucket.s3.amazonaws.com' }),
    };
    expect(verifySigV4(req, { ...DOC, now: T0 + 3600_000 })?.mode).toBe('presigned');
    expect(await code(() => verifySigV4(req, { ...DOC, now: T0 + 86_401_000 }))).toBe('AccessDenied');
    expect(await code(() => verifySigV4({ ...req, rawPath: '/test2.txt' }, { ...DOC, now: T0 }))).toBe('SignatureDoesNotMatch');
  });

  function chunkedExample(trailer: boolean) {
    const [payload, signed, seed, sigs, trailers] = trailer
      ? [
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
          'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
          '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
          [
            'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
            '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
            '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
          ],
          'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n',
        ]
      : [
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
          '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
          [
            'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
            '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
            'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
          ],
          '',
        ];
    const body = Buffer.concat([
      Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
      Buffer.alloc(65536, 'a'),
      Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
      Buffer.alloc(1024, 'a'),
      Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n${trailers}\r\n`),
    ]);
    const headers: Record<string, string> = {
      'content-encoding': 'aws-chunked',
      host: 's3.amazonaws.com',
      'x-amz-content-sha256': payload,
      'x-amz-date': '20130524T000000Z',
      'x-amz-decoded-content-length': '66560',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'content-length': String(body.length),
      authorization: auth(signed, seed),
    };
    if (trailer) headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
    else expect(body.length).toBe(66824); // the documented Content-Length
    return { req: { method: 'PUT', rawPath: '/examplebucket/chunkObject.txt', rawQuery: '', headers: h(headers) } as SigV4Request, body, headers };
  }

  async function runChunked(trailer: boolean, mutate?: (b: Buffer) => void, pieceSize = 1000) {
    const { req, body, headers } = chunkedExample(trailer);
    mutate?.(body);
    const ctx = verifySigV4(req, { ...DOC, now: T0 })!;
    const plan = planBody('PUT', new Map(Object.entries(headers)), ctx, { requireLength: true, maxBytes: 1 << 30 });
    const v = new BodyVerifier(plan, ctx, 1 << 30);
    const out: Buffer[] = [];
    for (let i = 0; i < body.length; i += pieceSize) out.push(...v.push(body.subarray(i, i + pieceSize)));
    return { result: await v.finish(), data: Buffer.concat(out) };
  }

  it.each([false, true])('PUT with signed aws-chunked payload (trailer: %s) decodes and verifies', async (trailer) => {
    for (const pieceSize of [1, 7, 1000, 70_000]) {
      const { result, data } = await runChunked(trailer, undefined, pieceSize);
      expect(data.equals(Buffer.alloc(66560, 'a'))).toBe(true);
      expect(result.length).toBe(66560);
      if (trailer) expect(result.checksum).toEqual({ header: 'x-amz-checksum-crc32c', value: 'sOO8/Q==' });
    }
    const dataFlip = (b: Buffer) => (b[b.indexOf('\r\n') + 2 + 70] = 'b'.charCodeAt(0));
    expect(await code(() => runChunked(trailer, dataFlip))).toBe('SignatureDoesNotMatch');
  });

  it('checks the trailer signature and the trailing checksum', async () => {
    const sigFlip = (b: Buffer) => {
      const at = b.indexOf('x-amz-trailer-signature:') + 'x-amz-trailer-signature:'.length;
      b[at] = b[at] === 0x30 ? 0x31 : 0x30;
    };
    expect(await code(() => runChunked(true, sigFlip))).toBe('SignatureDoesNotMatch');
    const crcFlip = (b: Buffer) => b.write('sOO8/A==', b.indexOf('sOO8/Q=='));
    expect(await code(() => runChunked(true, crcFlip))).toBe('SignatureDoesNotMatch'); // the trailer is signed too
  });

  it('computes the CRC check values of "123456789"', async () => {
    const nine = Buffer.from('123456789');
    const hex = async (alg: Parameters<typeof checksumOf>[0]) => Buffer.from(await checksumOf(alg, nine), 'base64').toString('hex');
    expect(await hex('CRC32')).toBe('cbf43926');
    expect(await hex('CRC32C')).toBe('e3069283');
    expect(await hex('CRC64NVME')).toBe('ae8b14860a799888');
  });
});

describe('durable ObjectCreated queue', () => {
  it('keeps unhandled events across a restart, retries a failing handler with backoff, and forgets handled ones', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-queue-'));
    const open = () => startLocalS3({ dataDir: dir, buckets: ['queue-src', 'queue-other'], notify: ['queue-src'] });
    try {
      let server = await open();
      let c = s3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials });
      for (const k of ['a.jpg', 'b.jpg', 'c.jpg']) await c.send(new PutObjectCommand({ Bucket: 'queue-src', Key: `q/${k}`, Body: k }));
      await c.send(new PutObjectCommand({ Bucket: 'queue-other', Key: 'not-notified', Body: 'x' }));
      c.destroy();
      await server.close(); // nobody consumed: the three events wait in the journal

      server = await open();
      const seen: string[] = [];
      const attempts = new Map<string, number>();
      const delivery = server.consumeEvents(
        async (ev, attempt) => {
          attempts.set(ev.key, attempt);
          if (ev.key === 'q/b.jpg' && attempt < 3) throw new Error('transient');
          seen.push(`${ev.eventName} ${ev.key} ${ev.size}`);
        },
        { backoffMs: () => 10 },
      );
      await delivery.idle();
      expect(seen.sort()).toEqual(['ObjectCreated:Put q/a.jpg 5', 'ObjectCreated:Put q/b.jpg 5', 'ObjectCreated:Put q/c.jpg 5']);
      expect(attempts.get('q/b.jpg')).toBe(3);
      await server.close();

      server = await open();
      const again: string[] = [];
      const d2 = server.consumeEvents(async (ev) => void again.push(ev.key));
      await d2.idle();
      await sleep(50);
      expect(again).toEqual([]); // handled once, acknowledged, not delivered again
      await server.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives up after maxAttempts and hands the event to onGiveUp', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-queue-'));
    const server = await startLocalS3({ dataDir: dir, buckets: ['queue-src'] });
    try {
      const given: string[] = [];
      const d = server.consumeEvents(
        async () => {
          throw new Error('always');
        },
        { maxAttempts: 2, backoffMs: () => 5, onGiveUp: (ev, err) => void given.push(`${ev.key}: ${(err as Error).message}`) },
      );
      const c = s3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials });
      await c.send(new PutObjectCommand({ Bucket: 'queue-src', Key: 'doomed.jpg', Body: 'x' }));
      c.destroy();
      await eventually(() => expect(given).toEqual(['doomed.jpg: always']), 5000);
      await d.idle();
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
