// What a bucket name and an object key may be. Keys never become file paths (storage names files
// by server-issued ids), so these checks are about what S3 allows and tools agree on, not safety.
import { S3Error } from './errors.js';
import { uriDecode } from './uri.js';
import { LIMITS } from './limits.js';

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new S3Error('InvalidBucketName', { BucketName: bucket });
  }
}

/**
 * S3's 1024-byte limit, and no empty, '.' or '..' segments: HTTP clients and tools normalise such
 * paths differently (the same key would name different objects through different clients).
 */
export function validateKey(key: string): void {
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > LIMITS.keyBytes) {
    throw new S3Error('KeyTooLongError', { MaxSizeAllowed: LIMITS.keyBytes, Size: bytes });
  }
  if (key === '') throw new S3Error('InvalidArgument', 'An object key must not be empty.', { ArgumentName: 'key' });
  const segs = key.split('/');
  segs.forEach((s, i) => {
    if ((s === '' && i !== segs.length - 1) || s === '.' || s === '..' || s.includes('\0')) {
      throw new S3Error(
        'InvalidArgument',
        "Keys with empty, '.' or '..' path segments or NUL characters are refused here: clients normalise them differently.",
        { ArgumentName: 'key', ArgumentValue: key },
      );
    }
  });
}

export interface Target {
  /** undefined: service level (GET / = ListBuckets). */
  bucket?: string;
  /** undefined: bucket level. */
  key?: string;
}

/** Path-style addressing: /bucket/key…, each segment percent-decoded. */
export function parseTarget(rawPath: string): Target {
  const segs = rawPath.slice(1).split('/');
  if (segs.length === 1 && segs[0] === '') return {};
  const bucket = uriDecode(segs[0], false);
  const rest = segs.slice(1);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return { bucket };
  return { bucket, key: rest.map((s) => uriDecode(s, false)).join('/') };
}
