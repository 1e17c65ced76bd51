// Wait until every source image has its record (done, or failed for good) in the destination
// bucket: one object per image. ListObjectsV2 under the records' common prefix finds a batch,
// GET for a few stragglers; each record found is read once. Backoff between rounds.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getRecord } from './get-record.js';
import pLimit from 'p-limit';
import { FAILURE_PREFIX, failureKey, RECORD_PREFIX, recordKey } from '../core/keys.js';
import type { ImageRecord } from '../core/record.js';
import { LocalKeysError } from '../core/local-keys.js';
import { explainCredentials, isCredentialsFailure } from './credentials.js';
import { pause } from './retry.js';

export interface WaitOptions {
  s3: S3Client;
  bucket: string;
  sourceKeys: string[];
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Read done records too (default true). false: a listed done record counts without a GET, one
   * request per image saved; failure records are always read, for their reason.
   */
  readDone?: boolean;
  /** Called once per image, as soon as its record is known. */
  onRecord?: (record: ImageRecord | DoneMark) => void;
}

/** A done record seen in a listing but not read (readDone: false). */
export interface DoneMark {
  status: 'done';
  source: { key: string };
  variants?: undefined;
}

export interface WaitResult {
  /** In the order of `sourceKeys`, for the images that have one. */
  records: Array<ImageRecord | DoneMark>;
  missing: string[];
  timedOut: boolean;
  /** S3 requests made (list pages and GETs), for the curious and the benchmark. */
  requests: number;
}

function commonPrefix(keys: string[]): string {
  let prefix = keys[0] ?? '';
  for (const k of keys) while (!k.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

interface Poller {
  s3: S3Client;
  bucket: string;
  signal?: AbortSignal;
  requests: number;
  readDone: boolean;
}

async function listKeys(p: Poller, prefix: string, wanted: Set<string>): Promise<Set<string>> {
  const present = new Set<string>();
  let token: string | undefined;
  do {
    p.requests++;
    const page = await p.s3.send(new ListObjectsV2Command({ Bucket: p.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: p.signal });
    for (const o of page.Contents ?? []) if (o.Key && wanted.has(o.Key)) present.add(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token && present.size < wanted.size);
  return present;
}

/** The record at `key`, or undefined when there is none (yet); a malformed one is a failure. */
async function readRecord(p: Poller, source: string, key: string): Promise<ImageRecord | undefined> {
  p.requests++;
  return getRecord(p.s3, p.bucket, source, key === recordKey(source) ? 'done' : 'failed', p.signal);
}

/** One round: which of `pending` have a record now. A done record wins over a failed one. */
async function poll(p: Poller, pending: string[]): Promise<Map<string, ImageRecord | DoneMark>> {
  const limit = pLimit(16);
  const found = new Map<string, ImageRecord | DoneMark>();
  let candidates: Array<{ source: string; key: string }>;
  if (pending.length <= 8) {
    candidates = pending.flatMap((s) => [{ source: s, key: recordKey(s) }, { source: s, key: failureKey(s) }]);
  } else {
    const prefix = commonPrefix(pending);
    const done = await listKeys(p, RECORD_PREFIX + prefix, new Set(pending.map(recordKey)));
    const failed = await listKeys(p, FAILURE_PREFIX + prefix, new Set(pending.map(failureKey)));
    candidates = pending.flatMap((s) => (done.has(recordKey(s)) ? [{ source: s, key: recordKey(s) }] : failed.has(failureKey(s)) ? [{ source: s, key: failureKey(s) }] : []));
    if (!p.readDone) {
      for (const c of candidates) if (c.key === recordKey(c.source)) found.set(c.source, { status: 'done', source: { key: c.source } });
      candidates = candidates.filter((c) => !found.has(c.source));
    }
  }
  await Promise.all(
    candidates.map((c) =>
      limit(async () => {
        const record = await readRecord(p, c.source, c.key);
        if (record && (!found.has(c.source) || record.status === 'done')) found.set(c.source, record);
      }),
    ),
  );
  return found;
}

export async function waitForRecords(opts: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + opts.timeoutMs;
  const p: Poller = { s3: opts.s3, bucket: opts.bucket, signal: opts.signal, requests: 0, readDone: opts.readDone ?? true };
  const records = new Map<string, ImageRecord | DoneMark>();
  let pending = [...new Set(opts.sourceKeys)];
  for (let round = 0; pending.length; round++) {
    try {
      for (const [source, record] of await poll(p, pending)) {
        records.set(source, record);
        opts.onRecord?.(record);
      }
    } catch (err) {
      if (opts.signal?.aborted || err instanceof LocalKeysError) throw err; // no round will send them
      if (isCredentialsFailure(err)) throw explainCredentials(err, opts.bucket);
      // Any other failed poll is not a verdict: try again next round, until the deadline.
    }
    pending = pending.filter((s) => !records.has(s));
    if (!pending.length) break;
    const wait = Math.min(2_000, 100 * 1.5 ** round);
    if (Date.now() + wait > deadline) break;
    await pause(wait, opts.signal);
  }
  const ordered = [...new Set(opts.sourceKeys)].filter((s) => records.has(s)).map((s) => records.get(s)!);
  return { records: ordered, missing: pending, timedOut: pending.length > 0, requests: p.requests };
}
