// The deployed S3 → SQS → resize → dead-letter queue → failure recorder path, on one machine. The
// server's durable event journal is the queue (nothing is lost on a crash), each delivery is an
// SQS receive: the resize gets the message in SQS's shape with its ApproximateReceiveCount, runs in
// an instance of its own under the function's timeout (worker-pool.ts), and a message it did not
// answer for comes back with one more receive. After MAX_RECEIVE_COUNT receives, the dead-letter
// step hands it to the failure recorder of lambda/failure-recorder.ts, which writes the record.
//
// Two differences from SQS, both on purpose: a returned message waits a short backoff rather than
// the 6-minute visibility timeout (one machine has nothing to wait out), and the receive count
// starts again at 1 after a restart of the stack (the journal keeps the event, not its count).
// The handler gets Lambda's context (the time left before the pool stops it), so its own deadline
// (lambda/deadline.ts: a `timeout` record at once after a fair run) works as on AWS; the timeout is
// also enforced from outside, as Lambda ends a handler that cannot stop itself (a HEIC decode
// holds its one thread). Then this stack, which saw the timeout, leaves the note that makes the
// record say `timeout`; on AWS nothing can, and the recorder says `crashed`, naming the timeout
// among the causes it cannot tell apart.
import type { S3Client } from '@aws-sdk/client-s3';
import type { LocalS3, ObjectCreatedEvent } from '@imgpipe/local-s3';
import { createFailureRecorder } from '../../lambda/failure-recorder.js';
import { writeAttemptNote } from '../../lambda/records.js';
import type { SqsRecord } from '../core/s3-event.js';
import type { Spec } from '../core/spec.js';
import { MAX_RECEIVE_COUNT } from '../core/pipeline-defaults.js';
import { ResizePool, type InvokeResult } from './worker-pool.js';
import type { InstanceConfig } from './worker-protocol.js';

export interface ResizeQueueOptions {
  /** Instances at once (the template's ResizeConcurrency). */
  concurrency: number;
  /** The function's timeout (the template's Timeout). */
  timeoutMs: number;
  /** The function's memory (the template's ResizeMemory). */
  memoryMb: number;
  instance: InstanceConfig;
  /** Where the dead-letter step writes (the failure recorder's own S3 access on AWS). */
  records: { s3: S3Client; destBucket: string; spec: Spec };
  /** The S3 event record of a journal event (core/s3-event.ts s3EventRecord). */
  toRecord: (ev: ObjectCreatedEvent) => Record<string, unknown>;
  /** Id of the event's message: the same on every receive, as SQS keeps it. */
  messageId: (ev: ObjectCreatedEvent) => string;
  log: (line: Record<string, unknown>) => void;
}

/** Why a receive ended without an answer, in words for the log; undefined when the resize answered. */
function unanswered(r: InvokeResult): { code: string; error: string } | undefined {
  if (r.kind === 'timeout') return { code: 'timeout', error: `Task timed out after ${(r.timeoutMs / 1000).toFixed(2)} seconds` };
  if (r.kind === 'crashed') return { code: 'crashed', error: `${r.detail} mid-resize` };
  if (r.kind === 'threw') return { code: 'gave-up', error: r.message };
  return undefined;
}

export function startResizeQueue(server: Pick<LocalS3, 'consumeEvents'>, opts: ResizeQueueOptions) {
  const pool = new ResizePool({ size: opts.concurrency, timeoutMs: opts.timeoutMs, memoryMb: opts.memoryMb, config: opts.instance, log: opts.log });
  const message = (ev: ObjectCreatedEvent, receiveCount: number): SqsRecord => ({
    eventSource: 'aws:sqs',
    messageId: opts.messageId(ev),
    body: JSON.stringify({ Records: [opts.toRecord(ev)] }),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  });
  const recordFailures = createFailureRecorder({
    ...opts.records,
    maxReceives: MAX_RECEIVE_COUNT,
    // Its "failure recorded" lines say why in `error`, as the resize's own do; "already done" is no news.
    log: (line) => {
      if (line.status === 'recorded') opts.log({ ...line, error: `${String(line.code)} after ${String(line.attempts)} attempts (failure record written)`, retry: false });
      else if (line.level === 'error') opts.log(line);
    },
  });

  const delivery = server.consumeEvents(
    async (ev, receiveCount) => {
      const sqs = message(ev, receiveCount);
      const r = await pool.invoke({ Records: [sqs] });
      if (r.kind === 'answered') {
        // The handler has logged why and left its note for the recorder.
        if (r.batchItemFailures.length) throw new Error('the resize answered: retry');
        return;
      }
      const why = unanswered(r)!;
      opts.log({ level: 'error', msg: 'resize ended without an answer', key: ev.key, error: why.error, code: why.code, retry: receiveCount < MAX_RECEIVE_COUNT, receiveCount });
      if (r.kind === 'timeout') {
        // Lambda's "Task timed out" is in its log, not the message: say it where the recorder
        // looks, as the handler's own deadline does, so the record says `timeout`, not `crashed`.
        await writeAttemptNote(opts.records, ev.key, { messageId: sqs.messageId, attempt: receiveCount, code: 'timeout', reason: `the resize did not finish within the function's timeout: ${why.error}` }).catch(
          (err) => opts.log({ level: 'error', msg: 'attempt note not written', key: ev.key, error: (err as Error).message }),
        );
      }
      throw new Error(why.error);
    },
    {
      concurrency: opts.concurrency,
      maxAttempts: MAX_RECEIVE_COUNT,
      // SQS would wait out the visibility timeout; here a short backoff (see above).
      backoffMs: (n) => Math.min(5_000, 200 * 2 ** (n - 1)),
      onGiveUp: async (ev) => {
        // The dead-letter queue's message: received once more there.
        const dead = message(ev, MAX_RECEIVE_COUNT + 1);
        await recordFailures({ Records: [dead] });
      },
    },
  );

  return {
    idle: () => delivery.idle(),
    /** Of these source keys, how many wait for a resize (queued, or for a retry) and how many are being resized. */
    backlog: (keys?: ReadonlySet<string>) => delivery.backlog(keys),
    /** Stop receiving, let running resizes end (within the timeout), then end the instances. */
    async close() {
      await delivery.close();
      await pool.close();
    },
  };
}
