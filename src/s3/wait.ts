// Wait until every source image has its record (done, or failed for good) in the destination
// bucket: one object per image. ListObjectsV2 pages that start at the pending keys find a batch
// (a round costs what is pending, not what the bucket holds), GET for a few stragglers; each
// record found is read once. Backoff between rounds.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { getRecord } from './get-record.js';
import pLimit from 'p-limit';
import { FAILURE_PREFIX, failureKey, RECORD_PREFIX, recordKey } from '../core/keys.js';
import type { ImageRecord } from '../core/record.js';
import { LocalKeysError } from '../core/local-keys.js';
import { explainCredentials, isCredentialsFailure } from './credentials.js';
import { pause } from './retry.js';
import { nextQuiet, pauseMs } from './wait-schedule.js';

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
  /** Source key → a time (ms): a failure record written before it is an earlier try's, queued again since; wait for the next. */
  staleBefore?: Map<string, number>;
  /** Only a done record made with this spec counts (reprocess): another spec's is the old version. Implies readDone. */
  specHash?: string;
  /** Called once per image, as soon as its record is known. */
  onRecord?: (record: ImageRecord | DoneMark) => void;
  /** After each round, with the images still without a record (a look at the queue's backlog, say). */
  onRound?: (pending: string[]) => Promise<void>;
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

interface Poller {
  s3: S3Client;
  bucket: string;
  signal?: AbortSignal;
  requests: number;
  readDone: boolean;
}

/** S3 lists keys in UTF-8 byte order; JavaScript sorts strings by UTF-16 code units. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Which of `wanted` exist under `prefix`. Each page starts at the first wanted key not yet
 * settled (StartAfter just below it) and settles every wanted key up to the page's last, so a
 * round costs at most one page per wanted key however many other records the bucket holds, and
 * one page per thousand when the wanted keys are dense (a fresh batch): min(wanted, records/1000).
 */
async function listKeys(p: Poller, prefix: string, wanted: string[]): Promise<Set<string>> {
  const sorted = [...wanted].sort(byteOrder);
  const present = new Set<string>();
  const want = new Set(sorted);
  let i = 0;
  let after = '';
  while (i < sorted.length) {
    const jump = sorted[i].slice(0, -1); // just below sorted[i] (it ends in '.json')
    if (byteOrder(jump, after) > 0) after = jump;
    p.requests++;
    const page = await p.s3.send(new ListObjectsV2Command({ Bucket: p.bucket, Prefix: prefix, StartAfter: after }), { abortSignal: p.signal });
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
    for (const k of keys) if (want.has(k)) present.add(k);
    const last = keys[keys.length - 1];
    if (!page.IsTruncated || last === undefined) break;
    after = last; // the next page starts past this one, whatever lies between
    while (i < sorted.length && byteOrder(sorted[i], last) <= 0) i++;
  }
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
    const done = await listKeys(p, RECORD_PREFIX, pending.map(recordKey));
    const undone = pending.filter((s) => !done.has(recordKey(s)));
    const failed = undone.length ? await listKeys(p, FAILURE_PREFIX, undone.map(failureKey)) : new Set<string>();
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
  const p: Poller = { s3: opts.s3, bucket: opts.bucket, signal: opts.signal, requests: 0, readDone: (opts.readDone ?? true) || !!opts.specHash };
  const records = new Map<string, ImageRecord | DoneMark>();
  let pending = [...new Set(opts.sourceKeys)];
  for (let quiet = -1; pending.length; ) {
    const before = records.size;
    try {
      for (const [source, record] of await poll(p, pending)) {
        if (record.status === 'failed' && Date.parse(record.failedAt) < (opts.staleBefore?.get(source) ?? 0)) continue;
        if (record.status === 'done' && opts.specHash && 'specHash' in record && record.specHash !== opts.specHash) continue;
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
    await opts.onRound?.(pending).catch(() => undefined); // a look, never a reason to stop waiting
    quiet = nextQuiet(quiet, records.size > before, pending.length);
    const wait = pauseMs(quiet);
    if (Date.now() + wait > deadline) break;
    await pause(wait, opts.signal);
  }
  const ordered = [...new Set(opts.sourceKeys)].filter((s) => records.has(s)).map((s) => records.get(s)!);
  return { records: ordered, missing: pending, timedOut: pending.length > 0, requests: p.requests };
}
