// reprocess: bring photos already in the source bucket to the pipeline's spec. The API decides
// per key (lambda/reprocess.ts) and queues on the resize's own queue; this job only hands it the
// keys, a batch per request and a few requests at once, so queueing 100,000 photos is not one
// request at a time, and lists the source bucket for --all. The job prints nothing: it emits
// ReprocessEvents (rendered by src/ui/reprocess-view.ts) and returns a ReprocessResult.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { MAX_FILES_PER_REQUEST, type ReprocessAnswer, type ReprocessWhy } from '../api/contract.js';
import { requestReprocess } from '../api/client.js';

export interface ReprocessOptions {
  keys: string[];
  api: string;
  apiKey?: string;
  dryRun: boolean;
  timeoutMs?: number;
  onEvent?: (e: ReprocessEvent) => void;
  signal: AbortSignal;
}

/** What reprocess says while it runs, as the upload's events do (src/jobs/upload/events.ts). */
export type ReprocessEvent =
  /** The keys are known: `keys` of them (the same key once), to queue or, `dryRun`, to check. */
  | { type: 'reprocess-start'; keys: number; dryRun: boolean }
  /** The API's word on one key (api/contract.ts): queued (would-queue), current, missing or refused. */
  | { type: 'answer'; answer: ReprocessAnswer; dryRun: boolean };

export interface ReprocessResult {
  ok: boolean;
  dryRun: boolean;
  keys: number;
  /** Queued (or, with dryRun, to be queued), with why. */
  queued: Array<{ key: string; why: ReprocessWhy }>;
  /** Made with the spec the API serves already: nothing to do. */
  current: number;
  missing: string[];
  refused: Array<{ key: string; error: string }>;
  /** When the first batch was asked: a failure record older than this is an earlier try's. */
  startedAt: number;
  seconds: number;
}

/** Every key under `prefix/` in `bucket`, a page (1,000) per request. */
export async function listSourceKeys(s3: S3Client, bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }), { abortSignal: signal });
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

export async function runReprocess(o: ReprocessOptions): Promise<ReprocessResult> {
  const startedAt = Date.now();
  const keys = [...new Set(o.keys)];
  const result: ReprocessResult = { ok: true, dryRun: o.dryRun, keys: keys.length, queued: [], current: 0, missing: [], refused: [], startedAt, seconds: 0 };
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += MAX_FILES_PER_REQUEST) batches.push(keys.slice(i, i + MAX_FILES_PER_REQUEST));
  const limit = pLimit(4); // the API's lookups run 16 at once per request already
  const onEvent = o.onEvent ?? (() => {});
  onEvent({ type: 'reprocess-start', keys: keys.length, dryRun: o.dryRun });
  const take = (a: ReprocessAnswer) => {
    if (a.status === 'queued' || a.status === 'would-queue') result.queued.push({ key: a.key, why: a.why });
    else if (a.status === 'current') result.current++;
    else if (a.status === 'missing') result.missing.push(a.key);
    else if (a.status === 'refused') result.refused.push({ key: a.key, error: a.error.message });
    onEvent({ type: 'answer', answer: a, dryRun: o.dryRun });
  };
  await Promise.all(
    batches.map((batch) =>
      limit(async () => {
        if (o.signal.aborted) return;
        const answers = await requestReprocess(batch, o.dryRun, { api: o.api, apiKey: o.apiKey, signal: o.signal, timeoutMs: o.timeoutMs });
        answers.forEach(take);
      }),
    ),
  );
  result.ok = !result.missing.length && !result.refused.length;
  result.seconds = (Date.now() - startedAt) / 1000;
  return result;
}
