// The embedded stack itself: it survives a failing resize, and a restart keeps every object.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputKeys } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { startLocalStack } from '../src/local/stack.js';
import { createS3Client } from '../src/s3/client.js';
import { getVerdict } from '../src/s3/get-record.js';
import * as img from './helpers/images.js';
import { startTestStack } from './helpers/stack.js';

describe('local stack', () => {
  it('a resize failing on one object does not stop the stack', async () => {
    const stack = await startTestStack();
    try {
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: 'direct/broken.jpg', Body: img.truncatedJpeg() }));
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.sourceBucket, Key: 'direct/fine.jpg', Body: readFileSync(img.corpusFile('mate-Aqua.jpg')) }));
      await stack.idle();
      expect(await getVerdict(stack.s3, stack.destBucket, 'direct/broken.jpg')).toMatchObject({ status: 'failed', code: 'corrupt', reason: expect.stringMatching(/corrupt or truncated/) });
      expect(await getVerdict(stack.s3, stack.destBucket, 'direct/fine.jpg')).toMatchObject({ status: 'done' });
      expect(await stack.list(stack.destBucket)).toEqual([...outputKeys('direct/fine.jpg', DEFAULT_SPEC).map((o) => o.key).sort(), '_imgpipe/done/direct/fine.jpg.json', '_imgpipe/failed/direct/broken.jpg.json']);
      const health = await fetch(`${stack.apiUrl}/health`);
      expect(health.status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  it('a restart keeps every stored object', async () => {
    const dataDir = path.join(await img.tempDir(), 'data');
    const first = await startLocalStack({ dataDir, spec: DEFAULT_SPEC });
    let s3 = createS3Client({ endpoint: first.s3Endpoint, region: first.region, credentials: first.credentials });
    const body = readFileSync(img.corpusFile('plasma-Grey.jpg'));
    await s3.send(new PutObjectCommand({ Bucket: first.sourceBucket, Key: 'keep/me.jpg', Body: body }));
    await first.idle();
    s3.destroy();
    await first.close();

    const second = await startLocalStack({ dataDir, spec: DEFAULT_SPEC });
    s3 = createS3Client({ endpoint: second.s3Endpoint, region: second.region, credentials: second.credentials });
    try {
      const { GetObjectCommand, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const got = await s3.send(new GetObjectCommand({ Bucket: second.sourceBucket, Key: 'keep/me.jpg' }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
      const dest = await s3.send(new ListObjectsV2Command({ Bucket: second.destBucket }));
      expect((dest.Contents ?? []).map((o) => o.Key).sort()).toEqual([...outputKeys('keep/me.jpg', DEFAULT_SPEC).map((o) => o.key).sort(), '_imgpipe/done/keep/me.jpg.json']);
    } finally {
      s3.destroy();
      await second.close();
    }
  });
});
