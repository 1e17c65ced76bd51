// Heal (lambda/heal.ts): uploading bytes the source bucket already holds, whose resize never
// finished, queues them again instead of a bare "exists". On the local stack through the real CLI
// and the server's durable queue: a photo the pipeline gave up on (gave-up), one whose record is
// gone long after its upload, and — not healed — a photo that failed for its own bytes (corrupt).
// On the AWS path: the message sent to a real SQS queue (moto) is an S3 event the resize handler
// takes from the queue and finishes.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsRequeue } from '../lambda/heal.js';
import { createPresignHandler, PRESIGN_DEFAULTS } from '../lambda/presign.js';
import { createResizeHandler } from '../lambda/resize.js';
import { failedRecord } from '../src/core/failed-record.js';
import { failureKey, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startMoto, type Moto } from './helpers/moto.js';
import { sha256B64 } from './helpers/s3.js';
import { startTestStack, type TestStack } from './helpers/stack.js';
import { have, TOOLS } from './helpers/tools.js';
import { readFileSync } from 'node:fs';

const HAS_MOTO = have(TOOLS.moto, 'heal.test (the SQS message on moto)');
const PHOTOS = ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'mate-Wood.jpg'];

interface Upload {
  uploads: Array<{ relPath: string; key: string; status: string; requeuedAt?: string }>;
}

describe('heal on the local stack', () => {
  let stack: TestStack;
  let cwd: string;
  const keyOf = new Map<string, string>();
  const upload = async (...extra: string[]) => {
    const r = await runCli(['upload', 'photos', '--local', '--json', ...extra], { cwd });
    return { ...r, result: JSON.parse(r.stdout) as Upload };
  };

  beforeAll(async () => {
    // healAfterMs 0: a photo with no record at all counts as stranded at once (the default waits longer than the queue tries).
    stack = await startTestStack({ healAfterMs: 0 });
    cwd = await img.tempDir('imgpipe-heal-');
    await mkdir(path.join(cwd, 'photos'));
    for (const p of PHOTOS) await copyFile(img.corpusFile(p), path.join(cwd, 'photos', p));
    await stack.adopt(cwd);
    const first = await upload('--wait');
    expect(first.code, first.stderr).toBe(0);
    for (const u of first.result.uploads) keyOf.set(u.relPath, u.key);
  }, 120_000);
  afterAll(async () => stack?.stop());

  it('re-queues what the pipeline failed or lost, not what failed for its own bytes, and each ends as it should', async () => {
    const [gaveUp, lost, corrupt] = PHOTOS.map((p) => keyOf.get(p)!);
    // As the queue leaves them: a photo given up after its retries (a full disk), one whose record vanished,
    // and one whose failure is the photo's own.
    const fail = async (key: string, code: string) => {
      await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.destBucket, Key: recordKey(key) }));
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: failureKey(key), Body: JSON.stringify(failedRecord(key, code, `${code} in this test`, DEFAULT_SPEC)), ContentType: 'application/json' }));
    };
    await fail(gaveUp, 'gave-up');
    await stack.s3.send(new DeleteObjectCommand({ Bucket: stack.destBucket, Key: recordKey(lost) }));
    await fail(corrupt, 'corrupt');

    // --verify: the ledger knows all three done and would ask nothing.
    const again = await upload('--verify', '--wait', '--timeout', '120');
    const byPath = new Map(again.result.uploads.map((u) => [u.relPath, u]));
    expect([...byPath.values()].map((u) => [u.relPath, u.status, !!u.requeuedAt]).sort()).toEqual([
      ['mate-Aqua.jpg', 'exists', true],
      ['mate-Wood.jpg', 'exists', false],
      ['plasma-Grey.jpg', 'exists', true],
    ]);
    // The corrupt one stays failed, and the wait says so: exit 1 naming it, with its own reason.
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain(`error ${corrupt}: resize failed: corrupt in this test (corrupt)`);
    expect(again.stderr).not.toContain(gaveUp);
    expect(again.stderr).not.toContain(lost);
    const dest = new Set(await stack.list(stack.destBucket));
    for (const k of [gaveUp, lost]) {
      expect(dest.has(recordKey(k)), k).toBe(true);
      expect(dest.has(failureKey(k)), k).toBe(false); // the success cleared the failure
    }
    expect(dest.has(failureKey(corrupt))).toBe(true);
    // The line a person reads, without --json; and once done, a plain "already there".
    await fail(gaveUp, 'timeout');
    const plain = await runCli(['upload', 'photos', '--local', '--verify', '--no-progress', '--wait'], { cwd });
    expect(plain.stdout + plain.stderr).toContain(`skip mate-Aqua.jpg: already there as ${gaveUp}, but never resized: queued for resize again`);
    expect(plain.stdout + plain.stderr).toContain(`skip plasma-Grey.jpg: already there as ${lost}\n`);
  }, 180_000);
});

describe.skipIf(!HAS_MOTO)('heal on the AWS path: the SQS message (moto)', () => {
  let moto: Moto;
  let stack: TestStack;
  beforeAll(async () => {
    [moto, stack] = await Promise.all([startMoto(), startTestStack({ trigger: false })]);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await moto?.close();
  });

  it('an upload of stranded bytes sends one S3-shaped event to the queue, which the resize handler finishes', async () => {
    const sqs = new SQSClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'imgpipe-resize' }));
      const bytes = readFileSync(img.corpusFile('mate-Aqua.jpg'));
      const presign = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: stack.sourceBucket, s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, requeue: sqsRequeue(sqs, QueueUrl!, 'us-east-1'), healAfterMs: 0 });
      const ask = async () => {
        const body = JSON.stringify({ files: [{ name: 'a.jpg', size: bytes.length, contentType: 'image/jpeg', sha256: sha256B64(bytes) }] });
        return JSON.parse((await presign({ httpMethod: 'POST', path: '/uploads', headers: { 'content-type': 'application/json' }, body })).body).uploads[0];
      };
      const granted = await ask();
      expect((await fetch(granted.url, { method: 'PUT', headers: granted.headers, body: bytes })).status).toBe(200);
      // The trigger is off here: stored, never resized, no record. The same bytes again:
      expect(await ask()).toEqual({ name: 'a.jpg', key: granted.key, exists: true, requeuedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: ['All'] }));
      expect(got.Messages).toHaveLength(1);
      const event = JSON.parse(got.Messages![0].Body!);
      expect(event.Records).toHaveLength(1);
      expect(event.Records[0]).toMatchObject({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: stack.sourceBucket }, object: { size: bytes.length } } });
      const resize = createResizeHandler({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, cacheControl: 'public, max-age=31536000, immutable', log: () => {} });
      const m = got.Messages![0];
      const out = await resize({ Records: [{ eventSource: 'aws:sqs', messageId: m.MessageId!, body: m.Body!, attributes: { ApproximateReceiveCount: '1' } }] });
      expect(out.batchItemFailures).toEqual([]);
      expect(out.outcomes.map((o) => [o.key, o.status])).toEqual([[granted.key, 'ok']]);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
      // Done now: the same bytes once more are a plain "exists", and nothing more is queued.
      expect(await ask()).toEqual({ name: 'a.jpg', key: granted.key, exists: true });
      const none = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(none.Messages ?? []).toEqual([]);
    } finally {
      sqs.destroy();
    }
  }, 60_000);
});
