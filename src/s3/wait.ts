// Wait until every expected object exists: ListObjectsV2 under the keys' common prefix for
// batches, HeadObject for a few stragglers, with backoff between rounds.
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { pause } from './retry.js';

export interface ExpectedObject {
  sourceKey: string;
  variant: string;
  key: string;
}

export interface WaitOptions {
  s3: S3Client;
  bucket: string;
  expected: ExpectedObject[];
  timeoutMs: number;
  signal?: AbortSignal;
  onFound?: (obj: ExpectedObject) => void;
  /** Known failure of a source (e.g. the local stack's resize failed): stop waiting for it. */
  failedSource?: (sourceKey: string) => string | undefined;
}

export interface WaitResult {
  found: ExpectedObject[];
  missing: ExpectedObject[];
  failed: { sourceKey: string; error: string }[];
  timedOut: boolean;
}

function commonPrefix(keys: string[]): string {
  let prefix = keys[0] ?? '';
  for (const k of keys) while (!k.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

async function listPresent(s3: S3Client, bucket: string, prefix: string, wanted: Set<string>, signal?: AbortSignal): Promise<Set<string>> {
  const present = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
    for (const o of page.Contents ?? []) if (o.Key && wanted.has(o.Key)) present.add(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && present.size < wanted.size);
  return present;
}

async function headPresent(s3: S3Client, bucket: string, keys: string[], signal?: AbortSignal): Promise<Set<string>> {
  const limit = pLimit(16);
  const present = new Set<string>();
  await Promise.all(
    keys.map((key) =>
      limit(async () => {
        try {
          await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
          present.add(key);
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== 404 && status !== 403) throw err;
        }
      }),
    ),
  );
  return present;
}

export async function waitForObjects(opts: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let missing = [...opts.expected];
  const found: ExpectedObject[] = [];
  const failed = new Map<string, string>();
  for (let round = 0; ; round++) {
    const byVariant = new Map<string, ExpectedObject[]>();
    for (const o of missing) byVariant.set(o.variant, [...(byVariant.get(o.variant) ?? []), o]);
    const present = new Set<string>();
    try {
      for (const group of byVariant.values()) {
        const keys = group.map((o) => o.key);
        const hits = keys.length <= 8
          ? await headPresent(opts.s3, opts.bucket, keys, opts.signal)
          : await listPresent(opts.s3, opts.bucket, commonPrefix(keys), new Set(keys), opts.signal);
        for (const k of hits) present.add(k);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      // A failed poll is not a verdict: try again next round, until the deadline.
    }
    const still: ExpectedObject[] = [];
    for (const o of missing) {
      if (present.has(o.key)) {
        found.push(o);
        opts.onFound?.(o);
        continue;
      }
      const error = opts.failedSource?.(o.sourceKey);
      if (error) failed.set(o.sourceKey, error);
      else still.push(o);
    }
    missing = still;
    if (missing.length === 0) break;
    const wait = Math.min(2_000, 100 * 1.5 ** round);
    if (Date.now() + wait > deadline) {
      return { found, missing, failed: [...failed].map(([sourceKey, error]) => ({ sourceKey, error })), timedOut: true };
    }
    await pause(wait, opts.signal);
  }
  const failedSources = new Set(failed.keys());
  return {
    found,
    missing: opts.expected.filter((o) => failedSources.has(o.sourceKey) && !found.includes(o)),
    failed: [...failed].map(([sourceKey, error]) => ({ sourceKey, error })),
    timedOut: false,
  };
}
