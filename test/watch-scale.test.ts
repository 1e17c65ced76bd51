// `watch` costs what is pending, not what the bucket holds: with 20,000 earlier photos' records
// in the destination bucket, one round for a batch of 9 makes at most one list page per pending
// image (it used to list every record under the batch's common prefix `uploads/`: 21 pages).
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureKey, recordKey } from '../src/core/keys.js';
import { waitForRecords } from '../src/s3/wait.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const hash = () => randomBytes(33).toString('base64url').toLowerCase().replace(/[^a-z2-7]/g, 'a').slice(0, 52);
const sourceKey = (name: string) => `uploads/${hash()}/${name}`;

describe('watch against a bucket with a long history', () => {
  let stack: TestStack;
  const put = (key: string) => stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: key, Body: '{}' }));
  beforeAll(async () => {
    stack = await startTestStack({ trigger: false, fsync: false }); // durability is not under test: 20,000 PUTs without a sync each
  });
  afterAll(async () => stack?.stop());

  async function oneRound(batch: string[]) {
    return waitForRecords({ s3: stack.s3, bucket: stack.destBucket, sourceKeys: batch, timeoutMs: 30_000, readDone: false });
  }

  it('a round for 9 pending costs the same few pages with 0 or 20,000 unrelated records', async () => {
    const first = Array.from({ length: 9 }, (_, i) => sourceKey(`a${i}.jpg`));
    for (const k of first) await put(recordKey(k));
    const empty = await oneRound(first);
    expect(empty.records).toHaveLength(9);
    expect(empty.requests).toBe(1); // one page holds them all; none is undone, so no failure listing

    const limit = pLimit(32);
    await Promise.all(Array.from({ length: 20_000 }, (_, i) => limit(() => put(recordKey(sourceKey(`old-${i}.jpg`))))));
    const batch = Array.from({ length: 9 }, (_, i) => sourceKey(`b${i}.jpg`));
    for (const k of batch.slice(0, 7)) await put(recordKey(k));
    for (const k of batch.slice(7)) await put(failureKey(k));
    const busy = await waitForRecords({ s3: stack.s3, bucket: stack.destBucket, sourceKeys: batch, timeoutMs: 30_000, readDone: false }).catch((e) => e);
    // The two failure records are read (for their reason) and are not ours in shape: each is that image's failure.
    expect(busy.records.map((r: { status: string }) => r.status)).toEqual([...Array(7).fill('done'), 'failed', 'failed']);
    // Done: at most one page per pending key (9); failed: one page (the two undone keys, no other failure records); two GETs.
    process.stdout.write(`watch round, 9 pending among 20,009 records: ${busy.requests} requests\n`);
    expect(busy.requests).toBeLessThanOrEqual(9 + 2 + 2);
    expect(busy.requests).toBeLessThan(20); // the whole-prefix listing took 20 pages for the done records alone
  }, 300_000);
});
