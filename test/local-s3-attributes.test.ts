// GetObjectAttributes and conditional writes (If-None-Match: *, If-Match) on the local S3 server,
// through the JavaScript SDK: what S3 answers, and two racing If-None-Match: * writers, one winner.
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { getObjectBytes, md5Hex, sdkFailure, sha256B64, useLocalS3 } from './helpers/s3.js';

const BUCKET = 'attrs';
const BIG = randomBytes(5 * 1024 * 1024);
const TAIL = randomBytes(777);
const ROUNDS = 20;

describe('local-s3 GetObjectAttributes and conditional writes (JavaScript SDK)', () => {
  const local = useLocalS3('imgpipe-local-s3-attrs-', [BUCKET]);

  async function multipart(Key: string, extra: { IfNoneMatch?: string; IfMatch?: string } = {}) {
    const { UploadId } = await local.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key, ChecksumAlgorithm: 'SHA256' }));
    const parts = [];
    for (const [i, Body] of [BIG, TAIL].entries()) {
      const r = await local.client.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: i + 1, Body, ChecksumSHA256: sha256B64(Body) }));
      parts.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 });
    }
    return local.client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: parts }, ...extra }));
  }

  it('a single PUT: ETag without quotes, its checksum, size, storage class, no parts', async () => {
    const body = Buffer.from('attribute bytes');
    await local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'one.txt', Body: body, ChecksumSHA256: sha256B64(body) }));
    const a = await local.client.send(
      new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'one.txt', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts', 'ObjectSize', 'StorageClass'] }),
    );
    expect([a.ETag, a.Checksum?.ChecksumSHA256, a.ObjectSize, a.StorageClass, a.ObjectParts]).toEqual([md5Hex(body), sha256B64(body), body.length, 'STANDARD', undefined]);
    expect(a.LastModified).toBeInstanceOf(Date);
  });

  it('a multipart object: its parts with their checksums, paged; only what was asked for', async () => {
    const done = await multipart('multi.bin');
    const a = await local.client.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'multi.bin', ObjectAttributes: ['ETag', 'Checksum', 'ObjectParts'], MaxParts: 1 }));
    expect(a.ETag).toBe(done.ETag!.replace(/"/g, ''));
    expect(a.Checksum?.ChecksumType).toBe('COMPOSITE');
    expect(done.ChecksumSHA256).toBe(`${a.Checksum?.ChecksumSHA256}-2`);
    expect(a.ObjectSize).toBeUndefined();
    expect(a.ObjectParts?.TotalPartsCount).toBe(2);
    expect(a.ObjectParts?.IsTruncated).toBe(true);
    expect(a.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumSHA256])).toEqual([[1, BIG.length, sha256B64(BIG)]]);
    const rest = await local.client.send(
      new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'multi.bin', ObjectAttributes: ['ObjectParts'], PartNumberMarker: a.ObjectParts?.NextPartNumberMarker }),
    );
    expect(rest.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p.ChecksumSHA256])).toEqual([[2, TAIL.length, sha256B64(TAIL)]]);
    expect((await sdkFailure(local.client.send(new GetObjectAttributesCommand({ Bucket: BUCKET, Key: 'none', ObjectAttributes: ['ETag'] })))).code).toBe('NoSuchKey');
  });

  it('PutObject If-None-Match: * and If-Match: 412 when they do not hold, 404 for If-Match on no object', async () => {
    const first = await local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond.txt', Body: 'v1', IfNoneMatch: '*' }));
    const again = await sdkFailure(local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond.txt', Body: 'v2', IfNoneMatch: '*' })));
    expect([again.status, again.code]).toEqual([412, 'PreconditionFailed']);
    const stale = await sdkFailure(local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond.txt', Body: 'v2', IfMatch: `"${md5Hex('other')}"` })));
    expect([stale.status, stale.code]).toEqual([412, 'PreconditionFailed']);
    const absent = await sdkFailure(local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'absent.txt', Body: 'v', IfMatch: first.ETag })));
    expect([absent.status, absent.code]).toEqual([404, 'NoSuchKey']);
    expect((await getObjectBytes(local.client, BUCKET, 'cond.txt')).toString()).toBe('v1');
    await local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond.txt', Body: 'v3', IfMatch: first.ETag }));
    expect((await getObjectBytes(local.client, BUCKET, 'cond.txt')).toString()).toBe('v3');
  });

  it('CompleteMultipartUpload If-None-Match: * on an existing key: 412, the object unchanged', async () => {
    await local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'taken.bin', Body: 'old' }));
    const r = await sdkFailure(multipart('taken.bin', { IfNoneMatch: '*' }));
    expect([r.status, r.code]).toEqual([412, 'PreconditionFailed']);
    expect((await getObjectBytes(local.client, BUCKET, 'taken.bin')).toString()).toBe('old');
    const fresh = await multipart('fresh.bin', { IfNoneMatch: '*' });
    expect(fresh.ETag).toMatch(/-2"$/);
  });

  it(`two writers racing with If-None-Match: *, ${ROUNDS} rounds: exactly one wins, its bytes stay`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const Key = `race/${round}`;
      const bodies = [randomBytes(256 * 1024), randomBytes(256 * 1024)];
      const results = await Promise.allSettled(bodies.map((Body) => local.client.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body, IfNoneMatch: '*' }))));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won, `round ${round}`).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((lost.reason as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
      const stored = await getObjectBytes(local.client, BUCKET, Key);
      expect(createHash('md5').update(stored).digest('hex')).toBe(md5Hex(bodies[won[0]]));
    }
  });
});
