// Multipart uploads on the local S3 server the way the JavaScript SDK drives them: ListParts and
// ListMultipartUploads with their pagination, SHA-256 upload checksums (per part, composite on the
// object), and a Complete repeated after success answered the same, once written, once announced.
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { sdkFailure, sha256B64, sleep, useLocalS3 } from './helpers/s3.js';

const BUCKET = 'mpu';
const BIG = randomBytes(5 * 1024 * 1024);
const TAIL = randomBytes(1234);
const sha256Raw = (b: Buffer) => createHash('sha256').update(b).digest();
const composite = (...parts: Buffer[]) => `${createHash('sha256').update(Buffer.concat(parts.map(sha256Raw))).digest('base64')}-${parts.length}`;

describe('local-s3 multipart (JavaScript SDK)', () => {
  const local = useLocalS3('imgpipe-local-s3-mpu-sdk-', [BUCKET]);

  const create = async (Key: string, sha = false) =>
    local.client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key, ...(sha ? { ChecksumAlgorithm: 'SHA256' as const, ChecksumType: 'COMPOSITE' as const } : {}) }));

  it('ListParts: numbers, ETags, sizes, dates and checksums, paged by max-parts and part-number-marker', async () => {
    const { UploadId } = await create('parts.bin', true);
    const bodies = [Buffer.from('one'), Buffer.from('two!'), Buffer.from('three')];
    const etags: string[] = [];
    for (const [i, Body] of bodies.entries()) {
      const r = await local.client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId, PartNumber: i + 1, Body, ChecksumSHA256: sha256B64(Body) }));
      expect(r.ChecksumSHA256).toBe(sha256B64(Body));
      etags.push(r.ETag!);
    }
    const first = await local.client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId, MaxParts: 2 }));
    expect(first.IsTruncated).toBe(true);
    expect(first.NextPartNumberMarker).toBe('2');
    expect(first.ChecksumAlgorithm).toBe('SHA256');
    expect(first.Parts!.map((p) => [p.PartNumber, p.ETag, p.Size, p.ChecksumSHA256])).toEqual([
      [1, etags[0], 3, sha256B64(bodies[0])],
      [2, etags[1], 4, sha256B64(bodies[1])],
    ]);
    expect(Math.abs(first.Parts![0].LastModified!.getTime() - Date.now())).toBeLessThan(60_000);
    const rest = await local.client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId, PartNumberMarker: first.NextPartNumberMarker }));
    expect(rest.IsTruncated).toBe(false);
    expect(rest.Parts!.map((p) => p.PartNumber)).toEqual([3]);
    await local.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId }));
    expect((await sdkFailure(local.client.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'parts.bin', UploadId })))).code).toBe('NoSuchUpload');
  });

  it('ListMultipartUploads: prefix, max-uploads, key-marker and upload-id-marker pagination', async () => {
    const ids: Array<[string, string]> = [];
    for (const key of ['list/a', 'list/b', 'list/b', 'list/c', 'other/x']) {
      ids.push([key, (await create(key)).UploadId!]);
      await sleep(2); // distinct initiation times: uploads of one key are listed oldest first
    }
    const seen: Array<[string, string]> = [];
    let page = await local.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'list/', MaxUploads: 2 }));
    for (;;) {
      seen.push(...page.Uploads!.map((u) => [u.Key!, u.UploadId!] as [string, string]));
      expect(page.Uploads!.every((u) => u.Initiated instanceof Date)).toBe(true);
      if (!page.IsTruncated) break;
      expect(page.Uploads).toHaveLength(2);
      page = await local.client.send(
        new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'list/', MaxUploads: 2, KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker }),
      );
    }
    expect(seen).toEqual(ids.filter(([k]) => k.startsWith('list/')));
    for (const [Key, UploadId] of ids) await local.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId }));
    expect((await local.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).toEqual([]);
  });

  it('SHA256 upload: echoed, required and verified per part, checked at Complete, composite on the object', async () => {
    const created = await create('sha.bin', true);
    expect(created.ChecksumAlgorithm).toBe('SHA256');
    expect(created.ChecksumType).toBe('COMPOSITE');
    const UploadId = created.UploadId!;
    const part = { Bucket: BUCKET, Key: 'sha.bin', UploadId };
    const missing = await sdkFailure(local.client.send(new UploadPartCommand({ ...part, PartNumber: 1, Body: BIG })));
    expect([missing.status, missing.code]).toEqual([400, 'InvalidRequest']);
    const wrong = await sdkFailure(local.client.send(new UploadPartCommand({ ...part, PartNumber: 1, Body: BIG, ChecksumSHA256: sha256B64(TAIL) })));
    expect([wrong.status, wrong.code]).toEqual([400, 'BadDigest']);
    expect((await local.client.send(new ListPartsCommand(part))).Parts ?? []).toEqual([]); // nothing stored
    const p1 = await local.client.send(new UploadPartCommand({ ...part, PartNumber: 1, Body: BIG, ChecksumSHA256: sha256B64(BIG) }));
    const p2 = await local.client.send(new UploadPartCommand({ ...part, PartNumber: 2, Body: TAIL, ChecksumSHA256: sha256B64(TAIL) }));
    const badPart = await sdkFailure(
      local.client.send(new CompleteMultipartUploadCommand({ ...part, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag, ChecksumSHA256: sha256B64(TAIL) }, { PartNumber: 2, ETag: p2.ETag, ChecksumSHA256: sha256B64(TAIL) }] } })),
    );
    expect(badPart.code).toBe('InvalidPart');
    const done = await local.client.send(
      new CompleteMultipartUploadCommand({
        ...part,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag, ChecksumSHA256: p1.ChecksumSHA256 }, { PartNumber: 2, ETag: p2.ETag, ChecksumSHA256: p2.ChecksumSHA256 }] },
      }),
    );
    const expected = composite(BIG, TAIL);
    expect(done.ChecksumSHA256).toBe(expected);
    const head = await local.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sha.bin', ChecksumMode: 'ENABLED' }));
    expect([head.ChecksumSHA256, head.ChecksumType]).toEqual([expected, 'COMPOSITE']);
    const got = await local.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sha.bin', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumSHA256).toBe(expected);
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([BIG, TAIL]))).toBe(true);
  });

  it('Complete repeated after success: 200, the same ETag, one object, one event; an aborted id stays NoSuchUpload', async () => {
    const events: string[] = [];
    const stop = local.server.onObjectCreated((ev) => ev.key === 'twice.bin' && events.push(ev.eTag ?? ''));
    const { UploadId } = await create('twice.bin');
    const p1 = await local.client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'twice.bin', UploadId, PartNumber: 1, Body: TAIL }));
    const complete = () =>
      local.client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'twice.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } }));
    const first = await complete();
    const before = await local.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'twice.bin' }));
    const again = await complete();
    expect(again.ETag).toBe(first.ETag);
    const after = await local.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'twice.bin' }));
    expect(after.LastModified).toEqual(before.LastModified); // not written again
    await sleep(50);
    expect(events).toEqual([first.ETag!.replace(/"/g, '')]);
    stop();
    const aborted = (await create('gone.bin')).UploadId!;
    await local.client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'gone.bin', UploadId: aborted }));
    const r = await sdkFailure(local.client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'gone.bin', UploadId: aborted, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }] } })));
    expect([r.status, r.code]).toEqual([404, 'NoSuchUpload']);
  });
});
