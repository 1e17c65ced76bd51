// The dead-letter queue's consumer: a message lands there when the resize answered for it on none
// of its receives (it kept asking for a retry, or the function died each time). Every photo must
// end `done` or `failed`, so this writes the failure record the resize could not: the code and
// reason its last attempt left in a note, else `crashed`; and how many attempts there were.
import type { S3Client } from '@aws-sdk/client-s3';
import { recordKey } from '../src/core/keys.js';
import { DEFAULT_SPEC, parseSpec, type Spec } from '../src/core/spec.js';
import { createS3Client } from '../src/s3/client.js';
import { objectExists, readAttemptNote, writeFailureRecord } from './records.js';
import { decodeEventKey, type S3EventRecord, type SqsRecord } from '../src/core/s3-event.js';

export interface FailureRecorderConfig {
  s3: S3Client;
  destBucket: string;
  spec: Spec;
  /** The source queue's maxReceiveCount: a dead-lettered message was received exactly this often there. */
  maxReceives?: number;
  log?: (line: Record<string, unknown>) => void;
}

export interface DeadLetterOutcome {
  key: string;
  /** `not-a-photo`: a removal that never settled; a failure record would name a photo that is not there. */
  status: 'recorded' | 'already-done' | 'not-a-photo';
  code?: string;
  attempts?: number;
}

/**
 * Attempts on the source queue. SQS moves a message after maxReceiveCount receives and keeps its
 * count, which this queue's own receive then raises by one.
 */
function attemptsOf(message: SqsRecord, maxReceives?: number): number {
  const received = Number(message.attributes?.ApproximateReceiveCount);
  if (maxReceives) return maxReceives;
  return Number.isFinite(received) && received > 1 ? received - 1 : 1;
}

async function recordOne(config: FailureRecorderConfig, message: SqsRecord, record: S3EventRecord): Promise<DeadLetterOutcome> {
  const key = decodeEventKey(record.s3.object.key);
  if (record.eventName?.startsWith('ObjectRemoved:')) return { key, status: 'not-a-photo' };
  // Done meanwhile (uploaded again and resized): a failure record now would be a lie.
  if (await objectExists(config, recordKey(key))) return { key, status: 'already-done' };
  const attempts = attemptsOf(message, config.maxReceives);
  const note = await readAttemptNote(config, key);
  // Only the note of this message's last attempt says why it ended.
  const said = note && note.messageId === message.messageId && note.attempt >= attempts ? note : undefined;
  const code = said?.code ?? 'crashed';
  const reason = said
    ? `${said.reason} (after ${attempts} attempts)`
    : `the resize ended without an answer on each of ${attempts} attempts: out of memory, a crash, or stopped at the function's timeout before it could say so`;
  await writeFailureRecord(config, key, code, reason, attempts);
  return { key, status: 'recorded', code, attempts };
}

export function createFailureRecorder(config: FailureRecorderConfig) {
  const log = config.log ?? ((line: Record<string, unknown>) => console.log(JSON.stringify(line)));
  return async function recordFailures(event: { Records?: SqsRecord[] }): Promise<{ outcomes: DeadLetterOutcome[]; batchItemFailures: { itemIdentifier: string }[] }> {
    const outcomes: DeadLetterOutcome[] = [];
    const batchItemFailures: { itemIdentifier: string }[] = [];
    for (const message of event.Records ?? []) {
      let records: S3EventRecord[];
      try {
        records = ((JSON.parse(message.body) as { Records?: S3EventRecord[] }).Records ?? []).filter((r) => r?.s3?.object?.key);
      } catch {
        // Not an S3 event (nothing of ours sends one): no photo to answer for; keeping it would only loop.
        log({ level: 'error', msg: 'unreadable dead letter dropped', messageId: message.messageId });
        continue;
      }
      try {
        for (const r of records) {
          const o = await recordOne(config, message, r);
          outcomes.push(o);
          const msg = { recorded: 'failure recorded', 'already-done': 'already done', 'not-a-photo': 'removal given up: its outputs may remain' }[o.status];
          log({ level: o.status === 'already-done' ? 'info' : 'error', msg, ...o });
        }
      } catch (err) {
        // S3 failed us: the message comes back after the visibility timeout and is tried again.
        log({ level: 'error', msg: 'failure record not written', messageId: message.messageId, error: (err as Error).message });
        batchItemFailures.push({ itemIdentifier: message.messageId });
      }
    }
    return { outcomes, batchItemFailures };
  };
}

function failureRecorderConfigFromEnv(env: NodeJS.ProcessEnv = process.env, s3: S3Client = createS3Client()): FailureRecorderConfig {
  const destBucket = env.DEST_BUCKET;
  if (!destBucket) throw new Error('DEST_BUCKET is not set');
  const spec = env.IMGPIPE_SPEC ? parseSpec(JSON.parse(env.IMGPIPE_SPEC), 'IMGPIPE_SPEC') : DEFAULT_SPEC;
  const maxReceives = Number(env.MAX_RECEIVE_COUNT) || undefined;
  return { s3, destBucket, spec, maxReceives };
}

let deployed: ReturnType<typeof createFailureRecorder> | undefined;

export async function handler(event: { Records?: SqsRecord[] }) {
  deployed ??= createFailureRecorder(failureRecorderConfigFromEnv());
  return deployed(event);
}
