// Conditional GETs on the local S3 server: If-None-Match / If-Modified-Since answer 304 with the
// validators (ETag, Last-Modified) and no body, as S3 does; a 304 is not an error document.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/images.js';
import { s3Client, sdkFailure } from './helpers/s3.js';

describe('local-s3 conditional requests', () => {
  let dir: string;
  let s3: LocalS3;
  let client: S3Client;
  let etag: string;

  beforeAll(async () => {
    dir = await tempDir('imgpipe-local-s3-cond-');
    s3 = await startLocalS3({ dataDir: dir, buckets: ['photos'], silent: true });
    client = s3Client(s3);
    etag = (await client.send(new PutObjectCommand({ Bucket: 'photos', Key: 'k.jpg', Body: 'bytes' }))).ETag!;
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('If-None-Match with the current ETag: 304, the ETag and Last-Modified, no body', async () => {
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'photos', Key: 'k.jpg' }), { expiresIn: 60 });
    const res = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe(etag);
    expect(new Date(res.headers.get('last-modified') ?? '').getTime()).toBeGreaterThan(0);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await res.text()).toBe('');
    const other = await fetch(url, { headers: { 'if-none-match': '"0123"' } });
    expect(other.status).toBe(200);
    expect(await other.text()).toBe('bytes');
  });

  it('through the SDK: GetObject and HeadObject with If-Modified-Since in the future are 304', async () => {
    const later = new Date(Date.now() + 60_000);
    expect((await sdkFailure(client.send(new GetObjectCommand({ Bucket: 'photos', Key: 'k.jpg', IfModifiedSince: later })))).status).toBe(304);
    expect((await sdkFailure(client.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'k.jpg', IfNoneMatch: etag })))).status).toBe(304);
    const got = await client.send(new GetObjectCommand({ Bucket: 'photos', Key: 'k.jpg', IfModifiedSince: new Date(Date.now() - 3600_000) }));
    expect(await got.Body?.transformToString()).toBe('bytes');
  });
});
