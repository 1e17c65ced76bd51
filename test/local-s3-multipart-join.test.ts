// A Complete joins the parts without copying them: the object's bytes stay in the parts' own files
// (the same inodes), and read back whole, in ranges across part boundaries, through a CopyObject
// and after a restart; deleting the object and its copy leaves no file behind. A full-object
// checksum, which needs every byte, still reads them (without writing them again).
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/images.js';
import { eventually, getObjectBytes, s3Client, sha256B64 } from './helpers/s3.js';

const BUCKET = 'join';
const MIB = 1024 * 1024;
const PARTS = [randomBytes(5 * MIB), randomBytes(5 * MIB + 17), randomBytes(1234)];
const WHOLE = Buffer.concat(PARTS);
const composite = `${createHash('sha256').update(Buffer.concat(PARTS.map((p) => createHash('sha256').update(p).digest()))).digest('base64')}-${PARTS.length}`;

describe('local-s3 CompleteMultipartUpload joins parts without copying them', () => {
  let dir: string;
  let server: LocalS3;
  let client: S3Client;
  const start = async () => {
    server = await startLocalS3({ dataDir: dir, buckets: [BUCKET], silent: true });
    client = s3Client(server);
  };
  const stop = async () => {
    client?.destroy();
    await server?.close();
  };
  /** The blob files' inode numbers, and their bytes in all. */
  const blobFiles = async () => {
    const names = await readdir(path.join(dir, 'blobs'));
    const stats = await Promise.all(names.map((n) => stat(path.join(dir, 'blobs', n))));
    return { inodes: stats.map((s) => s.ino).sort(), bytes: stats.reduce((n, s) => n + s.size, 0) };
  };
  const range = async (key: string, spec: string) => {
    const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${spec}` }));
    // The bytes as a hash: a failed deep comparison of megabytes would take minutes to print.
    return { contentRange: r.ContentRange, sha256: sha256B64(Buffer.from(await r.Body!.transformToByteArray())) };
  };
  /** Ranges across the first and second part boundaries, inside one part, a suffix, and one byte. */
  const expectRanges = async (key: string) => {
    const b1 = PARTS[0].length;
    const b2 = b1 + PARTS[1].length;
    for (const [from, to] of [[b1 - 10, b1 + 9], [b1 - 1, b2], [100, WHOLE.length - 100], [b1 + 5, b1 + 6], [0, 0]]) {
      expect(await range(key, `${from}-${to}`)).toEqual({ contentRange: `bytes ${from}-${to}/${WHOLE.length}`, sha256: sha256B64(WHOLE.subarray(from, to + 1)) });
    }
    expect((await range(key, '-700')).sha256).toBe(sha256B64(WHOLE.subarray(WHOLE.length - 700)));
  };

  beforeAll(async () => {
    dir = await tempDir('imgpipe-local-s3-join-');
    await start();
  });
  afterAll(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the object is the parts’ files under new names; whole, ranges, a copy and a restart read the same bytes; deletes leave nothing', async () => {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'big.bin', ChecksumAlgorithm: 'SHA256' }));
    const done = [];
    for (const [i, Body] of PARTS.entries()) {
      const r = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'big.bin', UploadId, PartNumber: i + 1, Body, ChecksumSHA256: sha256B64(Body) }));
      done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 });
    }
    const parts = await blobFiles();
    expect(parts.inodes).toHaveLength(3);
    const completed = await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'big.bin', UploadId, MultipartUpload: { Parts: done } }));
    expect(completed.ChecksumSHA256).toBe(composite);
    // No copy: the same files hold the object (a copy would be a new inode, and the bytes twice until the parts went).
    await eventually(async () => expect(await blobFiles()).toEqual(parts));
    expect(parts.bytes).toBe(WHOLE.length);

    expect(sha256B64(await getObjectBytes(client, BUCKET, 'big.bin'))).toBe(sha256B64(WHOLE));
    await expectRanges('big.bin');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
    expect([head.ContentLength, head.ChecksumSHA256, head.ETag]).toEqual([WHOLE.length, composite, completed.ETag]);

    await client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy.bin', CopySource: `${BUCKET}/big.bin` }));
    expect(sha256B64(await getObjectBytes(client, BUCKET, 'copy.bin'))).toBe(sha256B64(WHOLE));

    await stop();
    await start();
    expect(sha256B64(await getObjectBytes(client, BUCKET, 'big.bin'))).toBe(sha256B64(WHOLE));
    await expectRanges('copy.bin');

    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
    expect(sha256B64(await getObjectBytes(client, BUCKET, 'copy.bin'))).toBe(sha256B64(WHOLE));
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'copy.bin' }));
    await eventually(async () => expect((await blobFiles()).inodes).toEqual([]));
  });

  it('a FULL_OBJECT CRC32 upload: the checksum of all the bytes, joined the same way', async () => {
    const crc = (b: Buffer) => { const out = Buffer.alloc(4); out.writeUInt32BE(crc32(b)); return out.toString('base64'); };
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'crc.bin', ChecksumAlgorithm: 'CRC32', ChecksumType: 'FULL_OBJECT' }));
    const done = [];
    for (const [i, Body] of PARTS.entries()) {
      const r = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'crc.bin', UploadId, PartNumber: i + 1, Body, ChecksumCRC32: crc(Body) }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    const completed = await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'crc.bin', UploadId, MultipartUpload: { Parts: done } }));
    expect([completed.ChecksumCRC32, completed.ChecksumType]).toEqual([crc(WHOLE), 'FULL_OBJECT']);
    expect(sha256B64(await getObjectBytes(client, BUCKET, 'crc.bin'))).toBe(sha256B64(WHOLE));
    await eventually(async () => expect((await blobFiles()).bytes).toBe(WHOLE.length));
  });

  it('where the filesystem makes no hard links, Complete copies each part instead: the same bytes, files of their own', async () => {
    const link = fsp.link;
    fsp.link = async () => {
      throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    };
    try {
      const earlier = (await blobFiles()).inodes; // the objects of the tests above
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'nolink.bin', ChecksumAlgorithm: 'SHA256' }));
      const done = [];
      for (const [i, Body] of PARTS.entries()) {
        const r = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'nolink.bin', UploadId, PartNumber: i + 1, Body, ChecksumSHA256: sha256B64(Body) }));
        done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 });
      }
      const parts = (await blobFiles()).inodes.filter((i) => !earlier.includes(i));
      expect(parts).toHaveLength(3);
      await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'nolink.bin', UploadId, MultipartUpload: { Parts: done } }));
      expect(sha256B64(await getObjectBytes(client, BUCKET, 'nolink.bin'))).toBe(sha256B64(WHOLE));
      // Three files of the object's own; the parts' went with the upload.
      await eventually(async () => {
        const now = (await blobFiles()).inodes.filter((i) => !earlier.includes(i));
        expect([now.length, now.filter((i) => parts.includes(i))]).toEqual([3, []]);
      });
    } finally {
      fsp.link = link;
    }
  });
});
