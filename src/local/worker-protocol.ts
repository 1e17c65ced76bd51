// The messages between the local stack's resize pool (worker-pool.ts) and an instance
// (resize-worker.ts): plain data over the child's IPC channel.
import type { RecordOutcome, ResizeEvent } from '../../lambda/resize.js';
import type { Spec } from '../core/spec.js';

/** What an instance needs to build the resize handler, as the function's environment gives it on AWS. */
export interface InstanceConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  destBucket: string;
  spec: Spec;
  cacheControl: string;
}

/** `deadlineAt`: when the pool stops this invocation (epoch ms), which the handler sees through its context as on Lambda. */
export type ToWorker = { type: 'init'; config: InstanceConfig } | { type: 'invoke'; requestId: string; event: ResizeEvent; deadlineAt: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'log'; line: Record<string, unknown> }
  | { type: 'answer'; requestId: string; outcomes: RecordOutcome[]; batchItemFailures: { itemIdentifier: string }[] }
  | { type: 'threw'; requestId: string; message: string };
