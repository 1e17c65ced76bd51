// CORS on the local S3 server, without a browser: what a browser would send (preflights, pre-signed
// PUTs and GETs carrying an Origin) sent with plain fetch, and the answers a browser would act on.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { getObjectBytes, md5Hex, s3Client, sha256B64, xmlCode } from './helpers/s3.js';

const SRC = 'uploads';
const DEST = 'variants';
const PAGE = 'http://127.0.0.1:4567';
const OTHER_PAGE = 'http://127.0.0.1:4568';
const FOREIGN = 'http://evil.example';
const REFUSED = /^CORSResponse: This CORS request is not allowed\. This is usually because the evalution of Origin, request method \/ Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec\.$/;

let dataDir: string;
let s3: LocalS3;
let client: S3Client;
let origins = [PAGE];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-cors-'));
  s3 = await startLocalS3({ dataDir, buckets: [SRC, DEST], silent: !process.env.S3_DEBUG, cors: { origins: () => origins } });
  client = s3Client(s3);
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const png = (seed: number, n = 1024): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 17 + seed) & 0xff));

/** S3's <Message>, with the XML escapes undone. */
function xmlMessage(xml: string): string | undefined {
  return /<Message>([^<]*)<\/Message>/.exec(xml)?.[1]?.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function corsHeaders(h: Headers): Record<string, string> {
  return Object.fromEntries([...h].filter(([k]) => k.startsWith('access-control-')));
}

/** A browser's preflight. */
async function preflight(origin: string | undefined, method: string | undefined, headers?: string, target = `${s3.endpoint}/${SRC}/page/a.png`) {
  const h: Record<string, string> = {};
  if (origin !== undefined) h.origin = origin;
  if (method !== undefined) h['access-control-request-method'] = method;
  if (headers !== undefined) h['access-control-request-headers'] = headers;
  const res = await fetch(target, { method: 'OPTIONS', headers: h });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** What the presign API hands a page: a PUT URL with the checksum as a signed query parameter. */
function presignPut(key: string, body: Buffer, opts: { expiresIn?: number; signingDate?: Date } = {}): Promise<string> {
  return getSignedUrl(
    client,
    new PutObjectCommand({ Bucket: SRC, Key: key, ContentType: 'image/png', ContentLength: body.length, ChecksumSHA256: sha256B64(body) }),
    { expiresIn: opts.expiresIn ?? 300, signingDate: opts.signingDate, signableHeaders: new Set(['content-type']) },
  );
}

/** The page's fetch(url, { method: 'PUT', body: file }): content-type set by the page, Origin by the browser. */
async function browserPut(url: string, body: Buffer, origin?: string) {
  const headers: Record<string, string> = { 'content-type': 'image/png' };
  if (origin) headers.origin = origin;
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(body), headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('preflight', () => {
  it('allows the configured origin with exactly the headers a page sends, echoing them', async () => {
    const res = await preflight(PAGE, 'PUT', 'content-type,x-amz-checksum-sha256');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD, PUT');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-amz-checksum-sha256');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.get('vary')).toMatch(/^Origin\b/);
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    // Header names are case-insensitive, spacing is free; no requested headers at all is fine too.
    const mixed = await preflight(PAGE, 'PUT', ' Content-Type ,  X-Amz-Checksum-SHA256');
    expect(mixed.status).toBe(200);
    expect(mixed.headers.get('access-control-allow-headers')).toBe('content-type, x-amz-checksum-sha256');
    const bare = await preflight(PAGE, 'GET', undefined, `${s3.endpoint}/${DEST}/v/a_320.jpg`);
    expect(bare.status).toBe(200);
    expect(bare.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(bare.headers.get('access-control-allow-headers')).toBeNull();
  });

  it('refuses another origin: 403 AccessForbidden in S3 words, no Access-Control-Allow-Origin', async () => {
    for (const origin of [FOREIGN, OTHER_PAGE, `${PAGE}/`, 'https://127.0.0.1:4567', 'http://localhost:4567', 'null', 'http://127.0.0.1:45670']) {
      const res = await preflight(origin, 'PUT', 'content-type,x-amz-checksum-sha256');
      expect(res.status, origin).toBe(403);
      expect(xmlCode(res.text)).toBe('AccessForbidden');
      expect(xmlMessage(res.text)).toMatch(REFUSED);
      expect(res.text).toContain('<Method>PUT</Method><ResourceType>OBJECT</ResourceType>');
      expect(corsHeaders(res.headers)).toEqual({});
    }
  });

  it('refuses the configured origin asking for an extra header or a method not allowed', async () => {
    for (const [method, headers] of [
      ['PUT', 'content-type,x-amz-checksum-sha256,x-amz-acl'],
      ['PUT', 'x-amz-meta-owner'],
      ['DELETE', undefined],
      ['POST', 'content-type'],
      ['PATCH', undefined],
    ] as const) {
      const res = await preflight(PAGE, method, headers);
      expect(res.status, `${method} ${headers}`).toBe(403);
      expect(xmlCode(res.text)).toBe('AccessForbidden');
      expect(corsHeaders(res.headers)).toEqual({});
    }
  });

  it('answers an OPTIONS without Origin or Access-Control-Request-Method with 400, as S3 does', async () => {
    let res = await preflight(undefined, 'PUT');
    expect([res.status, xmlCode(res.text)]).toEqual([400, 'BadRequest']);
    res = await preflight(PAGE, undefined);
    expect([res.status, xmlCode(res.text)]).toEqual([400, 'BadRequest']);
    expect(corsHeaders(res.headers)).toEqual({});
  });

  it('comes after the Host check: a DNS-rebinding page gets the Host refusal, not a grant', async () => {
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
      const req = http.request(
        `${s3.endpoint}/${SRC}/page/a.png`,
        { method: 'OPTIONS', headers: { host: `attacker.example:${s3.port}`, origin: PAGE, 'access-control-request-method': 'PUT' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
        },
      );
      req.on('error', reject).end();
    });
    expect(answer.status).toBe(403);
    expect(xmlCode(answer.text)).toBe('AccessDenied');
    expect(answer.text).toContain('is not this server');
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('actual requests', () => {
  it('a pre-signed PUT from the page stores the object; the answer lets the page read it and its ETag', async () => {
    const body = png(1);
    const url = await presignPut('page/allowed.png', body);
    const res = await browserPut(url, body, PAGE);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE);
    const exposed = res.headers.get('access-control-expose-headers')!.split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['etag', 'x-amz-checksum-sha256', 'x-amz-request-id']));
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.get('etag')).toBe(`"${md5Hex(body)}"`);
    expect(await getObjectBytes(client, SRC, 'page/allowed.png')).toEqual(body);
  });

  it('the same PUT from a foreign origin is still processed (CORS is a browser rule) but carries no CORS header', async () => {
    const body = png(2);
    const url = await presignPut('page/foreign.png', body);
    const res = await browserPut(url, body, FOREIGN);
    expect(res.status).toBe(200);
    expect(corsHeaders(res.headers)).toEqual({});
    expect(await getObjectBytes(client, SRC, 'page/foreign.png')).toEqual(body);
    // No Origin at all (the CLI, curl): no CORS headers either.
    const plain = await browserPut(await presignPut('page/no-origin.png', body), body);
    expect(plain.status).toBe(200);
    expect(corsHeaders(plain.headers)).toEqual({});
  });

  it('an error answer to the page carries the CORS headers, so the page can read why (expired URL)', async () => {
    const body = png(3);
    const url = await presignPut('page/expired.png', body, { expiresIn: 60, signingDate: new Date(Date.now() - 5 * 60 * 1000) });
    const res = await browserPut(url, body, PAGE);
    expect(res.status).toBe(403);
    expect(xmlCode(res.text)).toBe('AccessDenied');
    expect(res.text).toContain('Request has expired');
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(res.headers.get('access-control-expose-headers')).toContain('x-amz-request-id');
    expect(res.headers.get('vary')).toBe('Origin');
    const foreign = await browserPut(url, body, FOREIGN);
    expect(foreign.status).toBe(403);
    expect(corsHeaders(foreign.headers)).toEqual({});
  });

  it('a pre-signed GET of a variant answers the page with CORS headers; a method not allowed gets none', async () => {
    const body = png(4);
    await client.send(new PutObjectCommand({ Bucket: DEST, Key: 'v/a_320.jpg', Body: body, ContentType: 'image/jpeg' }));
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: DEST, Key: 'v/a_320.jpg' }), { expiresIn: 60 });
    const res = await fetch(url, { headers: { origin: PAGE } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
    expect(res.headers.get('access-control-allow-origin')).toBe(PAGE);
    const missing = await fetch(`${s3.endpoint}/${DEST}/v/none.jpg`, { method: 'DELETE', headers: { origin: PAGE } });
    expect(missing.status).toBe(403);
    expect(corsHeaders(missing.headers)).toEqual({});
  });
});

describe('origins', () => {
  it('a function is re-read on every request', async () => {
    try {
      expect((await preflight(OTHER_PAGE, 'PUT', 'content-type')).status).toBe(403);
      origins = [OTHER_PAGE];
      expect((await preflight(OTHER_PAGE, 'PUT', 'content-type')).headers.get('access-control-allow-origin')).toBe(OTHER_PAGE);
      expect((await preflight(PAGE, 'PUT', 'content-type')).status).toBe(403);
      const body = png(5);
      const res = await browserPut(await presignPut('page/moved.png', body), body, OTHER_PAGE);
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(OTHER_PAGE);
      origins = [PAGE, OTHER_PAGE];
      expect((await preflight(PAGE, 'PUT', 'content-type')).status).toBe(200);
      expect((await preflight(OTHER_PAGE, 'PUT', 'content-type')).status).toBe(200);
    } finally {
      origins = [PAGE];
    }
  });

  it("an explicit '*' allows any origin, still answered with the origin itself; bad entries are refused at start", async () => {
    try {
      origins = ['*'];
      const res = await preflight(FOREIGN, 'PUT', 'content-type');
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(FOREIGN);
    } finally {
      origins = [PAGE];
    }
    for (const bad of [`${PAGE}/`, '127.0.0.1:4567', 'http://*.example', '']) {
      await expect(startLocalS3({ dataDir, buckets: [SRC], cors: { origins: [bad] } })).rejects.toThrow(/invalid cors\.origins entry/);
    }
  });

  it('options narrow what is allowed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-cors-narrow-'));
    const narrow = await startLocalS3({
      dataDir: dir,
      buckets: [SRC],
      cors: { origins: [PAGE], methods: ['put'], allowedHeaders: ['Content-Type'], exposeHeaders: ['ETag'], maxAgeSeconds: 30 },
    });
    try {
      const ok = await fetch(`${narrow.endpoint}/${SRC}/k`, { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } });
      expect(ok.status).toBe(200);
      expect(corsHeaders(ok.headers)).toMatchObject({ 'access-control-allow-methods': 'PUT', 'access-control-max-age': '30', 'access-control-allow-headers': 'content-type' });
      for (const [method, headers] of [['GET', ''], ['PUT', 'x-amz-checksum-sha256']]) {
        const no = await fetch(`${narrow.endpoint}/${SRC}/k`, { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': method, 'access-control-request-headers': headers } });
        expect(no.status, `${method} ${headers}`).toBe(403);
      }
    } finally {
      await narrow.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('without the cors option', () => {
  it('OPTIONS is refused with 403 and no answer carries CORS headers, as before', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-local-s3-nocors-'));
    const plain = await startLocalS3({ dataDir: dir, buckets: [SRC] });
    const c = s3Client(plain);
    try {
      const res = await fetch(`${plain.endpoint}/${SRC}/page/a.png`, { method: 'OPTIONS', headers: { origin: PAGE, 'access-control-request-method': 'PUT' } });
      expect(res.status).toBe(403);
      expect(xmlCode(await res.text())).toBe('AccessDenied');
      expect(corsHeaders(res.headers)).toEqual({});
      const body = png(6);
      const url = await getSignedUrl(c, new PutObjectCommand({ Bucket: SRC, Key: 'p.png', ContentLength: body.length, ChecksumSHA256: sha256B64(body) }), { expiresIn: 60 });
      const put = await fetch(url, { method: 'PUT', body: new Uint8Array(body), headers: { origin: PAGE } });
      expect(put.status).toBe(200);
      expect(corsHeaders(put.headers)).toEqual({});
      expect(put.headers.get('vary')).toBeNull();
    } finally {
      c.destroy();
      await plain.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
