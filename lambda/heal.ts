// Heal: bytes the source bucket already holds but whose resize never finished. Dedupe answers an
// upload of them "exists", so no new ObjectCreated event would ever fire; instead the presign API
// puts one on the resize's own queue, in S3's event shape, when the photo's record says the
// pipeline (not the photo) failed, or when there is no record long after the upload.
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { _Object, S3Client } from '@aws-sdk/client-s3';
import { HEALABLE_CODES } from '../src/core/failed-record.js';
import { getVerdict } from '../src/s3/get-record.js';
import { s3EventRecord } from '../src/core/s3-event.js';

/** An object of the source bucket, as ListObjectsV2 lists it. */
export interface StoredObject {
  bucket: string;
  key: string;
  size: number;
  eTag: string;
}

/** Put an ObjectCreated event for `object` on the resize's queue. */
export type Requeue = (object: StoredObject) => Promise<void>;

export interface HealConfig {
  s3: S3Client;
  destBucket: string;
  requeue: Requeue;
  /**
   * With no record at all, how long after its upload an object counts as stranded rather than
   * still in the queue: longer than the queue keeps trying (visibility timeout × receives).
   */
  healAfterMs: number;
}

/** On AWS the queue waits 360 s per receive, 3 receives, then the dead-letter queue's recorder: 20 minutes covers it. */
export const AWS_HEAL_AFTER_MS = 20 * 60_000;

/**
 * What to do about bytes the bucket holds under a content key: nothing (done, or still on its way),
 * queue them for another resize (stranded), or have the client send its bytes onto the key again:
 * a `checksum` record says the stored bytes are not the ones the key names, and a client asking
 * with that SHA-256 holds the right ones, so "exists" would leave the photo failed for good.
 */
export async function healIfStranded(config: HealConfig, bucket: string, listed: _Object, now = Date.now()): Promise<'fine' | 'requeued' | 'resend'> {
  const key = listed.Key!;
  const record = await getVerdict(config.s3, config.destBucket, key);
  if (record?.status === 'done') return 'fine';
  if (record?.code === 'checksum') return 'resend';
  const stranded = record ? HEALABLE_CODES.has(record.code) : now - (listed.LastModified?.getTime() ?? now) >= config.healAfterMs;
  if (!stranded) return 'fine';
  await config.requeue(storedObject(bucket, listed));
  return 'requeued';
}

/** A listed object as a requeue takes it. */
export function storedObject(bucket: string, listed: _Object): StoredObject {
  return { bucket, key: listed.Key!, size: listed.Size ?? 0, eTag: (listed.ETag ?? '').replace(/"/g, '') };
}

/** The deployed stack's requeue: one SQS message holding the S3 event the bucket would have sent. */
export function sqsRequeue(sqs: SQSClient, queueUrl: string, region: string): Requeue {
  return async (o) => {
    const record = s3EventRecord({ ...o, eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, region, { principalId: 'imgpipe-heal', configurationId: 'imgpipe-heal' });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ Records: [record] }) }));
  };
}
