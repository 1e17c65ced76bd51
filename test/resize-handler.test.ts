// The resize Lambda against the real local S3 server, with S3-shaped event records.
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResizeHandler } from '../lambda/resize.js';
import { type FailedRecord } from '../src/core/failed-record.js';
import { failureKey, outputKey, outputKeys, recordKey } from '../src/core/keys.js';
import { type DoneRecord } from '../src/core/record.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { decodeEventKey, s3EventRecord } from '../src/core/s3-event.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const record = (bucket: string, key: string) => s3EventRecord({ bucket, key, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, 'us-east-1');
/** S3's ObjectRemoved record: no size, no ETag. */
const removal = (bucket: string, key: string) => s3EventRecord({ bucket, key, eventName: 'ObjectRemoved:Delete', eventTime: new Date().toISOString() }, 'us-east-1');

describe('resize handler', () => {
  let stack: TestStack;
  let logs: Record<string, unknown>[];
  let handler: ReturnType<typeof createResizeHandler>;
  const SRC = 'imgpipe-source';

  beforeAll(async () => {
    // No trigger here: the test invokes the handler itself, as Lambda would (with the trigger on,
    // the stack's own handler would write the outputs and these checks could not fail).
    stack = await startTestStack({ trigger: false });
    logs = [];
    handler = createResizeHandler({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, cacheControl: 'public, max-age=60', log: (l) => logs.push(l) });
  });
  afterAll(async () => stack?.stop());


  it('decodes keys as S3 encodes them', () => {
    const eventKey = (key: string) => record('b', key).s3.object.key;
    expect(eventKey('uploads/a b+c%.jpg')).toBe('uploads/a+b%2Bc%25.jpg');
    expect(decodeEventKey('uploads/a+b%2Bc%25.jpg')).toBe('uploads/a b+c%.jpg');
    expect(decodeEventKey(eventKey('ünï/写真 (1).jpg'))).toBe('ünï/写真 (1).jpg');
  });

  it('resizes a URL-encoded key into every variant, with content type and cache control', async () => {
    const key = 'manual/a b+c% 写真.jpg';
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: readFileSync(img.corpusFile('mate-Aqua.jpg')) }));
    await stack.idle();
    const result = await handler({ Records: [record(SRC, key)] });
    expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'ok' })]);
    for (const o of outputKeys(key, DEFAULT_SPEC)) {
      const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.destBucket, Key: o.key }));
      expect([head.ContentType, head.CacheControl]).toEqual(['image/jpeg', 'public, max-age=60']);
    }
    const m = await sharp(await stack.get(stack.destBucket, outputKey(key, DEFAULT_SPEC.variants[0], DEFAULT_SPEC))).metadata();
    expect([m.width, m.height]).toEqual([320, 200]);
    // The record, written after the last variant, says what each one is.
    const rec = JSON.parse((await stack.get(stack.destBucket, recordKey(key))).toString()) as DoneRecord;
    expect(rec).toMatchObject({ status: 'done', source: { key, format: 'jpeg', width: 2560, height: 1600 } });
    for (const v of rec.variants) {
      const bytes = await stack.get(stack.destBucket, v.key);
      const vm = await sharp(bytes).metadata();
      expect([v.key, v.bytes, v.width, v.height, v.format]).toEqual([v.key, bytes.length, vm.width, vm.height, vm.format]);
    }
  });

  it('writes a failure record for an image it gives up on, and replaces it once a good image is there', async () => {
    const key = 'manual/fixed-later.jpg';
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: img.truncatedJpeg() }));
    await handler({ Records: [record(SRC, key)] });
    const failed = JSON.parse((await stack.get(stack.destBucket, failureKey(key))).toString()) as FailedRecord;
    expect(failed).toMatchObject({ status: 'failed', code: 'corrupt', source: { key }, reason: expect.stringMatching(/corrupt or truncated/) });
    expect(await stack.list(stack.destBucket)).not.toContain(recordKey(key));

    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: readFileSync(img.corpusFile('plasma-Grey.jpg')) }));
    await handler({ Records: [record(SRC, key)] });
    const dest = await stack.list(stack.destBucket);
    expect(dest).toContain(recordKey(key));
    expect(dest).not.toContain(failureKey(key));
  });

  it('gives the same outputs for a duplicate event', async () => {
    const key = 'manual/dup.jpg';
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: readFileSync(img.corpusFile('plasma-Grey.jpg')) }));
    await stack.idle();
    await handler({ Records: [record(SRC, key)] });
    const first = await stack.get(stack.destBucket, outputKey(key, DEFAULT_SPEC.variants[1], DEFAULT_SPEC));
    const again = await handler({ Records: [record(SRC, key), record(SRC, key)] });
    expect(again.outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
    expect((await stack.get(stack.destBucket, outputKey(key, DEFAULT_SPEC.variants[1], DEFAULT_SPEC))).equals(first)).toBe(true);
  });

  it('refuses to write into the bucket that triggered it', async () => {
    logs.length = 0;
    const before = await stack.list(stack.destBucket);
    const result = await handler({ Records: [record(stack.destBucket, '320/manual/dup.jpg')] });
    expect(result.outcomes[0]).toMatchObject({ status: 'refused', retry: false, error: expect.stringMatching(/recursive trigger/) });
    expect(logs).toEqual([expect.objectContaining({ level: 'error', msg: 'recursion guard' })]);
    expect(await stack.list(stack.destBucket)).toEqual(before);
  });

  it('one bad record does not stop the others; each failure is one JSON log line', async () => {
    logs.length = 0;
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: 'manual/corrupt.jpg', Body: img.truncatedJpeg() }));
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: 'manual/fine.jpg', Body: readFileSync(img.corpusFile('mate-Garden.jpg')) }));
    await stack.idle();
    const result = await handler({ Records: [record(SRC, 'manual/corrupt.jpg'), record(SRC, 'manual/gone.jpg'), record(SRC, 'manual/fine.jpg')] });
    expect(result.outcomes.map((o) => [o.key, o.status, o.retry])).toEqual([
      ['manual/corrupt.jpg', 'failed', false],
      ['manual/gone.jpg', 'superseded', false],
      ['manual/fine.jpg', 'ok', false],
    ]);
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => [l.key, l.error])).toEqual([['manual/corrupt.jpg', expect.stringMatching(/corrupt or truncated/)]]);
    const dest = await stack.list(stack.destBucket);
    expect(dest.filter((k) => k.includes('corrupt'))).toEqual([failureKey('manual/corrupt.jpg')]);
    // A create event whose object is gone is superseded by the delete: no failure record.
    expect(dest.filter((k) => k.includes('gone'))).toEqual([]);
    expect(dest.filter((k) => k.includes('fine'))).toHaveLength(4); // three variants and the record
  });

  it('refuses a decompression bomb by its header, without the memory to decode it', async () => {
    logs.length = 0;
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: 'manual/bomb.png', Body: img.bombPng(50000, 50000) }));
    await stack.idle();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const result = await handler({ Records: [record(SRC, 'manual/bomb.png')] });
    clearInterval(sampler);
    expect(result.outcomes[0]).toMatchObject({ status: 'failed', retry: false, error: expect.stringMatching(/50000×50000 .* over the 100 MP limit/) });
    // Decoding it would need 7.5 GB; refusing it from the header needs next to nothing.
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    expect((await stack.list(stack.destBucket)).filter((k) => k.includes('bomb'))).toEqual([failureKey('manual/bomb.png')]);
  });

  it('reports only failed SQS messages for retry', async () => {
    const body = (key: string) => JSON.stringify({ Records: [record(SRC, key)] });
    const result = await handler({ Records: [
      { eventSource: 'aws:sqs', messageId: 'm1', body: body('manual/fine.jpg') },
      { eventSource: 'aws:sqs', messageId: 'm2', body: body('manual/corrupt.jpg') },
    ] });
    // A corrupt image will never succeed: not retried. Nothing transient here.
    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.map((o) => o.status)).toEqual(['ok', 'failed']);
  });

  it('an ObjectRemoved record deletes exactly that photo\'s variants (listed and current), done and failure records; twice is fine; a key stored again keeps its variants', async () => {
    const [a, b] = ['removal/a.jpg', 'removal/b.jpg'];
    for (const k of [a, b]) await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: k, Body: readFileSync(img.corpusFile('plasma-Grey.jpg')) }));
    await stack.idle();
    expect((await handler({ Records: [record(SRC, a), record(SRC, b)] })).outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
    // An older spec's variant the done record still lists, and a stale failure record of a's.
    const done = JSON.parse((await stack.get(stack.destBucket, recordKey(a))).toString()) as DoneRecord;
    const oldKey = `320/0123abcd/${a}`;
    done.variants.push({ ...done.variants[0], key: oldKey });
    // A key of another photo planted in the record is not a variant of a's: it stays.
    done.variants.push({ ...done.variants[0], key: outputKeys(b, DEFAULT_SPEC)[0].key });
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: recordKey(a), Body: JSON.stringify(done) }));
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: oldKey, Body: 'old variant' }));
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: failureKey(a), Body: '{}' }));
    const before = await stack.list(stack.destBucket);
    await stack.s3.send(new DeleteObjectCommand({ Bucket: SRC, Key: a }));

    const gone = [recordKey(a), failureKey(a), oldKey, ...outputKeys(a, DEFAULT_SPEC).map((o) => o.key)];
    expect(before).toEqual(expect.arrayContaining(gone));
    const first = await handler({ Records: [removal(SRC, a)] });
    expect(first.outcomes).toEqual([expect.objectContaining({ key: a, status: 'removed', retry: false })]);
    expect(await stack.list(stack.destBucket)).toEqual(before.filter((k) => !gone.includes(k)));
    const again = await handler({ Records: [{ eventSource: 'aws:sqs', messageId: 'r1', body: JSON.stringify({ Records: [removal(SRC, a)] }) }] });
    expect([again.outcomes[0].status, again.batchItemFailures]).toEqual(['removed', []]);
    expect(await stack.list(stack.destBucket)).toEqual(before.filter((k) => !gone.includes(k)));

    // b stored again after its removal's delete: the late removal leaves its variants.
    await stack.s3.send(new DeleteObjectCommand({ Bucket: SRC, Key: b }));
    await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: b, Body: readFileSync(img.corpusFile('plasma-Grey.jpg')) }));
    await stack.idle();
    const late = await handler({ Records: [removal(SRC, b)] });
    expect(late.outcomes[0]).toMatchObject({ key: b, status: 'superseded' });
    expect(await stack.list(stack.destBucket)).toEqual(before.filter((k) => !gone.includes(k)));
  });

  it('a create event for a missing object writes no failure record (superseded by the delete)', async () => {
    const key = 'removal/late.jpg';
    const result = await handler({ Records: [record(SRC, key)] });
    expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'superseded', retry: false })]);
    expect((await stack.list(stack.destBucket)).filter((k) => k.includes(key))).toEqual([]);
  });
});
