// Read one image's record from the destination bucket and check it (core/record-check.ts): a
// record that is too large, not JSON or not of our shape comes back as that image's failure,
// `malformed-record`, so one planted object cannot stop a batch.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { failureKey, recordKey } from '../core/keys.js';
import { checkRecord, malformedRecord, MAX_RECORD_BYTES } from '../core/record-check.js';
import type { ImageRecord } from '../core/record.js';
import { isCredentialsFailure } from './credentials.js';

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** An image's verdict: its done record, else its failure record (read only when there is no done one). */
export async function getVerdict(s3: S3Client, bucket: string, sourceKey: string, signal?: AbortSignal): Promise<ImageRecord | undefined> {
  return (await getRecord(s3, bucket, sourceKey, 'done', signal)) ?? getRecord(s3, bucket, sourceKey, 'failed', signal);
}

/** The done record (kind 'done') or failure record of `sourceKey`; undefined when there is none. */
export async function getRecord(s3: S3Client, bucket: string, sourceKey: string, kind: 'done' | 'failed', signal?: AbortSignal): Promise<ImageRecord | undefined> {
  const key = kind === 'done' ? recordKey(sourceKey) : failureKey(sourceKey);
  let body: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    if ((res.ContentLength ?? 0) > MAX_RECORD_BYTES) {
      (res.Body as { destroy?: () => void } | undefined)?.destroy?.(); // not read: let the connection go
      return malformedRecord(sourceKey, key, `${res.ContentLength} bytes, over ${MAX_RECORD_BYTES}`);
    }
    body = await res.Body!.transformToString();
  } catch (err) {
    const status = httpStatus(err);
    // Not there: 404, or 403 from a bucket that does not grant ListBucket.
    if (status === 404 || (status === 403 && !isCredentialsFailure(err))) return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return malformedRecord(sourceKey, key, 'not JSON');
  }
  const checked = checkRecord(value, sourceKey, kind);
  return checked.ok ? checked.record : malformedRecord(sourceKey, key, checked.reason);
}
