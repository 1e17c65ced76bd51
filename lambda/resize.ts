// S3 ObjectCreated → resize with the shared core → every variant into the destination bucket,
// under the keys core's key naming gives (the keys `imgpipe watch` waits for).
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { outputKey } from '../src/core/keys.js';
import { collect, ImageError, resizeImage, type RenderedOutput } from '../src/core/resize.js';
import { DEFAULT_SPEC, parseSpec, type Spec } from '../src/core/spec.js';
import { createS3Client } from '../src/s3/client.js';

export interface S3EventRecord {
  eventSource?: string;
  eventName?: string;
  s3: { bucket: { name: string } & Record<string, unknown>; object: { key: string; size?: number; eTag?: string } & Record<string, unknown> } & Record<string, unknown>;
}
export interface SqsRecord {
  eventSource: 'aws:sqs';
  messageId: string;
  body: string;
}
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
  status: 'ok' | 'failed' | 'skipped';
  retry: boolean;
  outputs?: { variant: string; key: string; width: number; height: number; bytes: number }[];
  error?: string;
}

/** S3 URL-encodes keys in event records, with '+' for a space. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

const defaultLog = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

function isTransient(err: unknown): boolean {
  if (err instanceof ImageError) return false;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404) return false;
  if (e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) return false;
  return true; // 5xx, throttling, network: worth another attempt
}

/** Put each rendered variant under its output key; sequential, in the spec's order. */
async function putVariants(config: ResizeConfig, key: string, outputs: RenderedOutput[]): Promise<NonNullable<RecordOutcome['outputs']>> {
  const written = [];
  for (const out of outputs) {
    const variant = config.spec.variants.find((v) => v.name === out.variant)!;
    const destKey = outputKey(key, variant);
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

export function createResizeHandler(config: ResizeConfig) {
  const log = config.log ?? defaultLog;

  async function processRecord(record: S3EventRecord): Promise<RecordOutcome> {
    const bucket = record.s3.bucket.name;
    const key = decodeEventKey(record.s3.object.key);
    const started = Date.now();
    if (bucket === config.destBucket) {
      // Writing variants into the bucket that triggers us would trigger us again, forever.
      const error = `refusing to process "${bucket}": it is the destination bucket (recursive trigger)`;
      log({ level: 'error', msg: 'recursion guard', bucket, key, error });
      return { bucket, key, status: 'skipped', retry: false, error };
    }
    try {
      const object = await config.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const input = await collect(object.Body as Readable);
      const { outputs } = await resizeImage(input, config.spec);
      const written = await putVariants(config, key, outputs);
      log({ level: 'info', msg: 'resized', bucket, key, outputs: written, ms: Date.now() - started });
      return { bucket, key, status: 'ok', retry: false, outputs: written };
    } catch (err) {
      const retry = isTransient(err);
      const e = err as Error;
      const error = e.name === 'NoSuchKey' ? 'object no longer exists (deleted before processing)' : e.message;
      log({ level: 'error', msg: 'resize failed', bucket, key, error, retry, ms: Date.now() - started });
      return { bucket, key, status: 'failed', retry, error };
    }
  }

  return async function resize(event: ResizeEvent): Promise<{ outcomes: RecordOutcome[]; batchItemFailures: { itemIdentifier: string }[] }> {
    const outcomes: RecordOutcome[] = [];
    const batchItemFailures: { itemIdentifier: string }[] = [];
    let directRetry = false;
    // One record at a time: each already uses every core through libvips and the thread pool.
    for (const record of event.Records ?? []) {
      if (record.eventSource === 'aws:sqs') {
        // S3 → SQS → Lambda: report only the failed messages so only they are retried.
        const sqs = record as SqsRecord;
        let inner: S3EventRecord[] = [];
        try {
          inner = (JSON.parse(sqs.body) as ResizeEvent).Records as S3EventRecord[] ?? [];
        } catch {
          log({ level: 'error', msg: 'unreadable SQS message', messageId: sqs.messageId });
        }
        let failed = false;
        for (const r of inner) {
          const o = await processRecord(r);
          outcomes.push(o);
          failed ||= o.retry;
        }
        if (failed) batchItemFailures.push({ itemIdentifier: sqs.messageId });
      } else {
        const o = await processRecord(record as S3EventRecord);
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

export function resizeConfigFromEnv(env: NodeJS.ProcessEnv = process.env, s3: S3Client = createS3Client()): ResizeConfig {
  const destBucket = env.DEST_BUCKET;
  if (!destBucket) throw new Error('DEST_BUCKET is not set');
  if (env.SOURCE_BUCKET && env.SOURCE_BUCKET === destBucket) throw new Error('DEST_BUCKET must differ from SOURCE_BUCKET (recursive trigger)');
  const spec = env.IMGPIPE_SPEC ? parseSpec(JSON.parse(env.IMGPIPE_SPEC), 'IMGPIPE_SPEC') : DEFAULT_SPEC;
  return { s3, destBucket, spec, cacheControl: env.CACHE_CONTROL || 'public, max-age=31536000, immutable' };
}

let deployed: ReturnType<typeof createResizeHandler> | undefined;

export async function handler(event: ResizeEvent) {
  deployed ??= createResizeHandler(resizeConfigFromEnv());
  return deployed(event);
}
