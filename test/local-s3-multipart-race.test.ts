// A CompleteMultipartUpload racing an AbortMultipartUpload of the same upload: exactly one wins,
// the other is answered 404 NoSuchUpload as S3 answers it, the object is there exactly when the
// Complete won (whole), and no part file is left behind either way. A real server on loopback,
// real AWS SDK v3 clients, both requests on the wire at once.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { eventually, getObjectBytes, md5Hex, s3Client, sdkFailure, sleep } from './helpers/s3.js';

const BUCKET = 'race';
const ROUNDS = 40;
// A part big enough that copying it into the object takes a while: the window the Abort lands in.
const PART = randomBytes(2 * 1024 * 1024);

describe('CompleteMultipartUpload racing AbortMultipartUpload', () => {
  let dir: string;
  let s3: LocalS3;
  let client: S3Client;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-mpu-race-'));
    s3 = await startLocalS3({ dataDir: path.join(dir, 'data'), buckets: [BUCKET], silent: true });
    client = s3Client(s3);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`in ${ROUNDS} rounds: one success each, the loser 404 NoSuchUpload, the object as the winner left it, no part file left`, async () => {
    const partEtag = md5Hex(PART);
    const objectEtag = `"${md5Hex(Buffer.from(partEtag, 'hex'))}-1"`;
    const winners = { complete: 0, abort: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const Key = `round-${round}.bin`;
      const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: PART }));
      const complete = client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }));
      // The Abort at once in some rounds, a moment later in others (0-3 ms), so it lands before, during and after the Complete's copy.
      const send = () => client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId }));
      const abort = round % 5 === 0 ? send() : sleep((round % 5) - 1).then(send);
      const [c, a] = await Promise.allSettled([complete, abort]);
      const outcome = { round, complete: c.status, abort: a.status };
      expect([c.status, a.status].filter((s) => s === 'fulfilled'), JSON.stringify(outcome)).toHaveLength(1);
      const loser = c.status === 'rejected' ? complete : abort;
      expect(await sdkFailure(loser)).toMatchObject({ status: 404, code: 'NoSuchUpload' });
      if (c.status === 'fulfilled') {
        winners.complete++;
        expect(c.value.ETag).toBe(objectEtag);
        expect((await getObjectBytes(client, BUCKET, Key)).equals(PART)).toBe(true);
      } else {
        winners.abort++;
        expect(await sdkFailure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key })))).toMatchObject({ status: 404 });
      }
      // Either way the upload is over.
      expect(await sdkFailure(client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId })))).toMatchObject({ status: 404, code: 'NoSuchUpload' });
    }
    expect(winners.complete + winners.abort).toBe(ROUNDS);
    // The data folder holds one file per completed object and nothing else: no part, no half object.
    await eventually(async () => expect(await readdir(path.join(dir, 'data', 'blobs'))).toHaveLength(winners.complete), 10_000);
  });
});
