// POST /reprocess: bring photos already in the source bucket to the spec the API serves. Each key
// whose done record was made with another spec, that failed, or that has no record is queued for
// a resize on the resize's own queue (lambda/heal.ts's requeue: SQS on AWS, the local server's
// queue locally), so a backfill of 100,000 photos keeps the queue's concurrency bound. A key whose
// record is this spec's is left alone: a second run queues nothing.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { ReprocessAnswer } from '../src/api/contract.js';
import { specHash, type Spec } from '../src/core/spec.js';
import { getVerdict } from '../src/s3/get-record.js';
import { storedObject, type Requeue } from './heal.js';

export interface ReprocessConfig {
  s3: S3Client;
  bucket: string;
  destBucket: string;
  keyPrefix: string;
  spec: Spec;
  requeue: Requeue;
}

const refused = (key: string, message: string): ReprocessAnswer => ({ key, status: 'refused', error: { code: 'InvalidKey', message } });

async function reprocessOne(config: ReprocessConfig, key: string, dryRun: boolean): Promise<ReprocessAnswer> {
  // The record first: a photo already made with this spec costs one request, not two (a second
  // run over 100,000 photos is 100,000 GETs). Its source is there: a delete takes the record away.
  const record = await getVerdict(config.s3, config.destBucket, key);
  if (record?.status === 'done' && record.specHash === specHash(config.spec)) return { key, status: 'current' };
  // Listing, not HEAD: the API may list the upload prefix (dedupe's grant) but not read sources.
  const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: key, MaxKeys: 1 }));
  const object = listed.Contents?.[0];
  if (object?.Key !== key) return { key, status: 'missing' };
  // Its bytes are not the ones its key names (resize.ts): another resize fails the same way.
  if (record?.status === 'failed' && record.code === 'checksum') {
    return { key, status: 'refused', error: { code: 'Checksum', message: 'its stored bytes are not the ones its key names; upload the file again' } };
  }
  const why = record?.status === 'done' ? 'spec' : record ? 'failed' : 'none';
  if (dryRun) return { key, status: 'would-queue', why };
  await config.requeue(storedObject(config.bucket, object));
  return { key, status: 'queued', why };
}

export async function answerReprocess(config: ReprocessConfig, keys: unknown[], dryRun: boolean): Promise<ReprocessAnswer[]> {
  const limit = pLimit(16);
  return Promise.all(
    keys.map((key) => {
      if (typeof key !== 'string' || !key.startsWith(`${config.keyPrefix}/`) || Buffer.byteLength(key) > 1024) {
        return refused(typeof key === 'string' ? key.slice(0, 1024) : '', `not a key this API hands out (under ${config.keyPrefix}/, at most 1024 bytes)`);
      }
      return limit(() => reprocessOne(config, key, dryRun));
    }),
  );
}
