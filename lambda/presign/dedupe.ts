// Dedupe: bytes the source bucket already holds are answered "exists" with their key, not a URL.
// One ListObjectsV2 per file, on the content's folder (src/core/upload-key.ts): any object there
// holds these bytes, whatever its name. An "exists" whose resize never finished is healed on the
// way (lambda/heal.ts): queued again, or, when its record says the stored bytes are not the ones
// the key names, the genuine bytes are asked for onto that key.
import { ListObjectsV2Command, type _Object } from '@aws-sdk/client-s3';
import type { FileRequest, UploadExists } from '../../src/api/contract.js';
import { contentFolder } from '../../src/core/upload-key.js';
import { AWS_HEAL_AFTER_MS, healIfStranded } from '../heal.js';
import type { PresignConfig } from './config.js';

/** The object already holding these bytes, if any: any object in the content's folder. */
async function existingObject(file: FileRequest, config: PresignConfig): Promise<_Object | undefined> {
  const listed = await config.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: contentFolder(file.sha256, config.keyPrefix), MaxKeys: 1 }));
  return listed.Contents?.[0];
}

/**
 * What the bucket says of this file: `exists` (nothing to send), `resend` onto the key that holds
 * wrong bytes, or `new` (dedupe off, or bytes never seen): sign the key the content names.
 */
export async function lookUp(file: FileRequest, config: PresignConfig, now: Date): Promise<{ exists: UploadExists } | { resend: string } | { new: true }> {
  if (config.dedupe === false) return { new: true };
  const existing = await existingObject(file, config);
  if (!existing?.Key) return { new: true };
  const { requeue, destBucket } = config;
  const heal = requeue && destBucket ? { s3: config.s3, destBucket, requeue, healAfterMs: config.healAfterMs ?? AWS_HEAL_AFTER_MS } : undefined;
  const verdict = heal ? await healIfStranded(heal, config.bucket, existing, now.getTime()) : 'fine';
  if (verdict === 'resend') return { resend: existing.Key }; // the genuine bytes go onto the key whose record says they are wrong
  return { exists: { name: file.name, key: existing.Key, exists: true, ...(verdict === 'requeued' ? { requeuedAt: now.toISOString() } : {}) } };
}
