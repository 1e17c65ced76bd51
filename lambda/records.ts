// Writing the pipeline's JSON objects into the destination bucket: the records `watch` waits for
// and the resize's attempt notes. No sharp here: the failure recorder's small zip uses this too.
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { failedRecord, type AttemptNote } from '../src/core/failed-record.js';
import { attemptKey, failureKey } from '../src/core/keys.js';
import type { Spec } from '../src/core/spec.js';
import { httpStatus } from '../src/s3/get-record.js';

/** Where a pipeline's variants and records live, and the spec they are made with: what the handlers that write or remove them are given. */
export interface VariantStore {
  s3: S3Client;
  destBucket: string;
  spec: Spec;
}

/** Records change as an image is re-uploaded: never cached. */
export async function putJson(target: Pick<VariantStore, 's3' | 'destBucket'>, key: string, value: unknown): Promise<void> {
  const body = JSON.stringify(value);
  await target.s3.send(
    new PutObjectCommand({
      Bucket: target.destBucket,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      CacheControl: 'no-cache',
      ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
    }),
  );
}

/** The image is given up for good: say so where `watch` looks (the resize, the failure recorder and the local stack after its last retry). */
export async function writeFailureRecord(target: VariantStore, sourceKey: string, code: string, reason: string, attempts?: number): Promise<void> {
  await putJson(target, failureKey(sourceKey), failedRecord(sourceKey, code, reason, target.spec, attempts));
}

export async function writeAttemptNote(target: VariantStore, sourceKey: string, note: Omit<AttemptNote, 'at'>): Promise<void> {
  await putJson(target, attemptKey(sourceKey), { ...note, at: new Date().toISOString() } satisfies AttemptNote);
}

/** Without s3:ListBucket S3 answers a missing key with 403, not 404: both mean "not there" here. */
const absent = (err: unknown) => httpStatus(err) === 404 || httpStatus(err) === 403 || (err as { name?: string }).name === 'NoSuchKey';

export async function readAttemptNote(target: Pick<VariantStore, 's3' | 'destBucket'>, sourceKey: string): Promise<AttemptNote | undefined> {
  try {
    const got = await target.s3.send(new GetObjectCommand({ Bucket: target.destBucket, Key: attemptKey(sourceKey) }));
    return JSON.parse(await got.Body!.transformToString()) as AttemptNote;
  } catch (err) {
    if (absent(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function objectExists(target: Pick<VariantStore, 's3' | 'destBucket'>, key: string): Promise<boolean> {
  try {
    await target.s3.send(new HeadObjectCommand({ Bucket: target.destBucket, Key: key }));
    return true;
  } catch (err) {
    if (absent(err)) return false;
    throw err;
  }
}
