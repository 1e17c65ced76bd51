// The presign handler as API Gateway invokes it: events in, responses out. Signing needs no
// network, so the S3 client points at an address nothing listens on.
import { describe, expect, it } from 'vitest';
import { createPresignHandler, PRESIGN_DEFAULTS, type ApiEvent, type ApiResult } from '../lambda/presign.js';
import { contentFolder, uploadKey } from '../src/core/upload-key.js';
import { createS3Client } from '../src/s3/client.js';

const s3 = createS3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret-not-printed' } });
// Dedupe off: its lookups need a bucket (tested against the local stack in dedupe.test.ts).
const handler = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: 'src-bucket', s3, maxFiles: 5, apiKey: undefined, dedupe: false });
const withKey = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: 'src-bucket', s3, apiKey: 'sekret-key', dedupe: false });

const sha = Buffer.alloc(32, 7).toString('base64');
const file = (over: object = {}) => ({ name: 'a.jpg', size: 1234, contentType: 'image/jpeg', sha256: sha, ...over });
const rest = (body: unknown, over: Partial<ApiEvent> = {}): ApiEvent => ({ httpMethod: 'POST', path: '/uploads', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...over });
const httpApi = (body: unknown): ApiEvent => ({ version: '2.0', rawPath: '/prod/uploads', requestContext: { http: { method: 'POST', path: '/prod/uploads' } }, headers: {}, body: Buffer.from(JSON.stringify(body)).toString('base64'), isBase64Encoded: true });
const parse = (r: ApiResult) => JSON.parse(r.body);

describe('presign API handler', () => {
  it('presigns a batch: server-picked keys, short-lived URLs signing type, length and checksum', async () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const r = await handler(rest({ files: [file(), file({ name: '../../etc/passwd.png', contentType: 'image/png', sha256: other })] }));
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const { uploads } = parse(r);
    expect(uploads).toHaveLength(2);
    const [a, b] = uploads;
    // The content decides the folder (its SHA-256 in base32), the name stays readable.
    expect(a.key).toBe(`${contentFolder(sha)}a.jpg`);
    expect(a.key).toMatch(/^uploads\/[a-z2-7]{52}\/a\.jpg$/);
    expect(b.key).toBe(`${contentFolder(other)}passwd.png`);
    expect(a.key.split('/')[1]).not.toBe(b.key.split('/')[1]);
    expect(a).toMatchObject({ name: 'a.jpg', method: 'PUT', headers: { 'content-type': 'image/jpeg', 'content-length': '1234', 'x-amz-checksum-sha256': sha } });
    const url = new URL(a.url);
    expect(url.pathname).toBe(`/src-bucket/${a.key}`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-sha256');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(Date.parse(a.expiresAt) - Date.now()).toBeGreaterThan(890_000);
    expect(Date.parse(a.expiresAt) - Date.now()).toBeLessThanOrEqual(900_000);
    expect(r.body).not.toContain('local-secret-not-printed');
  });

  it('answers HTTP API payload 2.0 events (base64 body, stage in the path) too', async () => {
    const r = await handler(httpApi({ files: [file()] }));
    expect(r.statusCode).toBe(200);
    expect(parse(r).uploads[0].key).toMatch(/\/a\.jpg$/);
  });

  it('refuses each bad file with its own error, and presigns the rest', async () => {
    const r = await handler(rest({ files: [file({ contentType: 'text/html' }), file({ size: 300 * 1024 * 1024 }), file({ size: 0 }), file({ sha256: 'abc' }), file({ name: 'ok.webp', contentType: 'image/webp' })] }));
    expect(r.statusCode).toBe(200);
    expect(parse(r).uploads.map((u: { error?: { code: string }; key?: string }) => u.error?.code ?? 'ok')).toEqual(['UnsupportedType', 'EntityTooLarge', 'EmptyFile', 'InvalidChecksum', 'ok']);
  });

  it('answers 4xx JSON, never 500, to bad requests', async () => {
    const cases: [ApiEvent, number, string][] = [
      [rest('{not json'), 400, 'MalformedJSON'],
      [rest({ files: [] }), 400, 'InvalidRequest'],
      [rest({ files: 'a.jpg' }), 400, 'InvalidRequest'],
      [rest([1, 2]), 400, 'InvalidRequest'],
      [rest('null'), 400, 'InvalidRequest'],
      [rest({ files: Array.from({ length: 6 }, () => file()) }), 400, 'TooManyFiles'],
      [rest('x'.repeat(PRESIGN_DEFAULTS.maxBodyBytes + 1)), 413, 'BodyTooLarge'],
      [rest('['.repeat(100_000) + ']'.repeat(100_000)), 400, 'InvalidRequest'],
      [rest({ files: [file()] }, { httpMethod: 'GET' }), 405, 'MethodNotAllowed'],
      [rest({ files: [file()] }, { path: '/other' }), 404, 'NotFound'],
    ];
    for (const [event, status, code] of cases) {
      const r = await handler(event);
      expect([r.statusCode, parse(r).error?.code]).toEqual([status, code]);
    }
    const allBad = await handler(rest({ files: [file({ contentType: 'image/svg+xml' })] }));
    expect(allBad.statusCode).toBe(400);
    expect(parse(allBad).uploads[0].error.code).toBe('UnsupportedType');
    expect(JSON.stringify(parse(await handler(rest({ files: [{ name: 5, size: 'x' }, null, 7] }))).uploads.map((u: { error: { code: string } }) => u.error.code))).toBe('["InvalidName","InvalidName","InvalidName"]');
  });

  it('checks x-api-key when one is configured', async () => {
    expect((await withKey(rest({ files: [file()] }))).statusCode).toBe(401);
    expect((await withKey(rest({ files: [file()] }, { headers: { 'x-api-key': 'wrong' } }))).statusCode).toBe(401);
    expect((await withKey(rest({ files: [file()] }, { headers: { 'X-Api-Key': 'sekret-key' } }))).statusCode).toBe(200);
  });
});

describe('upload keys', () => {
  it('keep the name readable but safe', () => {
    const digest = Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex').toString('base64'); // sha256("test")
    // The key's last segment: the client's name as the key keeps it.
    const sanitiseName = (name: string, format: 'jpeg' | 'png' | 'webp' | 'heic') => uploadKey(name, format, digest).slice(contentFolder(digest).length);
    expect(sanitiseName('../../x/y\\z/a b+c%#?.JPG', 'jpeg')).toBe('a b+c%#?.JPG');
    expect(sanitiseName('IMG_0001.HEIC', 'heic')).toBe('IMG_0001.HEIC'); // as the phone wrote it
    expect(sanitiseName('IMG_0001.HEIC', 'jpeg')).toBe('IMG_0001.HEIC.jpg');
    expect(sanitiseName('evil\u0000\u001b[31m.png', 'png')).toBe('evil[31m.png');
    expect(sanitiseName('photo.png', 'jpeg')).toBe('photo.png.jpg');
    expect(sanitiseName('...', 'webp')).toBe('image.webp');
    expect(sanitiseName('e\u0301té.jpeg', 'jpeg')).toBe('\u00e9té.jpeg'); // NFD → NFC
    const long = sanitiseName('写'.repeat(300) + '.jpg', 'jpeg');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('写.jpg')).toBe(true);
    expect(uploadKey('a.jpg', 'jpeg', digest)).toBe('uploads/t6dnbamijr6wlgrp5kqmkwwqcwr36ty3fmfyelgrlvwblmhqbiea/a.jpg');
    expect(uploadKey('a.jpg', 'jpeg', digest, { prefix: '/in/' })).toBe('in/t6dnbamijr6wlgrp5kqmkwwqcwr36ty3fmfyelgrlvwblmhqbiea/a.jpg');
  });
});
