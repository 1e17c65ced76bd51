// Safety of the embedded local S3 server against the ways s3rver let client strings reach the disk,
// and of its storage under concurrency, crashes and descriptor limits. A REAL server on loopback,
// driven by real AWS SDK v3 clients (path-style) and, where the SDK refuses to send a hostile value,
// by raw HTTP requests signed with @smithy/signature-v4 (an independent signer, not the server's).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes, type Hash, type Hmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';

import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { eventually, md5Hex, s3Client, sdkFailure, xmlCode, type S3Target } from './helpers/s3.js';

const BUCKET = 'safety';
const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'packages/local-s3/dist/index.js');

// ---------------------------------------------------------------- helpers

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (d: SourceData): Buffer =>
  typeof d === 'string' ? Buffer.from(d, 'utf8') : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** The Checksum constructor @smithy/signature-v4 wants, on node:crypto. */
class NodeSha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.make();
  }
  private make(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: SourceData): void {
    this.h.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.make();
  }
}

/** RFC 3986 as SigV4 (and S3) encode: everything but A-Z a-z 0-9 - _ . ~ */
const strictEncode = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  code: string | undefined;
}

interface RawRequest {
  method: string;
  bucket?: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** The Host header to send AND sign; default 127.0.0.1:PORT. */
  host?: string;
}

/** A SigV4-signed request on a fresh connection, with values the SDK would refuse to send. */
async function raw(target: S3Target & { port: number }, r: RawRequest): Promise<RawResponse> {
  const host = r.host ?? `127.0.0.1:${target.port}`;
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  let p = '/';
  if (r.bucket !== undefined) p += r.bucket;
  if (r.key !== undefined) p += '/' + r.key.split('/').map(strictEncode).join('/');
  const query = r.query ?? {};
  const signer = new SignatureV4({ service: 's3', region: target.region, credentials: target.credentials, sha256: NodeSha256, uriEscapePath: false, applyChecksum: true });
  const signed = await signer.sign({
    method: r.method,
    protocol: 'http:',
    hostname: host.replace(/:\d+$/, ''),
    port: target.port,
    path: p,
    query,
    headers: { host, 'content-length': String(body.length), ...(r.headers ?? {}) },
    body,
  } as Parameters<SignatureV4['sign']>[0]);
  const qs = Object.entries(query)
    .map(([k, v]) => `${strictEncode(k)}=${strictEncode(v)}`)
    .join('&');
  return new Promise<RawResponse>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: target.port, method: r.method, path: qs ? `${p}?${qs}` : p, headers: signed.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const b = Buffer.concat(chunks);
          const text = b.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, text, code: xmlCode(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every path under `root` except `exclude` (and below): files by SHA-256, dirs, symlinks by target. */
async function snapshotTree(root: string, exclude: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (p === exclude) continue;
      const rel = path.relative(root, p);
      if (e.isSymbolicLink()) out[rel] = `symlink -> ${await readlink(p)}`;
      else if (e.isDirectory()) {
        out[rel + '/'] = 'dir';
        await walk(p);
      } else if (e.isFile()) out[rel] = sha256Hex(await readFile(p));
      else out[rel] = 'special';
    }
  };
  await walk(root);
  return out;
}

/** No entry named `name` in dir or any of its ancestors (where a "../" id would have landed). */
function expectNoneInAncestors(dir: string, name: string): void {
  for (let d = dir; ; d = path.dirname(d)) {
    expect({ at: d, exists: existsSync(path.join(d, name)) }).toEqual({ at: d, exists: false });
    if (path.dirname(d) === d) break;
  }
}

/** UTF-8 byte order: S3's listing order. */
const s3Order = (keys: string[]): string[] => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function getBytes(c: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function listAll(c: S3Client, bucket: string, prefix?: string): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const page = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size! })));
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

async function blobFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'blobs'))).sort();
}

// ---------------------------------------------------------------- shared server (tests 1–3, 5, 6)

let parent: string;
let dataDir: string;
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  parent = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-safety-'));
  dataDir = path.join(parent, 'data');
  // A sibling of the data folder that a "../" in a client string would reach.
  await mkdir(path.join(parent, 'victim'));
  await writeFile(path.join(parent, 'victim', 'file'), 'precious victim bytes\n');
  await writeFile(path.join(parent, 'victim', 'metadata'), '{"precious":true}\n');
  await writeFile(path.join(parent, 'victim', 'key'), 'victim key file\n');
  await writeFile(path.join(parent, 'victim', '1'), 'victim part 1\n');
  await writeFile(path.join(parent, 'outside.txt'), 'next to the data folder\n');
  s3 = await startLocalS3({ dataDir, buckets: [BUCKET], silent: !process.env.S3_DEBUG });
  client = s3Client(s3);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  if (parent) await rm(parent, { recursive: true, force: true });
});

describe('client strings never become paths', () => {
  it('multipart: traversal upload ids and hostile part numbers are refused (404 NoSuchUpload / 400 InvalidArgument); nothing outside dataDir changes', async () => {
    const before = await snapshotTree(parent, dataDir);
    const blobsBefore = await blobFiles(dataDir);
    const key = 'mpu/target.bin';
    const results: Array<{ what: string; status: number | undefined; code: string | undefined }> = [];
    const sdk = async (what: string, p: Promise<unknown>) => {
      const f = await sdkFailure(p);
      results.push({ what, status: f.status, code: f.code });
    };
    const rawCall = async (what: string, r: RawRequest) => {
      const res = await raw(s3, r);
      results.push({ what, status: res.status, code: res.code });
    };
    const completeXml = '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"00000000000000000000000000000000"</ETag></Part></CompleteMultipartUpload>';

    for (const id of ['../../../../escaped', '../../../../victim']) {
      await sdk(`UploadPart ${id} #1 (SDK)`, client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: id, PartNumber: 1, Body: 'pwned' })));
      for (const n of ['key', 'metadata', '1']) {
        await rawCall(`UploadPart ${id} #${n} (raw)`, { method: 'PUT', bucket: BUCKET, key, query: { partNumber: n, uploadId: id }, body: 'pwned' });
      }
      await sdk(
        `Complete ${id} (SDK)`,
        client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] } })),
      );
      await rawCall(`Complete ${id} (raw)`, { method: 'POST', bucket: BUCKET, key, query: { uploadId: id }, body: completeXml });
      await sdk(`Abort ${id} (SDK)`, client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: id })));
      await rawCall(`Abort ${id} (raw)`, { method: 'DELETE', bucket: BUCKET, key, query: { uploadId: id } });
    }
    // More shapes of the same idea: absolute, encoded, NUL, and a well-formed id nobody issued.
    for (const id of ['/tmp/escaped', '..%2F..%2Fescaped', '..\\..\\escaped', 'a\0b', 'f'.repeat(32), '']) {
      await rawCall(`UploadPart ${JSON.stringify(id)} #1 (raw)`, { method: 'PUT', bucket: BUCKET, key, query: { partNumber: '1', uploadId: id }, body: 'pwned' });
    }

    const expected = (id: string) => [
      { what: `UploadPart ${id} #1 (SDK)`, status: 404, code: 'NoSuchUpload' },
      { what: `UploadPart ${id} #key (raw)`, status: 400, code: 'InvalidArgument' },
      { what: `UploadPart ${id} #metadata (raw)`, status: 400, code: 'InvalidArgument' },
      { what: `UploadPart ${id} #1 (raw)`, status: 404, code: 'NoSuchUpload' },
      { what: `Complete ${id} (SDK)`, status: 404, code: 'NoSuchUpload' },
      { what: `Complete ${id} (raw)`, status: 404, code: 'NoSuchUpload' },
      { what: `Abort ${id} (SDK)`, status: 404, code: 'NoSuchUpload' },
      { what: `Abort ${id} (raw)`, status: 404, code: 'NoSuchUpload' },
    ];
    expect(results).toEqual([
      ...expected('../../../../escaped'),
      ...expected('../../../../victim'),
      ...['/tmp/escaped', '..%2F..%2Fescaped', '..\\..\\escaped', 'a\0b', 'f'.repeat(32), ''].map((id) => ({
        what: `UploadPart ${JSON.stringify(id)} #1 (raw)`,
        status: 404,
        code: 'NoSuchUpload',
      })),
    ]);

    // Part numbers outside 1..10000 or not integers, on a REAL upload: 400 InvalidArgument.
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    expect(UploadId).toMatch(/^[0-9a-f]{32}$/);
    const partResults: Array<{ n: string; status: number | undefined; code: string | undefined }> = [];
    for (const n of [0, 10001, -1]) {
      const f = await sdkFailure(client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: n, Body: 'x' })));
      partResults.push({ n: String(n), status: f.status, code: f.code });
    }
    for (const n of ['0', '10001', '-1', '1.5', 'abc', '', '01e1', ' 1', '0x1', '99999999999999999999']) {
      const res = await raw(s3, { method: 'PUT', bucket: BUCKET, key, query: { partNumber: n, uploadId: UploadId! }, body: 'x' });
      partResults.push({ n: `raw ${JSON.stringify(n)}`, status: res.status, code: res.code });
    }
    for (const r of partResults) expect(r).toEqual({ n: r.n, status: 400, code: 'InvalidArgument' });
    // A real id under another key is no upload either.
    const other = await sdkFailure(client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu/other.bin', UploadId, PartNumber: 1, Body: 'x' })));
    expect([other.status, other.code]).toEqual([404, 'NoSuchUpload']);
    // …and the real upload still works at the edges of the range.
    for (const n of [1, 10000]) {
      const ok = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: n, Body: `part ${n}` }));
      expect(ok.ETag).toBe(`"${md5Hex(`part ${n}`)}"`);
    }
    await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));

    // Removals are asynchronous: wait until the aborted upload's parts are gone, its folder too
    // (only a hang takes a minute).
    await eventually(async () => {
      expect(await blobFiles(dataDir)).toEqual(blobsBefore);
      expect((await readdir(dataDir)).filter((n) => !['blobs', 'journal.jsonl', 'credentials.json'].includes(n))).toEqual([]);
    }, 60_000);
    expect(await snapshotTree(parent, dataDir)).toEqual(before);
    expect((await readFile(path.join(parent, 'victim', 'file'), 'utf8'))).toBe('precious victim bytes\n');
    expectNoneInAncestors(dataDir, 'escaped');
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['blobs', 'journal.jsonl']));
    expect((await readdir(dataDir)).filter((n) => !['blobs', 'journal.jsonl', 'credentials.json'].includes(n))).toEqual([]);
    expect(await blobFiles(dataDir)).toEqual(blobsBefore); // no part of a refused or aborted upload is left
  });

  it('DeleteObjects: hostile keys get per-key <Error> entries, a normal key in the same request is deleted, nothing outside dataDir changes', async () => {
    const before = await snapshotTree(parent, dataDir);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'del/normal.txt', Body: 'bye' }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'b', Body: 'must survive' }));
    const long = 'k'.repeat(2000);
    const hostile = ['../../victim/file', 'a/../../b', long, '../outside.txt', 'del/./normal.txt'];
    const out = await client.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [...hostile.map((Key) => ({ Key })), { Key: 'del/normal.txt' }] } }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.Deleted?.map((d) => d.Key)).toEqual(['del/normal.txt']);
    expect(out.Errors?.map((e) => [e.Key, e.Code])).toEqual([
      ['../../victim/file', 'InvalidArgument'],
      ['a/../../b', 'InvalidArgument'],
      [long, 'KeyTooLongError'],
      ['../outside.txt', 'InvalidArgument'],
      ['del/./normal.txt', 'InvalidArgument'],
    ]);
    expect((await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'del/normal.txt' })))).status).toBe(404);
    expect((await getBytes(client, BUCKET, 'b')).toString()).toBe('must survive');

    // Raw bodies the SDK would never write.
    const del = (xml: string) => raw(s3, { method: 'POST', bucket: BUCKET, query: { delete: '' }, body: xml });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ab', Body: 'a NUL must not turn a\\0b into ab' }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'del/raw-normal.txt', Body: 'bye' }));
    // A NUL written as a character reference: not a legal XML character. Whatever the server answers,
    // it is a clean S3 error (never a 500), and it does not delete another object ("ab").
    for (const nul of ['&#0;', '&#x0;', '&#x00;']) {
      const res = await del(`<Delete><Object><Key>a${nul}b</Key></Object><Object><Key>del/raw-normal.txt</Key></Object></Delete>`);
      expect({ nul, status: res.status, code: res.code }).toEqual({ nul, status: 400, code: 'MalformedXML' });
    }
    // A literal NUL (or other control) byte is not XML either.
    for (const ctl of ['\0', '\u0001', '\u001f']) {
      const res = await del(`<Delete><Object><Key>a${ctl}b</Key></Object><Object><Key>del/raw-normal.txt</Key></Object></Delete>`);
      expect({ ctl, status: res.status, code: res.code }).toEqual({ ctl, status: 400, code: 'MalformedXML' });
    }
    // Nor are entities XML does not define, or a bare '&'.
    for (const bad of ['a&nbsp;b', 'a&bogus;b', 'a&b', 'a&#xD800;b', 'a&#1114112;b']) {
      const res = await del(`<Delete><Object><Key>${bad}</Key></Object><Object><Key>del/raw-normal.txt</Key></Object></Delete>`);
      expect({ bad, status: res.status, code: res.code }).toEqual({ bad, status: 400, code: 'MalformedXML' });
    }
    // None of the refused documents deleted anything; the same normal key in a clean document is deleted.
    const clean = await del('<Delete><Object><Key>a&#x0A;b</Key></Object><Object><Key>del/raw-normal.txt</Key></Object></Delete>');
    expect(clean.status).toBe(200);
    expect(clean.text).toContain('<Deleted><Key>del/raw-normal.txt</Key></Deleted>');
    expect((await getBytes(client, BUCKET, 'ab')).toString()).toBe('a NUL must not turn a\\0b into ab');
    // Not XML at all, a DOCTYPE (entity expansion), no objects, too many objects: 400 MalformedXML.
    const tooMany = `<Delete>${'<Object><Key>x</Key></Object>'.repeat(1001)}</Delete>`;
    for (const [what, xml] of [
      ['garbage', 'this is not xml <<<'],
      ['doctype', '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "../../victim/file">]><Delete><Object><Key>&e;</Key></Object></Delete>'],
      ['empty', '<Delete></Delete>'],
      ['1001 objects', tooMany],
    ]) {
      const res = await del(xml);
      expect({ what, status: res.status, code: res.code }).toEqual({ what, status: 400, code: 'MalformedXML' });
    }

    // Keys with characters the SDK writes as character references (\n → &#x0A;, \r → &#x0D;):
    // the key DeleteObjects deletes is the key that was PUT.
    const refKeys = ['del/line\nbreak.txt', 'del/cr\rlf.txt', 'del/nel\u0085.txt', 'del/ls\u2028.txt', 'del/amp&#x41;.txt'];
    for (const k of refKeys) await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: k }));
    const refOut = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: refKeys.map((Key) => ({ Key })) } }));
    expect(refOut.Errors ?? []).toEqual([]);
    expect(refOut.Deleted?.map((d) => d.Key)).toEqual(refKeys);
    for (const k of refKeys) expect({ k, status: (await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: k })))).status }).toEqual({ k, status: 404 });
    // …and a key that literally contains "&#65;" is not confused with "A".
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'del/A.txt', Body: 'A' }));
    const lit = await del('<Delete><Object><Key>del/&amp;#65;.txt</Key></Object></Delete>');
    expect(lit.status).toBe(200);
    expect((await getBytes(client, BUCKET, 'del/A.txt')).toString()).toBe('A');

    // Still serving, and nothing outside the data folder moved.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'del/after.txt', Body: 'alive' }));
    expect((await getBytes(client, BUCKET, 'del/after.txt')).toString()).toBe('alive');
    expect(await snapshotTree(parent, dataDir)).toEqual(before);
  });

  it('refuses a foreign Host header on a correctly signed request (403 AccessDenied naming the Host); loopback names work', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'host/x.txt', Body: 'hosted' }));
    for (const host of [`evil.example:${s3.port}`, `127.0.0.1.nip.io:${s3.port}`, `EVIL.example:${s3.port}`, `127.0.0.1:${s3.port + 1}`, '127.0.0.1', 'localhost']) {
      for (const [method, key] of [['GET', 'host/x.txt'], ['PUT', 'host/rebound.txt']] as const) {
        const res = await raw(s3, { method, bucket: BUCKET, key, host, body: method === 'PUT' ? 'rebound' : undefined });
        expect({ host, method, status: res.status, code: res.code }).toEqual({ host, method, status: 403, code: 'AccessDenied' });
        const message = /<Message>([^<]*)<\/Message>/.exec(res.text)?.[1]?.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
        expect(message).toContain(`Host "${host.toLowerCase()}"`);
      }
    }
    expect((await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'host/rebound.txt' })))).status).toBe(404);
    for (const host of [`localhost:${s3.port}`, `127.0.0.1:${s3.port}`, `LocalHost:${s3.port}`]) {
      const res = await raw(s3, { method: 'GET', bucket: BUCKET, key: 'host/x.txt', host });
      expect({ host, status: res.status, body: res.text }).toEqual({ host, status: 200, body: 'hosted' });
    }
    const put = await raw(s3, { method: 'PUT', bucket: BUCKET, key: 'host/via-localhost.txt', host: `localhost:${s3.port}`, body: 'ok' });
    expect(put.status).toBe(200);
    expect((await getBytes(client, BUCKET, 'host/via-localhost.txt')).toString()).toBe('ok');
  });
});

describe('multipart completion errors', () => {
  it('CompleteMultipartUpload: missing part → 400 InvalidPart, out of order → 400 InvalidPartOrder, small non-last part → 400 EntityTooSmall; the upload and the server carry on', async () => {
    const key = 'mpu/complete-errors.bin';
    const MiB = 1024 * 1024;
    const p1 = Buffer.alloc(5 * MiB, 'a');
    const p2 = Buffer.alloc(5 * MiB, 'b');
    const p3 = Buffer.from('small c');
    const p4 = Buffer.from('small d');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const etags: Record<number, string> = {};
    for (const [n, body] of [[1, p1], [2, p2], [3, p3], [4, p4]] as const) {
      etags[n] = (await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: n, Body: body }))).ETag!;
    }
    const complete = (parts: Array<{ PartNumber: number; ETag: string }>) =>
      sdkFailure(client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: parts } })));
    const part = (n: number, etag = etags[n] ?? `"${md5Hex('never')}"`) => ({ PartNumber: n, ETag: etag });

    const cases: Array<[string, Array<{ PartNumber: number; ETag: string }>, string]> = [
      ['part 5 never uploaded', [part(1), part(2), part(5)], 'InvalidPart'],
      ['only part 9999, never uploaded', [part(9999)], 'InvalidPart'],
      ['wrong ETag for part 2', [part(1), part(2, etags[1]), part(3)], 'InvalidPart'],
      ['2 before 1', [part(2), part(1), part(3)], 'InvalidPartOrder'],
      ['1 twice', [part(1), part(1), part(3)], 'InvalidPartOrder'],
      ['3 before 2', [part(1), part(3), part(2)], 'InvalidPartOrder'],
      ['small part 3 not last', [part(1), part(2), part(3), part(4)], 'EntityTooSmall'],
    ];
    for (const [what, parts, code] of cases) {
      const f = await complete(parts);
      expect({ what, status: f.status, code: f.code }).toEqual({ what, status: 400, code });
    }
    expect((await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).status).toBe(404);

    // The server still answers, and the upload can still be completed correctly.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'mpu/after-errors.txt', Body: 'still here' }));
    expect((await getBytes(client, BUCKET, 'mpu/after-errors.txt')).toString()).toBe('still here');
    const done = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [part(1), part(2), part(3)] } }),
    );
    expect(done.$metadata.httpStatusCode).toBe(200);
    const got = await getBytes(client, BUCKET, key);
    expect(got.length).toBe(p1.length + p2.length + p3.length);
    expect(sha256Hex(got)).toBe(sha256Hex(Buffer.concat([p1, p2, p3])));
    const again = await sdkFailure(client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'late' })));
    expect([again.status, again.code]).toEqual([404, 'NoSuchUpload']);
  });
});

describe('long keys', () => {
  it('a 300-byte segment and a 1024-byte key round-trip byte-equal; a 1025-byte key is 400 KeyTooLongError', async () => {
    const seg300 = 's'.repeat(300);
    const keys = [
      `long/${seg300}`,
      `long/${seg300}/${seg300}.bin`,
      `long/${'é'.repeat(150)}/x`, // 300 bytes of UTF-8 in one segment
      ('long/' + 'x'.repeat(1024)).slice(0, 1024), // exactly 1024 bytes
      'long/' + '日'.repeat(339) + 'ab', // 5 + 1017 + 2 = 1024 bytes, multi-byte
    ];
    for (const key of keys) expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(keys[3])).toBe(1024);
    expect(Buffer.byteLength(keys[4])).toBe(1024);
    for (const [i, key] of keys.entries()) {
      const body = randomBytes(1000 + i);
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      const got = await getBytes(client, BUCKET, key);
      expect(got.equals(body)).toBe(true);
      const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(head.ContentLength).toBe(body.length);
    }
    const listed = (await listAll(client, BUCKET, 'long/')).map((o) => o.key);
    expect(listed).toEqual(s3Order(keys));
    for (const key of ['long/' + 'x'.repeat(1020), 'long/' + 'é'.repeat(510)]) {
      expect(Buffer.byteLength(key)).toBe(1025);
      const f = await sdkFailure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' })));
      expect([f.status, f.code]).toEqual([400, 'KeyTooLongError']);
    }
    const out = await client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    expect(out.Deleted?.length).toBe(keys.length);
    expect(await listAll(client, BUCKET, 'long/')).toEqual([]);
  });
});

// ---------------------------------------------------------------- concurrency on one key

describe('concurrent overwrite and read of one key', () => {
  it('every GET answers 200 with all of A or all of B, never a torn or truncated body', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-race-'));
    const server = await startLocalS3({ dataDir: dir, buckets: ['race'] });
    const c = s3Client(server);
    try {
      const A = Buffer.alloc(3 * 1024 * 1024, 0xa5);
      const B = Buffer.alloc(2 * 1024 * 1024 + 12345, 0x5b);
      const want = new Map([
        [`${A.length}:${sha256Hex(A)}`, 'A'],
        [`${B.length}:${sha256Hex(B)}`, 'B'],
      ]);
      await c.send(new PutObjectCommand({ Bucket: 'race', Key: 'one', Body: A }));
      const GETS = 1000;
      const READERS = 8;
      let started = 0;
      let readersDone = false;
      const seen = { A: 0, B: 0 };
      const bad: string[] = [];
      let puts = 0;
      const writer = async (first: number) => {
        for (let i = first; !readersDone; i++) {
          await c.send(new PutObjectCommand({ Bucket: 'race', Key: 'one', Body: i % 2 ? B : A }));
          puts++;
        }
      };
      const reader = async () => {
        while (started < GETS) {
          started++;
          const out = await c.send(new GetObjectCommand({ Bucket: 'race', Key: 'one' }));
          const h = createHash('sha256');
          let n = 0;
          for await (const chunk of out.Body as Readable) {
            h.update(chunk as Buffer);
            n += (chunk as Buffer).length;
          }
          const which = want.get(`${n}:${h.digest('hex')}`);
          if (out.$metadata.httpStatusCode !== 200 || !which || out.ContentLength !== n) bad.push(`status ${out.$metadata.httpStatusCode} length ${n}/${out.ContentLength}`);
          else seen[which as 'A' | 'B']++;
        }
      };
      const t0 = Date.now();
      const writers = [writer(0), writer(1)];
      await Promise.all(Array.from({ length: READERS }, reader));
      readersDone = true;
      await Promise.all(writers);
      const ms = Date.now() - t0;
      console.log(`[race] ${GETS} GETs: A ${seen.A}, B ${seen.B}; ${puts} PUTs interleaved; ${ms} ms`);
      expect(bad).toEqual([]);
      expect(seen.A + seen.B).toBe(GETS);
      expect(puts).toBeGreaterThan(10);
      expect(seen.A).toBeGreaterThan(0);
      expect(seen.B).toBeGreaterThan(0);
      // Every superseded version's bytes are gone once no reader holds them: one blob left.
      await eventually(async () => expect((await blobFiles(dir)).length).toBe(1), 60_000);
    } finally {
      c.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

// ---------------------------------------------------------------- child processes

const SERVER_SCRIPT = `
import { startLocalS3 } from ${JSON.stringify(DIST)};
const s3 = await startLocalS3({ dataDir: process.argv[2], buckets: ['crash'] });
process.stdout.write(JSON.stringify({ endpoint: s3.endpoint, port: s3.port, region: s3.region, credentials: s3.credentials, pid: process.pid }) + '\\n');
`;

interface ChildServer {
  child: ChildProcess;
  target: S3Target & { port: number };
  exited: Promise<number | null>;
  stderr: () => string;
}

async function startChildServer(script: string, dir: string): Promise<ChildServer> {
  const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await Promise.race([
    new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
    exited.then((code) => Promise.reject(new Error(`child server exited (${code}) before it started: ${err}`))),
  ]);
  return { child, target: JSON.parse(line) as S3Target & { port: number }, exited, stderr: () => err };
}

describe('crash safety (kill -9 in the middle of uploads)', () => {
  it('after a restart every listed object is whole, every acknowledged object is there, and blobs/ holds only indexed files', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-crash-'));
    const script = path.join(dir, 'server.mjs');
    await writeFile(script, SERVER_SCRIPT);
    const data = path.join(dir, 'data');
    let first: ChildServer | undefined;
    let second: ChildServer | undefined;
    try {
      first = await startChildServer(script, data);
      const c1 = s3Client(first.target);
      const N = 100;
      const KILL_AFTER = 30;
      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < N; i++) bodies.set(`crash/${String(i).padStart(3, '0')}.bin`, randomBytes(200 * 1024 + i));
      const outcome = new Map<string, 'ok' | 'refused' | 'no-response'>();
      let acked = 0;
      let killedAt = -1;
      const queue = [...bodies.keys()];
      const worker = async () => {
        for (let key = queue.shift(); key; key = queue.shift()) {
          let etag: string | undefined;
          try {
            etag = (await c1.send(new PutObjectCommand({ Bucket: 'crash', Key: key, Body: bodies.get(key)! }))).ETag;
          } catch (err) {
            const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
            outcome.set(key, status ? 'refused' : 'no-response');
            continue;
          }
          expect(etag).toBe(`"${md5Hex(bodies.get(key)!)}"`);
          outcome.set(key, 'ok');
          if (++acked === KILL_AFTER && first!.child.kill('SIGKILL')) killedAt = acked;
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      c1.destroy();
      expect(await first.exited).toBe(null); // killed by the signal
      expect(killedAt).toBe(KILL_AFTER);
      const okKeys = [...outcome].filter(([, o]) => o === 'ok').map(([k]) => k);
      const noResponse = [...outcome].filter(([, o]) => o === 'no-response').map(([k]) => k);
      expect([...outcome.values()].filter((o) => o === 'refused')).toEqual([]);
      expect(okKeys.length).toBeGreaterThanOrEqual(KILL_AFTER);
      expect(okKeys.length).toBeLessThan(N); // the kill really landed in the middle

      second = await startChildServer(script, data);
      const c2 = s3Client(second.target);
      const listed = await listAll(c2, 'crash');
      const listedKeys = listed.map((o) => o.key);
      expect(listedKeys.filter((k) => !bodies.has(k))).toEqual([]);
      expect(new Set(listedKeys).size).toBe(listedKeys.length);
      // Acknowledged objects MUST be there.
      expect(okKeys.filter((k) => !listedKeys.includes(k))).toEqual([]);
      // Listed objects are ones the client sent; an object without a 200 may only be one whose request
      // was in flight at the kill (committed, response lost): it must then be complete too.
      const unacked = listedKeys.filter((k) => outcome.get(k) !== 'ok');
      expect(unacked.filter((k) => !noResponse.includes(k))).toEqual([]);
      for (const { key, size } of listed) {
        const body = bodies.get(key)!;
        expect({ key, size }).toEqual({ key, size: body.length });
        const got = await getBytes(c2, 'crash', key);
        expect({ key, length: got.length, sha: sha256Hex(got) }).toEqual({ key, length: body.length, sha: sha256Hex(body) });
      }
      // No blob the index does not name (swept on start), and none that it names is missing.
      expect((await blobFiles(data)).length).toBe(listed.length);
      // The restarted server accepts writes again.
      await c2.send(new PutObjectCommand({ Bucket: 'crash', Key: 'crash/after-restart', Body: 'fine' }));
      expect((await getBytes(c2, 'crash', 'crash/after-restart')).toString()).toBe('fine');
      c2.destroy();
      console.log(
        `[crash] ${N} PUTs, kill -9 after ${KILL_AFTER} acks: ${okKeys.length} acknowledged, ${noResponse.length} without a response; ` +
          `after restart ${listed.length} listed (${unacked.length} committed but unacknowledged), ${listed.length} blobs`,
      );
    } finally {
      first?.child.kill('SIGKILL');
      second?.child.kill('SIGKILL');
      await Promise.all([first?.exited, second?.exited]);
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

const MANY_SCRIPT = `
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
const require = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
const { S3Client, ListObjectsV2Command, HeadObjectCommand } = require('@aws-sdk/client-s3');
const { startLocalS3 } = await import(${JSON.stringify(DIST)});

const N = 20000, CONCURRENCY = 32, PAGE = 1000;
const t0 = performance.now();
const fdLimit = /Max open files\\s+(\\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))[1];
let peakFds = 0;
const sample = () => { peakFds = Math.max(peakFds, readdirSync('/proc/self/fd').length); };
const timer = setInterval(sample, 25);
const s3 = await startLocalS3({ dataDir: process.argv[2], buckets: ['many'] });
const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 1 });
// Keys whose byte order is not their creation order.
const keyOf = (i) => createHash('md5').update(String(i)).digest('hex').slice(0, 2) + '/obj-' + i;
const bodyOf = (i) => 'v' + i;
const keys = Array.from({ length: N }, (_, i) => keyOf(i));
const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

// The 20,000 PUTs go through a lean SigV4 signer on keep-alive sockets (the SDK's per-request CPU
// would dominate on two cores); listing and HEADs below use the SDK.
const { accessKeyId, secretAccessKey } = s3.credentials;
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
const sha = (data) => createHash('sha256').update(data).digest('hex');
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const signing = new Map();
const putRaw = (key, body) => new Promise((resolve, reject) => {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\\.\\d{3}/, '');
  const date = amzDate.slice(0, 8);
  if (!signing.has(date)) signing.set(date, hmac(hmac(hmac(hmac('AWS4' + secretAccessKey, date), s3.region), 's3'), 'aws4_request'));
  const scope = date + '/' + s3.region + '/s3/aws4_request';
  const path = '/many/' + key.split('/').map(encodeURIComponent).join('/');
  const payload = sha(body);
  const headers = { 'content-length': String(Buffer.byteLength(body)), host: '127.0.0.1:' + s3.port, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate };
  const names = Object.keys(headers);
  const canonical = ['PUT', path, '', names.map((h) => h + ':' + headers[h] + '\\n').join(''), names.join(';'), payload].join('\\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonical)].join('\\n');
  headers.authorization = 'AWS4-HMAC-SHA256 Credential=' + accessKeyId + '/' + scope + ', SignedHeaders=' + names.join(';') +
    ', Signature=' + createHmac('sha256', signing.get(date)).update(toSign).digest('hex');
  const req = http.request({ host: '127.0.0.1', port: s3.port, method: 'PUT', path, headers, agent }, (res) => {
    let text = '';
    res.on('data', (d) => (text += d));
    res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error('PUT ' + key + ': ' + res.statusCode + ' ' + text))));
  });
  req.on('error', reject);
  req.end(body);
});
let next = 0;
await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
  while (next < N) { const i = next++; await putRaw(keys[i], bodyOf(i)); }
}));
agent.destroy();
const tPut = performance.now();

let listing = true, heads = 0, headErrors = 0, pages = 0, oversized = 0;
const listed = [];
const lister = (async () => {
  let token;
  try {
    do {
      const out = await client.send(new ListObjectsV2Command({ Bucket: 'many', MaxKeys: PAGE, ContinuationToken: token }));
      pages++;
      const got = (out.Contents ?? []).map((o) => o.Key);
      if (got.length > PAGE) oversized++;
      listed.push(...got);
      token = out.NextContinuationToken;
    } while (token);
  } finally { listing = false; }
})();
const header = async () => {
  while (listing) {
    const i = Math.floor(Math.random() * N);
    const h = await client.send(new HeadObjectCommand({ Bucket: 'many', Key: keys[i] }));
    if (h.ContentLength !== bodyOf(i).length) headErrors++;
    heads++;
  }
};
await Promise.all([lister, ...Array.from({ length: 16 }, header)]);
const tList = performance.now();
sample();
clearInterval(timer);
client.destroy();
await s3.close();
const inOrder = listed.length === expected.length && listed.every((k, i) => k === expected[i]);
const result = {
  fdLimit: Number(fdLimit), put: N, listed: listed.length, unique: new Set(listed).size, inOrder, pages, oversized, heads, headErrors,
  peakFds, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), putMs: Math.round(tPut - t0), listMs: Math.round(tList - tPut),
  totalMs: Math.round(performance.now() - t0),
};
process.stdout.write(JSON.stringify(result) + '\\n');
process.exitCode = inOrder && result.unique === N && headErrors === 0 && oversized === 0 ? 0 : 1;
`;

describe('many objects under a descriptor limit', () => {
  it('20,000 objects listed in pages of 1,000 (with HEADs alongside) under ulimit -n 1024: each key once, in order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-s3-many-'));
    try {
      const script = path.join(dir, 'many.mjs');
      await writeFile(script, MANY_SCRIPT);
      const child = spawn('bash', ['-c', 'ulimit -n 1024 && exec "$0" "$1" "$2"', process.execPath, script, path.join(dir, 'data')], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      const line = out.trim().split('\n').at(-1) ?? '';
      expect({ code, err: code === 0 ? '' : err + out }).toEqual({ code: 0, err: '' });
      const r = JSON.parse(line) as Record<string, number | boolean>;
      console.log(`[many] ${JSON.stringify(r)}`);
      expect(r).toMatchObject({ fdLimit: 1024, put: 20_000, listed: 20_000, unique: 20_000, inOrder: true, pages: 20, oversized: 0, headErrors: 0 });
      expect(r.heads as number).toBeGreaterThan(0);
      expect(r.peakFds as number).toBeLessThan(1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
