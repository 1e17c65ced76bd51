// The resize and the dead-letter queue's failure recorder, in-process against the real local S3
// server, with SQS-shaped events as Lambda's event source mapping delivers them: partial batch
// failures, the deadline Lambda's context gives, and the record every dead-lettered photo gets.
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../lambda/deadline.js';
import { createFailureRecorder } from '../lambda/failure-recorder.js';
import { createResizeHandler } from '../lambda/resize.js';
import { s3EventRecord, type SqsRecord } from '../src/core/s3-event.js';
import { type FailedRecord } from '../src/core/failed-record.js';
import { attemptKey, failureKey, recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC, parseSpec } from '../src/core/spec.js';
import type { AttemptNote } from '../src/core/failed-record.js';
import { createS3Client } from '../src/s3/client.js';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

const SRC = 'imgpipe-source';
const s3Event = (key: string) => JSON.stringify({ Records: [s3EventRecord({ bucket: SRC, key, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, 'us-east-1')] });
const message = (messageId: string, key: string, receiveCount = 1): SqsRecord => ({
  eventSource: 'aws:sqs',
  messageId,
  body: s3Event(key),
  attributes: { ApproximateReceiveCount: String(receiveCount) },
});
/** Lambda's context with `ms` left from now. */
const contextWith = (ms: number) => {
  const end = Date.now() + ms;
  return { getRemainingTimeInMillis: () => end - Date.now() };
};

describe('the resize on an SQS queue, and the failure recorder', () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  const logs: Record<string, unknown>[] = [];
  const json = async <T>(key: string): Promise<T> => JSON.parse((await stack.get(stack.destBucket, key)).toString()) as T;
  const destKeys = async (part: string) => (await stack.list(stack.destBucket)).filter((k) => k.includes(part)).sort();
  const put = (key: string, body: Buffer) => stack.s3.send(new PutObjectCommand({ Bucket: SRC, Key: key, Body: body }));

  beforeAll(async () => {
    stack = await startTestStack({ trigger: false });
    // S3 answers 503 SlowDown to every GET of this one photo: a transient failure, for real, over HTTP.
    proxy = await startFaultProxy({ target: () => stack.s3Endpoint, flavor: 's3', rates: { status503: 1 }, match: (r) => r.method === 'GET' && r.path.includes('flaky') });
    await put('q/fine.jpg', readFileSync(img.corpusFile('mate-Aqua.jpg')));
    await put('q/flaky.jpg', readFileSync(img.corpusFile('mate-Aqua.jpg')));
    await put('q/corrupt.jpg', img.truncatedJpeg());
  }, 60_000);
  afterAll(async () => {
    await proxy?.close();
    await stack?.stop();
  });

  /** The stack's S3 as the SDK names it (Host and signature), over the fault proxy's socket when `faulty`. */
  const s3Via = (faulty: boolean) => {
    const agent = new http.Agent({ keepAlive: true });
    if (faulty) agent.createConnection = () => net.connect(Number(new URL(proxy.url).port), '127.0.0.1');
    return new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: stack.region,
      credentials: stack.credentials,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: agent },
    });
  };
  const handlerVia = (faulty: boolean, spec = DEFAULT_SPEC) =>
    createResizeHandler({
      s3: s3Via(faulty),
      destBucket: stack.destBucket,
      spec,
      cacheControl: 'no-cache',
      log: (l) => logs.push(l),
    });

  it('a batch with one transient failure answers exactly that message for a retry, and notes why for the recorder', async () => {
    const result = await handlerVia(true)({ Records: [message('m-fine', 'q/fine.jpg'), message('m-flaky', 'q/flaky.jpg', 2), message('m-corrupt', 'q/corrupt.jpg')] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-flaky' }]);
    expect(result.outcomes.map((o) => [o.key, o.status, o.retry])).toEqual([
      ['q/fine.jpg', 'ok', false],
      ['q/flaky.jpg', 'failed', true],
      ['q/corrupt.jpg', 'failed', false],
    ]);
    expect(proxy.faults.status503).toBeGreaterThan(0);
    // The retried photo has no record yet, only the note of this attempt; the others are answered.
    expect(await destKeys('flaky')).toEqual([attemptKey('q/flaky.jpg')]);
    expect(await json<AttemptNote>(attemptKey('q/flaky.jpg'))).toMatchObject({ messageId: 'm-flaky', attempt: 2, code: 'gave-up', reason: expect.any(String) });
    expect(await destKeys('fine')).toContain(recordKey('q/fine.jpg'));
    expect(await destKeys('corrupt')).toEqual([failureKey('q/corrupt.jpg')]);
  });

  it("with the function's time nearly gone, a slow resize stops before the deadline and is recorded as a timeout; the photo after it is not started and goes back to the queue", async () => {
    // A real slow spec: AVIF of a noisy 1.9 MP PNG takes seconds; a 2 s function leaves 1.2 s for
    // work (40 % kept back for answering).
    const spec = parseSpec({ variants: [{ name: 'full', width: 1600, format: 'avif' }] });
    const png = await sharp({ create: { width: 1600, height: 1200, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 60 }, background: '#808080' } }).png({ compressionLevel: 1 }).toBuffer();
    await put('q/slow.png', png);
    const context = contextWith(2000);
    const result = await handlerVia(false, spec)({ Records: [message('m-slow', 'q/slow.png', 1), message('m-next', 'q/fine.jpg', 1)] }, context);
    // Answered with time to spare: Lambda did not have to kill it.
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    expect(result.outcomes.map((o) => [o.key, o.code, o.retry])).toEqual([
      ['q/slow.png', 'timeout', false],
      ['q/fine.jpg', 'timeout', true],
    ]);
    // The slow one had the whole invocation: a retry would run out the same way, so it is failed now.
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-next' }]);
    const failed = await json<FailedRecord>(failureKey('q/slow.png'));
    expect(failed).toMatchObject({ status: 'failed', code: 'timeout', attempts: 1, reason: expect.stringMatching(/did not finish in the function's time/) });
    expect(await destKeys('slow')).toEqual([failureKey('q/slow.png')]);
    // The one not started comes back with its note: were this its last receive, the recorder would say timeout.
    expect(await json<AttemptNote>(attemptKey('q/fine.jpg'))).toMatchObject({ messageId: 'm-next', attempt: 1, code: 'timeout', reason: expect.stringMatching(/^not started/) });
  }, 120_000);

  it('a photo cut off after a fair share of the time is failed now; one cut off late in a batch is retried', () => {
    let left = 60_000;
    const deadline = new Deadline({ getRemainingTimeInMillis: () => left });
    expect(deadline.atStart).toBe(60_000 - deadline.reserveMs);
    expect(deadline.wasFair(deadline.atStart)).toBe(true);
    expect(deadline.wasFair(deadline.atStart / 2)).toBe(true);
    left = 20_000;
    expect(deadline.wasFair(deadline.budget())).toBe(false);
    // A short function keeps 40 % back, and starts no photo in its last quarter.
    const short = new Deadline({ getRemainingTimeInMillis: () => 1000 });
    expect([short.reserveMs, short.atStart, short.minWorkMs]).toEqual([400, 600, 250]);
    // A long function keeps a fixed reserve and least time for a photo, whatever its length: under
    // the short rule's 40 % and quarter, not growing with the function's time.
    const longest = new Deadline({ getRemainingTimeInMillis: () => 900_000 });
    expect([longest.reserveMs, longest.minWorkMs]).toEqual([deadline.reserveMs, deadline.minWorkMs]);
    expect(deadline.reserveMs).toBeLessThan(60_000 * 0.4);
    expect(deadline.minWorkMs).toBeLessThan(60_000 / 4);
    // Without a context (tests of the handler alone): no deadline at all.
    expect(new Deadline().budget()).toBe(Infinity);
  });

  describe('the failure recorder', () => {
    const recorder = () => createFailureRecorder({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC, maxReceives: 3, log: (l) => logs.push(l) });

    it("turns a dead letter into the failure record its last attempt's note names, with the number of attempts", async () => {
      // The resize's own note, from its third and last receive of this message.
      const flaky = await handlerVia(true)({ Records: [message('m-dead', 'q/flaky.jpg', 3)] });
      expect(flaky.batchItemFailures).toEqual([{ itemIdentifier: 'm-dead' }]);
      // SQS moved it after three receives; the dead-letter queue's own receive makes four.
      const out = await recorder()({ Records: [message('m-dead', 'q/flaky.jpg', 4)] });
      expect(out).toEqual({ outcomes: [{ key: 'q/flaky.jpg', status: 'recorded', code: 'gave-up', attempts: 3 }], batchItemFailures: [] });
      const failed = await json<FailedRecord>(failureKey('q/flaky.jpg'));
      expect(failed).toMatchObject({ status: 'failed', source: { key: 'q/flaky.jpg' }, code: 'gave-up', attempts: 3, reason: expect.stringMatching(/SlowDown|slow down|reduce your request rate|503/i) });
      expect(failed.reason).toMatch(/\(after 3 attempts\)$/);
    });

    it('a dead letter whose attempts left no word is `crashed`; a note of another message does not count', async () => {
      await put('q/oom.jpg', readFileSync(img.corpusFile('mate-Aqua.jpg')));
      // A note from an earlier message of the same photo (an earlier upload cycle), not this one.
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.destBucket, Key: attemptKey('q/oom.jpg'), Body: JSON.stringify({ messageId: 'm-old', attempt: 3, code: 'timeout', reason: 'old', at: new Date().toISOString() }) }));
      const out = await createFailureRecorder({ s3: stack.s3, destBucket: stack.destBucket, spec: DEFAULT_SPEC })({ Records: [message('m-oom', 'q/oom.jpg', 4)] });
      // Without MAX_RECEIVE_COUNT the attempts come from the receive count, less the DLQ's own.
      expect(out.outcomes).toEqual([{ key: 'q/oom.jpg', status: 'recorded', code: 'crashed', attempts: 3 }]);
      expect(await json<FailedRecord>(failureKey('q/oom.jpg'))).toMatchObject({ code: 'crashed', attempts: 3, reason: expect.stringMatching(/without an answer on each of 3 attempts/) });
    });

    it('skips a photo that has a done record by now, and writes nothing for it', async () => {
      // q/fine.jpg was resized in the first test: its done record is there.
      expect(await destKeys('fine')).toContain(recordKey('q/fine.jpg'));
      const out = await recorder()({ Records: [message('m-late', 'q/fine.jpg', 4)] });
      expect(out).toEqual({ outcomes: [{ key: 'q/fine.jpg', status: 'already-done' }], batchItemFailures: [] });
      expect(await destKeys('fine')).not.toContain(failureKey('q/fine.jpg'));
    });

    it('answers a message for a retry when the record cannot be written, and carries on with the rest', async () => {
      const down = createFailureRecorder({ s3: createS3Client({ endpoint: 'http://127.0.0.1:9', region: stack.region, credentials: stack.credentials, maxAttempts: 1 }), destBucket: stack.destBucket, spec: DEFAULT_SPEC, maxReceives: 3, log: () => undefined });
      const out = await down({ Records: [message('m-a', 'q/a.jpg', 4), { eventSource: 'aws:sqs', messageId: 'm-junk', body: 'not json' }, message('m-b', 'q/b.jpg', 4)] });
      expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'm-a' }, { itemIdentifier: 'm-b' }]);
    });
  });
});
