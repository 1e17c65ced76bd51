// A content key promises its bytes' SHA-256 (the base32 folder before the name): the resize checks
// the bytes it reads against it, so a multipart upload (whose S3 checksum is of its parts) or a
// write straight into the bucket cannot pass other bytes off as the photo. Real local stack,
// real sharp, the handler as Lambda runs it and through the local stack's own queue.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResizeHandler } from '../lambda/resize.js';
import { type FailedRecord } from '../src/core/failed-record.js';
import { failureKey, outputKey, recordKey } from '../src/core/keys.js';
import { type DoneRecord } from '../src/core/record.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { HEALABLE_CODES } from '../src/core/failed-record.js';
import { uploadKey } from '../src/core/upload-key.js';
import { s3EventRecord } from '../src/core/s3-event.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const SRC = 'imgpipe-source';
const record = (key: string) => s3EventRecord({ bucket: SRC, key, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, 'us-east-1');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('the resize verifies a content key against the bytes', () => {
  const genuine = readFileSync(img.corpusFile('mate-Aqua.jpg'));
  const other = readFileSync(img.corpusFile('plasma-Grey.jpg'));

  describe('the handler, as Lambda invokes it', () => {
    let stack: TestStack;
    let logs: Record<string, unknown>[];
    let handler: ReturnType<typeof createResizeHandler>;
    beforeAll(async () => {
      stack = await startTestStack({ trigger: false });
      logs = [];
      handler = createResizeHandler({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, cacheControl: 'public, max-age=60', log: (l) => logs.push(l) });
    });
    afterAll(async () => stack?.stop());

    it('other bytes under a content key: a checksum failure record on the first try, no variants, no retry', async () => {
      const key = uploadKey('aqua.jpg', 'jpeg', sha256(genuine));
      await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: other })); // a valid image, but not the promised one
      const result = await handler({ Records: [record(key)] });
      expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'failed', retry: false, code: 'checksum' })]);
      const failed = JSON.parse((await stack.get(stack.destBucket, failureKey(key))).toString()) as FailedRecord;
      expect(failed).toMatchObject({ status: 'failed', code: 'checksum', source: { key } });
      expect(failed.reason).toContain(`their SHA-256 is ${sha256(other)}`);
      expect(failed.reason).toMatch(/upload the file again/);
      const dest = await stack.list(stack.destBucket);
      expect(dest.filter((k) => !k.startsWith('_imgpipe/'))).toEqual([]);
      expect(dest).not.toContain(recordKey(key));
      // Retrying cannot change the bytes: heal does not queue it again.
      expect(HEALABLE_CODES.has('checksum')).toBe(false);
    });

    it('the genuine bytes under their own key: variants, and the record holds their hash', async () => {
      const key = uploadKey('aqua.jpg', 'jpeg', sha256(genuine));
      await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: genuine }));
      const result = await handler({ Records: [record(key)] });
      expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'ok' })]);
      const rec = JSON.parse((await stack.get(stack.destBucket, recordKey(key))).toString()) as DoneRecord & { sha256?: string };
      expect(JSON.stringify(rec)).toContain(sha256(genuine));
      const m = await sharp(await stack.get(stack.destBucket, outputKey(key, DEFAULT_SPEC.variants[0], DEFAULT_SPEC))).metadata();
      expect(m.width).toBe(320);
      expect(await stack.list(stack.destBucket)).not.toContain(failureKey(key)); // the earlier failure is replaced
    });

    it('a key of another shape promises nothing and is resized as it is', async () => {
      const key = 'manual/not-a-content-key.jpg';
      await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: other }));
      const result = await handler({ Records: [record(key)] });
      expect(result.outcomes).toEqual([expect.objectContaining({ key, status: 'ok' })]);
    });
  });

  describe('through the local stack (its queue, its worker)', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack();
    });
    afterAll(async () => stack?.stop());

    it('a tampered object written straight into the bucket ends as one checksum failure, not retried', async () => {
      const key = uploadKey('tampered.jpg', 'jpeg', sha256(genuine));
      await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: other }));
      await stack.idle();
      const failed = JSON.parse((await stack.get(stack.destBucket, failureKey(key))).toString()) as FailedRecord & { attempts?: number };
      expect(failed).toMatchObject({ code: 'checksum', source: { key } });
      expect(failed.attempts ?? 1).toBe(1);
      expect((await stack.list(stack.destBucket)).filter((k) => k.includes('tampered'))).toEqual([failureKey(key)]);
      // Reprocess cannot mend it either: refused with the reason, nothing queued.
      const res = await fetch(`${stack.apiUrl.replace(/\/+$/, '')}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keys: [key] }) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ reprocess: [{ key, status: 'refused', error: { code: 'Checksum', message: expect.stringMatching(/upload the file again/) } }] });
      await stack.idle();
      const again = JSON.parse((await stack.get(stack.destBucket, failureKey(key))).toString()) as FailedRecord & { attempts?: number };
      expect(again.failedAt).toBe(failed.failedAt);
    });

    it('"upload the file again" works: the API hands the genuine bytes a PUT onto that key, not "exists"; then variants, and the failure record goes', async () => {
      const key = uploadKey('mended.jpg', 'jpeg', sha256(genuine));
      await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: other }));
      await stack.idle();
      expect(await stack.list(stack.destBucket)).toContain(failureKey(key));
      const { requestUploads } = await import('../src/api/client.js');
      const [answer] = await requestUploads([{ name: 'other-name.jpg', size: genuine.length, contentType: 'image/jpeg', sha256: sha256(genuine) }], { api: stack.apiUrl });
      if (!('url' in answer)) throw new Error(`expected a PUT, got ${JSON.stringify(answer)}`);
      expect(answer.key).toBe(key); // onto the bytes that failed, so its record is the one mended
      expect((await fetch(answer.url, { method: 'PUT', headers: answer.headers, body: genuine })).status).toBe(200);
      await stack.idle();
      expect(sha256(await stack.get(SRC, key))).toBe(sha256(genuine));
      const dest = await stack.list(stack.destBucket);
      expect(dest).toContain(recordKey(key));
      expect(dest).not.toContain(failureKey(key));
      // Mended: the same bytes are now answered "exists".
      const [after] = await requestUploads([{ name: 'mended.jpg', size: genuine.length, contentType: 'image/jpeg', sha256: sha256(genuine) }], { api: stack.apiUrl });
      expect(after).toMatchObject({ key, exists: true });
    });
  });
});
