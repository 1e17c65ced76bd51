// The failure record on its own, without sharp: the failure recorder's zip (the dead-letter
// queue's consumer) writes it and must not carry sharp's native binaries to do so.
import { specHash, type Spec } from './spec.js';

export const RECORD_VERSION = 1;

export interface FailedRecord {
  version: number;
  status: 'failed';
  source: { key: string };
  specHash: string;
  /**
   * Stable: corrupt, unsupported, too-large, empty, decoder-unavailable, deleted, malformed-record,
   * checksum (the image itself; checksum: its bytes are not the ones its content key names); timeout, crashed, gave-up (the pipeline could not finish it in time, the
   * function died, or transient errors outlasted the retries).
   */
  code: string;
  reason: string;
  /** How many times the pipeline tried, when it tried more than once or counted (the queue's receives). */
  attempts?: number;
  failedAt: string;
}

/**
 * Failures of the pipeline or of this installation, not of the photo: uploading the same bytes
 * again queues them for another try (lambda/heal.ts). `deleted` too: the bytes are there again.
 */
export const HEALABLE_CODES: ReadonlySet<string> = new Set(['timeout', 'crashed', 'gave-up', 'decoder-unavailable', 'malformed-record', 'deleted']);

export function failedRecord(key: string, code: string, reason: string, spec: Spec, attempts?: number): FailedRecord {
  return { version: RECORD_VERSION, status: 'failed', source: { key }, specHash: specHash(spec), code, reason, ...(attempts !== undefined ? { attempts } : {}), failedAt: new Date().toISOString() };
}

/** Why an attempt answered "retry" (src/core/keys.ts attemptKey), so the failure recorder can say so after the last one. */
export interface AttemptNote {
  /** The SQS message it is about: a note from an earlier message of the same photo does not count. */
  messageId: string;
  /** The message's receive count on that attempt. */
  attempt: number;
  code: 'timeout' | 'gave-up';
  reason: string;
  at: string;
}
