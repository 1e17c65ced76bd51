// What a deleted source leaves in the destination bucket, and taking it away: the photo's done
// record (first: its presence says "every variant is there"), the variants that record lists
// and the current spec's own keys for it, and its failure record. Deleting a missing key is not
// an error on S3, so a second delivery of the same removal does no harm.
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { failureKey, isVariantKeyOf, outputKeys, recordKey } from '../src/core/keys.js';
import type { VariantStore } from './records.js';
import { httpStatus } from '../src/s3/get-record.js';

/** 404 (NoSuchKey, NotFound): the key holds nothing. */
export function isMissing(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

/** The source object now: its ETag, or undefined when the key holds nothing. */
export async function sourceNow(s3: S3Client, bucket: string, key: string): Promise<{ eTag: string } | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { eTag: (head.ETag ?? '').replace(/"/g, '') };
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The variant keys the photo's done record lists (of this photo only); none without a readable record. */
async function recordedVariants(target: VariantStore, sourceKey: string): Promise<string[]> {
  let text: string;
  try {
    const got = await target.s3.send(new GetObjectCommand({ Bucket: target.destBucket, Key: recordKey(sourceKey) }));
    text = await got.Body!.transformToString();
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  try {
    const variants = (JSON.parse(text) as { variants?: Array<{ key?: unknown }> }).variants ?? [];
    return variants.map((v) => v.key).filter((k): k is string => typeof k === 'string' && isVariantKeyOf(k, sourceKey));
  } catch {
    return []; // an unreadable record still goes; the current spec's keys still do
  }
}

/** Delete everything the pipeline wrote for `sourceKey`; returns the keys deleted (present or not). */
export async function removeOutputs(target: VariantStore, sourceKey: string): Promise<string[]> {
  const variants = new Set([...(await recordedVariants(target, sourceKey)), ...outputKeys(sourceKey, target.spec).map((o) => o.key)]);
  const del = (Key: string) => target.s3.send(new DeleteObjectCommand({ Bucket: target.destBucket, Key }));
  await del(recordKey(sourceKey));
  await Promise.all([...variants].map(del));
  await del(failureKey(sourceKey));
  return [recordKey(sourceKey), ...variants, failureKey(sourceKey)];
}
