// A source overwritten after its event: the handler resizes only the bytes the event announced
// (GET with If-Match on the event's eTag), so a stale event is skipped as `superseded` and the
// newer object's own event writes its variants; whichever finishes last can no longer leave one
// photo's variants under the other's key.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createResizeHandler } from '../lambda/resize.js';
import { outputKeys, recordKey } from '../src/core/keys.js';
import { type DoneRecord } from '../src/core/record.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { s3EventRecord } from '../src/core/s3-event.js';
import { createS3Client } from '../src/s3/client.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const SRC = 'imgpipe-source';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const event = (key: string, eTag: string) => s3EventRecord({ bucket: SRC, key, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString(), eTag: eTag.replace(/"/g, '') }, 'us-east-1');

describe('stale events', () => {
  const stacks: TestStack[] = [];
  afterAll(async () => Promise.all(stacks.map((s) => s.stop())));

  it('an event for bytes since overwritten is superseded and writes nothing; the newer event writes the newer photo', async () => {
    const stack = await startTestStack({ trigger: false });
    stacks.push(stack);
    const logs: Record<string, unknown>[] = [];
    const handler = createResizeHandler({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, cacheControl: 'no-cache', log: (l) => logs.push(l) });
    const key = 'direct/overwritten.jpg';
    const [a, b] = await Promise.all(['mate-Aqua.jpg', 'plasma-Kite.jpg'].map((f) => readFile(img.corpusFile(f))));
    const first = await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: a }));
    const second = await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: b }));

    const stale = await handler({ Records: [event(key, first.ETag!)] });
    expect(stale.outcomes).toEqual([{ bucket: SRC, key, status: 'superseded', retry: false }]);
    expect(stale.batchItemFailures).toEqual([]);
    expect(await stack.list(stack.destBucket)).toEqual([]);
    expect(logs).toEqual([expect.objectContaining({ level: 'info', msg: 'superseded', key })]);

    const fresh = await handler({ Records: [event(key, second.ETag!)] });
    expect(fresh.outcomes).toEqual([expect.objectContaining({ status: 'ok' })]);
    const rec = JSON.parse((await stack.get(stack.destBucket, recordKey(key))).toString()) as DoneRecord;
    expect(rec.source.sha256).toBe(sha256(b));
    const small = await sharp(await stack.get(stack.destBucket, outputKeys(key, DEFAULT_SPEC)[0].key)).metadata();
    const bm = await sharp(b).metadata();
    expect([small.width, small.height]).toEqual([320, Math.round((320 * bm.height!) / bm.width!)]);
  });

  it('a source overwritten while it is being resized: the resize that read the older bytes writes nothing', async () => {
    const stack = await startTestStack({ trigger: false });
    stacks.push(stack);
    const key = 'direct/overwritten-mid-resize.jpg';
    const [a, b] = await Promise.all(['mate-Wood.jpg', 'plasma-Grey.jpg'].map((f) => readFile(img.corpusFile(f))));
    const first = await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: a }));
    // The handler's own client: the moment its GET of the first photo has answered, a direct
    // writer puts the second one over it (a real PUT to the real server), before the resize ends.
    const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
    let overwritten = false;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'GetObjectCommand' && !overwritten) {
          overwritten = true;
          await stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: b }));
        }
        return out;
      },
      { step: 'deserialize', name: 'overwriteAfterGet' },
    );
    const handler = createResizeHandler({ s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, cacheControl: 'no-cache', log: () => undefined });
    const result = await handler({ Records: [event(key, first.ETag!)] });
    expect(overwritten).toBe(true);
    expect(result.outcomes).toEqual([{ bucket: SRC, key, status: 'superseded', retry: false }]);
    expect(await stack.list(stack.destBucket)).toEqual([]);
  });
});
