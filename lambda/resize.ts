// S3 ObjectCreated (on AWS through the SQS queue, one message per invocation) → resize with the
// shared core → every variant into the destination bucket, under the keys core's key naming
// gives, then one record per image (done, or failed for good) at the key `imgpipe watch` waits
// for. S3 ObjectRemoved → that photo's variants and records go (remove.ts). Either event may come
// late or twice: each ends with the destination agreeing with what the source holds then. With Lambda's context it stops before the function's deadline so that it can still answer;
// a message it answers "retry" leaves a note of why for the dead-letter queue's failure recorder.
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { failureKey, outputKey, recordKey, VARIANT_CACHE_CONTROL } from '../src/core/keys.js';
import { doneRecord } from '../src/core/record.js';
import { collect, ImageError, resizeImage, type RenderedOutput } from '../src/core/resize.js';
import { DEFAULT_SPEC, parseSpec, type Spec } from '../src/core/spec.js';
import { createS3Client } from '../src/s3/client.js';
import { decodeSourcePath } from '../src/core/source-path.js';
import { keepsContentPromise } from '../src/core/upload-key.js';
import { httpStatus } from '../src/s3/get-record.js';
import { Deadline, DeadlineReached, type LambdaContext } from './deadline.js';
import { putJson, writeAttemptNote, writeFailureRecord } from './records.js';
import { isMissing, removeOutputs, sourceNow } from './remove.js';
import { decodeEventKey, type S3EventRecord, type SqsRecord } from '../src/core/s3-event.js';

export interface ResizeEvent {
  Records?: (S3EventRecord | SqsRecord)[];
}

export interface ResizeConfig {
  s3: S3Client;
  destBucket: string;
  spec: Spec;
  cacheControl: string;
  log?: (line: Record<string, unknown>) => void;
}

export interface RecordOutcome {
  bucket: string;
  key: string;
  /**
   * `refused`: the event is from the destination bucket (the recursion guard): never processed.
   * `superseded`: the object was overwritten or deleted after this event (or, for a removal, stored
   * again): the newer event settles it. `removed`: a deleted source's variants and records are gone.
   */
  status: 'ok' | 'failed' | 'refused' | 'superseded' | 'removed';
  retry: boolean;
  outputs?: { variant: string; key: string; width: number; height: number; bytes: number }[];
  error?: string;
  /** Why it failed for good (ImageError codes); a failure record says the same. */
  code?: string;
}


const defaultLog = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

function isTransient(err: unknown): boolean {
  if (err instanceof ImageError) return false;
  const name = (err as { name?: string }).name;
  if (name === 'AccessDenied' || httpStatus(err) === 403) return false;
  return true; // 5xx, throttling, network: worth another attempt
}

/** Put each rendered variant under its output key; sequential, in the spec's order. */
async function putVariants(config: ResizeConfig, key: string, outputs: RenderedOutput[]): Promise<NonNullable<RecordOutcome['outputs']>> {
  const written = [];
  for (const out of outputs) {
    const variant = config.spec.variants.find((v) => v.name === out.variant)!;
    const destKey = outputKey(key, variant, config.spec);
    await config.s3.send(
      new PutObjectCommand({
        Bucket: config.destBucket,
        Key: destKey,
        Body: out.data,
        ContentType: out.contentType,
        CacheControl: config.cacheControl,
        ChecksumSHA256: createHash('sha256').update(out.data).digest('base64'),
      }),
    );
    written.push({ variant: out.variant, key: destKey, width: out.width, height: out.height, bytes: out.bytes });
  }
  return written;
}

function failureCode(err: unknown): string {
  if (err instanceof ImageError) return err.code;
  return httpStatus(err) === 403 ? 'denied' : 'failed';
}

type Log = (line: Record<string, unknown>) => void;

/** What one attempt knows besides the record: the invocation's clock and which attempt this is. */
interface Attempt {
  deadline: Deadline;
  /** The queue's receive count (1 for a direct S3 invocation). */
  number: number;
}

/**
 * Cut off by the deadline. After a fair run (half the invocation's time or more) a `timeout`
 * failure record now, and no retry: the same bytes with the same spec at the same memory take the
 * same time again, so two more attempts would only cost two more timeouts and keep the user
 * waiting two more visibility timeouts (6 min each) for the same answer, which is theirs to act on
 * (ResizeMemory, or a cheaper spec). Without a fair run (the photo came late in a batch), a retry:
 * a fresh invocation gives it the whole time.
 */
async function timedOut(config: ResizeConfig, log: Log, bucket: string, key: string, err: DeadlineReached, attempt: Attempt, started: number): Promise<RecordOutcome> {
  const fair = attempt.deadline.wasFair(err.budgetMs);
  const error = fair ? `the resize did not finish in the function's time: ${err.message}` : `${err.message} before this photo had a fair share of it; retried`;
  let retry = !fair;
  if (fair) {
    try {
      await writeFailureRecord(config, key, 'timeout', error, attempt.number);
    } catch (recordErr) {
      retry = true;
      log({ level: 'error', msg: 'failure record not written', bucket, key, error: (recordErr as Error).message });
    }
  }
  log({ level: 'error', msg: 'resize stopped at the deadline', bucket, key, error, code: 'timeout', retry, ms: Date.now() - started });
  return { bucket, key, status: 'failed', retry, error, code: 'timeout' };
}

/** Transient: report it for a retry, write nothing. Permanent: write the failure record (retried if that write fails). */
async function failed(config: ResizeConfig, log: Log, bucket: string, key: string, err: unknown, attempt: Attempt, started: number): Promise<RecordOutcome> {
  if (err instanceof DeadlineReached) return timedOut(config, log, bucket, key, err, attempt, started);
  let retry = isTransient(err);
  const e = err as Error;
  const code = failureCode(err);
  const error = e.message;
  if (!retry) {
    try {
      await writeFailureRecord(config, key, code, error);
    } catch (recordErr) {
      retry = true;
      log({ level: 'error', msg: 'failure record not written', bucket, key, error: (recordErr as Error).message });
    }
  }
  const detail = (err as { detail?: string }).detail; // the decoder's own words: in the log, not the record
  log({ level: 'error', msg: 'resize failed', bucket, key, error, ...(detail ? { detail } : {}), code, retry, ms: Date.now() - started });
  return { bucket, key, status: 'failed', retry, error, code };
}

/** Whether the source still holds the bytes of `eTag` (a HEAD with If-Match answers 412 if not), or nothing at all. */
async function sourceState(config: ResizeConfig, bucket: string, key: string, eTag: string | undefined): Promise<'same' | 'overwritten' | 'gone'> {
  try {
    await config.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(eTag ? { IfMatch: `"${eTag.replace(/"/g, '')}"` } : {}) }));
    return 'same';
  } catch (err) {
    if (httpStatus(err) === 412) return 'overwritten';
    if (isMissing(err)) return 'gone';
    throw err;
  }
}

/** Read the announced bytes and resize them; null when the object was overwritten since the event. */
async function fetchAndResize(config: ResizeConfig, log: Log, bucket: string, key: string, eTag: string | undefined) {
  let object;
  try {
    object = await config.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(eTag ? { IfMatch: `"${eTag.replace(/"/g, '')}"` } : {}) }));
  } catch (err) {
    if (eTag && httpStatus(err) === 412) {
      log({ level: 'info', msg: 'superseded', bucket, key, eTag });
      return null;
    }
    throw err;
  }
  const input = await collect(object.Body as Readable);
  // The key promises these bytes' SHA-256; a multipart upload's checksum is of its parts, not the
  // whole, and anything may have written the bucket: checked here, before any variant is made.
  const sha256 = createHash('sha256').update(input).digest('base64');
  if (!keepsContentPromise(key, sha256)) {
    throw new ImageError(`the stored bytes are not the ones uploaded: their SHA-256 is ${sha256}, not the one the key names; upload the file again`, 'checksum');
  }
  return { input, sha256, path: decodeSourcePath(object.Metadata), ...(await resizeImage(input, config.spec)) };
}

async function processRecord(config: ResizeConfig, log: Log, record: S3EventRecord, attempt: Attempt): Promise<RecordOutcome> {
  const bucket = record.s3.bucket.name;
  const key = decodeEventKey(record.s3.object.key);
  const started = Date.now();
  if (bucket === config.destBucket) {
    // Writing variants into the bucket that triggers us would trigger us again, forever.
    const error = `refusing to process "${bucket}": it is the destination bucket (recursive trigger)`;
    log({ level: 'error', msg: 'recursion guard', bucket, key, error });
    return { bucket, key, status: 'refused', retry: false, error };
  }
  const budget = attempt.deadline.budget();
  if (budget < attempt.deadline.minWorkMs) {
    // Not started: a fresh invocation has the whole time for it.
    const error = `not started: ${Math.max(0, Math.round(budget + attempt.deadline.reserveMs))} ms of the function's time left`;
    log({ level: 'info', msg: 'deferred', bucket, key, error });
    return { bucket, key, status: 'failed', retry: true, error, code: 'timeout' };
  }
  if (record.eventName?.startsWith('ObjectRemoved:')) return removed(config, log, bucket, key, attempt, started);
  return created(config, log, bucket, key, record.s3.object.eTag, attempt, started, 0);
}

/** The object is gone: no failure record (nothing failed); its removal event takes the rest away. */
function gone(log: Log, bucket: string, key: string): RecordOutcome {
  log({ level: 'info', msg: 'superseded', bucket, key, reason: 'the object was deleted after this event' });
  return { bucket, key, status: 'superseded', retry: false };
}

async function created(config: ResizeConfig, log: Log, bucket: string, key: string, eTag: string | undefined, attempt: Attempt, started: number, depth: number): Promise<RecordOutcome> {
  try {
    // Only the bytes this event announced: an object overwritten since has an event of its own,
    // and resizing the newer bytes here (or the older ones there) would let whichever finishes
    // last win, leaving one photo's variants under the other's key.
    // The GET and the resize are what can overrun; the writes after them fit in the reserve.
    const resized = await attempt.deadline.race(fetchAndResize(config, log, bucket, key, eTag), attempt.deadline.budget());
    if (!resized) return { bucket, key, status: 'superseded', retry: false };
    const { input, sha256, path, source, outputs, exif } = resized;
    // Overwritten while we resized (its newer event may already have written its variants):
    // writing ours now would put the older photo last. Deleted: nothing to write.
    const before = await sourceState(config, bucket, key, eTag);
    if (before === 'gone') return gone(log, bucket, key);
    if (before === 'overwritten') {
      log({ level: 'info', msg: 'superseded', bucket, key, eTag });
      return { bucket, key, status: 'superseded', retry: false };
    }
    const written = await putVariants(config, key, outputs);
    // After the last variant: the record's presence means "all variants are there".
    await putJson(config, recordKey(key), await doneRecord({ key, path, sha256, bytes: input.length, source, outputs, exif, spec: config.spec }));
    await config.s3.send(new DeleteObjectCommand({ Bucket: config.destBucket, Key: failureKey(key) })); // a re-upload that now works is done
    // Deleted while we wrote: its removal may have run before our writes landed; take them back.
    if ((await sourceState(config, bucket, key, undefined)) === 'gone') {
      log({ level: 'info', msg: 'deleted while resized: taking the outputs back', bucket, key });
      return settle(config, log, bucket, key, attempt, started, depth);
    }
    log({ level: 'info', msg: 'resized', bucket, key, outputs: written, ms: Date.now() - started });
    return { bucket, key, status: 'ok', retry: false, outputs: written };
  } catch (err) {
    // Deleted before we read it: superseded by the delete, not a failure of this photo.
    if (isMissing(err)) return gone(log, bucket, key);
    return failed(config, log, bucket, key, err, attempt, started);
  }
}

/**
 * An ObjectRemoved event. The key holding an object again means it was stored after the delete
 * (an unversioned bucket keeps nothing older): that object's own event resizes it, and its
 * variants stay. A removal never writes a failure record; if S3 fails us it is retried.
 */
async function removed(config: ResizeConfig, log: Log, bucket: string, key: string, attempt: Attempt, started: number): Promise<RecordOutcome> {
  try {
    if (await sourceNow(config.s3, bucket, key)) {
      log({ level: 'info', msg: 'superseded', bucket, key, reason: 'stored again after this removal' });
      return { bucket, key, status: 'superseded', retry: false };
    }
    return await settle(config, log, bucket, key, attempt, started, 0);
  } catch (err) {
    const error = (err as Error).message;
    log({ level: 'error', msg: 'removal failed', bucket, key, error, retry: true });
    return { bucket, key, status: 'failed', retry: true, error, code: 'removal' };
  }
}

/**
 * Take the photo's outputs away, then look again: stored anew meanwhile, its own resize may have
 * finished before we deleted, so resize what is there now (once; past that, a retry settles it).
 */
async function settle(config: ResizeConfig, log: Log, bucket: string, key: string, attempt: Attempt, started: number, depth: number): Promise<RecordOutcome> {
  const keys = await removeOutputs(config, key);
  const now = await sourceNow(config.s3, bucket, key);
  if (!now) {
    log({ level: 'info', msg: 'removed', bucket, key, keys, ms: Date.now() - started });
    return { bucket, key, status: 'removed', retry: false };
  }
  if (depth > 0) return { bucket, key, status: 'failed', retry: true, error: 'stored and deleted again while being settled; retried', code: 'removal' };
  log({ level: 'info', msg: 'stored again while its outputs were removed: resizing it', bucket, key });
  return created(config, log, bucket, key, now.eTag, attempt, started, depth + 1);
}

/** A message answered "retry": leave its reason where the failure recorder looks, should this have been the last attempt. */
async function noteRetry(config: ResizeConfig, log: Log, messageId: string, attempt: number, retried: RecordOutcome[]): Promise<void> {
  for (const o of retried) {
    const note = { messageId, attempt, code: o.code === 'timeout' ? ('timeout' as const) : ('gave-up' as const), reason: o.error ?? 'retried' };
    await writeAttemptNote(config, o.key, note).catch((err) => log({ level: 'error', msg: 'attempt note not written', key: o.key, error: (err as Error).message }));
  }
}

/**
 * The resize function for one configuration: S3 events (direct, or through the SQS queue) in,
 * the variants and a record per photo written to `destBucket`. examples/api/lambdas.mjs runs it
 * on a local S3 server (test/api-examples.test.ts runs that file).
 *
 * @example
 * const resize = createResizeHandler({ s3, destBucket: 'photos-resized', spec: DEFAULT_SPEC, cacheControl: VARIANT_CACHE_CONTROL });
 * const { outcomes } = await resize({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'photos' }, object: { key, size } } }] });
 * // outcomes[0]: { status: 'ok', outputs: [{ variant: '320', width: 320, height: 200, key: '320/<version>/<key>', … }, …] }
 */
export function createResizeHandler(config: ResizeConfig) {
  const log = config.log ?? defaultLog;

  return async function resize(event: ResizeEvent, context?: LambdaContext): Promise<{ outcomes: RecordOutcome[]; batchItemFailures: { itemIdentifier: string }[] }> {
    const deadline = new Deadline(context);
    const outcomes: RecordOutcome[] = [];
    const batchItemFailures: { itemIdentifier: string }[] = [];
    let directRetry = false;
    // One record at a time: each already uses every core through libvips and the thread pool.
    for (const record of event.Records ?? []) {
      if (record.eventSource === 'aws:sqs') {
        // S3 → SQS → Lambda: report only the failed messages so only they are retried.
        const sqs = record as SqsRecord;
        const attempt = { deadline, number: Number(sqs.attributes?.ApproximateReceiveCount) || 1 };
        let inner: S3EventRecord[] = [];
        try {
          inner = (JSON.parse(sqs.body) as ResizeEvent).Records as S3EventRecord[] ?? [];
        } catch {
          log({ level: 'error', msg: 'unreadable SQS message', messageId: sqs.messageId });
        }
        const mine: RecordOutcome[] = [];
        for (const r of inner) mine.push(await processRecord(config, log, r, attempt));
        outcomes.push(...mine);
        const retried = mine.filter((o) => o.retry);
        if (retried.length) {
          await noteRetry(config, log, sqs.messageId, attempt.number, retried);
          batchItemFailures.push({ itemIdentifier: sqs.messageId });
        }
      } else {
        const o = await processRecord(config, log, record as S3EventRecord, { deadline, number: 1 });
        outcomes.push(o);
        directRetry ||= o.retry;
      }
    }
    if (directRetry) {
      // A direct S3 invocation has no partial-failure report: throwing makes Lambda retry the
      // event. Records already done are rewritten identically (the outputs are deterministic).
      const failed = outcomes.filter((o) => o.retry).map((o) => o.key);
      throw new Error(`transient failure on ${failed.length} record(s): ${failed.join(', ')}`);
    }
    return { outcomes, batchItemFailures };
  };
}

function resizeConfigFromEnv(env: NodeJS.ProcessEnv = process.env, s3: S3Client = createS3Client()): ResizeConfig {
  const destBucket = env.DEST_BUCKET;
  if (!destBucket) throw new Error('DEST_BUCKET is not set');
  if (env.SOURCE_BUCKET && env.SOURCE_BUCKET === destBucket) throw new Error('DEST_BUCKET must differ from SOURCE_BUCKET (recursive trigger)');
  const spec = env.IMGPIPE_SPEC ? parseSpec(JSON.parse(env.IMGPIPE_SPEC), 'IMGPIPE_SPEC') : DEFAULT_SPEC;
  return { s3, destBucket, spec, cacheControl: env.CACHE_CONTROL || VARIANT_CACHE_CONTROL };
}

let deployed: ReturnType<typeof createResizeHandler> | undefined;

export async function handler(event: ResizeEvent, context?: LambdaContext) {
  deployed ??= createResizeHandler(resizeConfigFromEnv());
  return deployed(event, context);
}
