// reprocess: bring photos already in the source bucket to the pipeline's spec. The API decides
// per key (lambda/reprocess.ts) and queues on the resize's own queue; this job only hands it the
// keys, a batch per request and a few requests at once, so queueing 100,000 photos is not one
// request at a time, and lists the source bucket for --all.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { MAX_FILES_PER_REQUEST, type ReprocessAnswer, type ReprocessWhy } from '../api/contract.js';
import { requestReprocess } from '../api/client.js';
import type { Reporter } from '../ui/reporter.js';

export interface ReprocessOptions {
  keys: string[];
  api: string;
  apiKey?: string;
  dryRun: boolean;
  timeoutMs?: number;
  reporter: Reporter;
  signal: AbortSignal;
}

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
  o.reporter.start(keys.length, o.dryRun ? 'checking' : 'queueing');
  const take = (a: ReprocessAnswer) => {
    if (a.status === 'queued' || a.status === 'would-queue') {
      result.queued.push({ key: a.key, why: a.why });
      o.reporter.step(`${o.dryRun ? '(dryrun) queue' : 'queued'} ${a.key} (${WHY[a.why]})`, a.key);
    } else if (a.status === 'current') {
      result.current++;
      o.reporter.step('', a.key);
    } else if (a.status === 'missing') {
      result.missing.push(a.key);
      o.reporter.error(`error ${a.key}: not in the source bucket`);
      o.reporter.step('', a.key);
    } else if (a.status === 'refused') {
      result.refused.push({ key: a.key, error: a.error.message });
      o.reporter.error(`error ${a.key}: refused by the API: ${a.error.message}`);
      o.reporter.step('', a.key);
    }
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
  o.reporter.stop();
  result.ok = !result.missing.length && !result.refused.length;
  result.seconds = (Date.now() - startedAt) / 1000;
  const what = o.dryRun ? 'would queue' : 'queued';
  o.reporter.summary(
    `${what} ${result.queued.length} of ${keys.length} photos for resize (${countWhy(result.queued)}); ${result.current} already this spec's` +
      (result.missing.length ? `; ${result.missing.length} not in the source bucket` : '') +
      (result.refused.length ? `; ${result.refused.length} refused` : ''),
  );
  return result;
}

const WHY: Record<ReprocessWhy, string> = { spec: 'made with another spec', failed: 'failed before', none: 'no record' };

function countWhy(queued: ReprocessResult['queued']): string {
  const n = (w: ReprocessWhy) => queued.filter((q) => q.why === w).length;
  return (Object.keys(WHY) as ReprocessWhy[]).map((w) => `${n(w)} ${WHY[w]}`).join(', ');
}
