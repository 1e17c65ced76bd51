// A photo's path label (core/source-path.ts) through the real presign API and the real local S3
// server: signed into the PUT as `x-amz-meta-path`, so a client that drops or changes it is
// refused by S3; odd paths refused one by one with the rest of the batch granted; a path too long
// for S3's 2 KB of metadata granted without it; a record naming a path that is not relative is
// that image's own malformed record.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadAnswer, UploadGranted } from '../src/api/contract.js';
import { outputKey } from '../src/core/keys.js';
import { checkRecord } from '../src/core/record-check.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { decodeSourcePath, encodeSourcePath, sourcePathProblem } from '../src/core/source-path.js';
import { sha256B64 } from './helpers/s3.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const bytes = Buffer.from('not an image, but S3 does not look');
const file = (path: unknown, over: object = {}) => ({ name: 'a.jpg', size: bytes.length, contentType: 'image/jpeg', sha256: sha256B64(bytes), path, ...over });

describe('the path label of an upload', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ trigger: false, dedupe: false });
  });
  afterAll(async () => stack?.stop());

  const presign = async (files: unknown[]): Promise<UploadAnswer[]> => {
    const res = await fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files }) });
    return ((await res.json()) as { uploads: UploadAnswer[] }).uploads;
  };
  const put = (g: UploadGranted, headers: Record<string, string>) => fetch(g.url, { method: 'PUT', headers, body: bytes });

  it('is signed into the PUT: sent as granted it is stored; dropped or changed, S3 refuses the PUT', async () => {
    const label = 'Été 2024/plage/ñandú 1.jpg';
    const [g] = (await presign([file(label)])) as UploadGranted[];
    expect(g.headers['x-amz-meta-path']).toBe('%C3%89t%C3%A9%202024/plage/%C3%B1and%C3%BA%201.jpg');
    expect(new URL(g.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-sha256;x-amz-meta-path');
    const { 'x-amz-meta-path': _dropped, ...without } = g.headers;
    const dropped = await put(g, without);
    expect(dropped.status).toBe(403);
    expect(await dropped.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const changed = await put(g, { ...g.headers, 'x-amz-meta-path': 'elsewhere/a.jpg' });
    expect(changed.status).toBe(403);
    const sent = await put(g, g.headers);
    expect(sent.status).toBe(200);
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.sourceBucket, Key: g.key }));
    expect(decodeSourcePath(head.Metadata)).toBe(label);
  });

  it('refuses a path that is not a relative one, file by file, and grants the rest', async () => {
    const odd = ['../up.jpg', '/abs/a.jpg', 'a\\b.jpg', 'a//b.jpg', 'a/./b.jpg', 'a/\nb.jpg', '', 7, 'x'.repeat(1025)];
    const answers = await presign([...odd.map((p) => file(p)), file('fine/a.jpg')]);
    expect(answers.map((a) => ('error' in a ? a.error.code : 'granted'))).toEqual([...odd.map(() => 'InvalidPath'), 'granted']);
    expect(answers.slice(0, odd.length).map((a) => ('error' in a ? a.error.message : ''))).toEqual(odd.map((p) => sourcePathProblem(p)));
  });

  it('grants a path too long for 2 KB of metadata without it (the key keeps the name); no path, no header', async () => {
    const long = `${'é'.repeat(500)}/a.jpg`; // 1,006 bytes of UTF-8, 3,006 once percent-encoded
    expect(encodeSourcePath(long)).toBeUndefined();
    const [g, plain] = (await presign([file(long), file(undefined)])) as UploadGranted[];
    for (const a of [g, plain]) {
      expect(a.url).toBeDefined();
      expect(Object.keys(a.headers).sort()).toEqual(['content-length', 'content-type', 'x-amz-checksum-sha256']);
    }
    expect((await put(g, g.headers)).status).toBe(200);
  });

  it('a record whose path is not relative is malformed; a relative one is kept', () => {
    const key = 'uploads/abc/a.jpg';
    const record = (path: string) => ({
      version: 1,
      status: 'done',
      source: { key, path, sha256: 'x', format: 'jpeg', width: 10, height: 10, bytes: 10 },
      specHash: 'h',
      variants: [{ name: '320', key: outputKey(key, DEFAULT_SPEC.variants[0], DEFAULT_SPEC), format: 'jpeg', contentType: 'image/jpeg', width: 10, height: 10, bytes: 5 }],
      placeholder: '',
      color: '#102030',
      createdAt: 'now',
    });
    expect(checkRecord(record('album/a.jpg'), key, 'done')).toMatchObject({ ok: true, record: { source: { path: 'album/a.jpg' } } });
    expect(checkRecord(record('../../home/a.jpg'), key, 'done')).toEqual({ ok: false, reason: 'source.path: not a relative path' });
  });
});
