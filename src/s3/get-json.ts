// Read a small JSON object (a per-image record); "not there" (404, or 403 without ListBucket) is undefined.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isCredentialsFailure } from './credentials.js';

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export async function getJson<T>(s3: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<T | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return JSON.parse(await res.Body!.transformToString()) as T;
  } catch (err) {
    const status = httpStatus(err);
    // A 403 for keys S3 does not accept is no answer about the object.
    if (status === 404 || (status === 403 && !isCredentialsFailure(err))) return undefined;
    throw err;
  }
}
