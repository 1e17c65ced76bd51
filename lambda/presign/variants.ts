// The API's read side (POST /variants): for keys the API hands out, whether the image is done,
// failed or still pending, and a URL per variant: the CDN's public one where the pipeline has a
// CDN, else a short-lived pre-signed GET. It lets a browser (or a client without S3 credentials)
// show the results; it reads only the per-image records.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import pLimit from 'p-limit';
import { publicUrl } from '../../src/core/cdn-url.js';
import { outputKeys } from '../../src/core/keys.js';
import type { Spec } from '../../src/core/spec.js';
import { getRecord } from '../../src/s3/get-record.js';
import type { VariantsAnswer } from '../../src/api/contract.js';

export interface ReadSideConfig {
  s3: S3Client;
  /** Signs the variants' GET URLs (PresignConfig.signer); default `s3`. */
  signer?: S3Client;
  destBucket: string;
  keyPrefix: string;
  expiresIn: number;
  /** Only the keys this spec gives an image's variants are ever signed, whatever a record names. */
  spec: Spec;
  /** The CDN in front of the variants: its URLs instead of pre-signed ones (they never expire). */
  cdn?: string;
}

/** Only keys of the shape the API hands out: `<prefix>/<SHA-256 in base32>/<name>`. */
function isHandedOutKey(key: unknown, prefix: string): key is string {
  if (typeof key !== 'string' || Buffer.byteLength(key) > 1024) return false;
  const rest = key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : '';
  return /^[a-z2-7]{52}\/[^/]+$/.test(rest) && rest.split('/')[1] !== '..' && rest.split('/')[1] !== '.';
}

async function answerOne(config: ReadSideConfig, key: string, now: Date): Promise<VariantsAnswer> {
  const done = await getRecord(config.s3, config.destBucket, key, 'done');
  if (done?.status === 'done') {
    const signable = new Set(outputKeys(key, config.spec).map((o) => o.key));
    const ours = done.variants.filter((v) => signable.has(v.key));
    if (!ours.length) return { key, status: 'failed', error: { code: 'malformed-record', message: 'its record names none of the variant keys of the spec' } };
    const variants = await Promise.all(
      ours.map(async (v) => ({
        name: v.name,
        width: v.width,
        height: v.height,
        format: v.format,
        bytes: v.bytes,
        url: config.cdn ? publicUrl(config.cdn, v.key) : await getSignedUrl(config.signer ?? config.s3, new GetObjectCommand({ Bucket: config.destBucket, Key: v.key }), { expiresIn: config.expiresIn, signingDate: now }),
      })),
    );
    const answer = { key, status: 'done' as const, variants, placeholder: done.placeholder, color: done.color };
    return config.cdn ? answer : { ...answer, expiresAt: new Date(now.getTime() + config.expiresIn * 1000).toISOString() };
  }
  if (done) return { key, status: 'failed', error: { code: done.code, message: done.reason } }; // malformed
  const failed = await getRecord(config.s3, config.destBucket, key, 'failed');
  if (failed?.status === 'failed') return { key, status: 'failed', error: { code: failed.code, message: failed.reason } };
  return { key, status: 'pending' };
}

/** One answer per key, in order; the lookups side by side. */
export async function answerVariants(config: ReadSideConfig, keys: unknown[]): Promise<VariantsAnswer[]> {
  const limit = pLimit(16);
  const now = new Date();
  return Promise.all(
    keys.map((key) =>
      isHandedOutKey(key, config.keyPrefix)
        ? limit(() => answerOne(config, key, now))
        : Promise.resolve<VariantsAnswer>({ key: typeof key === 'string' ? key.slice(0, 1024) : '', status: 'refused', error: { code: 'InvalidKey', message: 'not a key this API hands out' } }),
    ),
  );
}
