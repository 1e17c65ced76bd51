// Conditional writes (If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload), as
// S3 evaluates them. Atomic: the check and the reservation of the key happen in one tick, and the
// key stays reserved until the write is in the index, so of two racing If-None-Match: * writers
// exactly one wins.
import { S3Error } from '../errors.js';
import type { Store } from '../storage/store.js';

export interface WriteCondition {
  ifNoneMatch: boolean;
  /** The ETag named, without quotes; '*' for any existing object. */
  ifMatch?: string;
}

const failed = (condition: string) => new S3Error('PreconditionFailed', { Condition: condition });

/** The write's conditions from its headers; undefined: none. Refusals (an ETag in If-None-Match) before the body is read. */
export function writeCondition(headers: Map<string, string>): WriteCondition | undefined {
  const none = headers.get('if-none-match')?.trim();
  const match = headers.get('if-match')?.trim();
  if (none === undefined && match === undefined) return undefined;
  if (none !== undefined && none !== '*') {
    throw new S3Error('NotImplemented', { Header: 'If-None-Match' });
  }
  return { ifNoneMatch: none === '*', ...(match !== undefined ? { ifMatch: match.replace(/^"|"$/g, '') } : {}) };
}

/** Check `cond` against bucket/key now; throws S3's answer. */
export function checkWrite(store: Store, bucket: string, key: string, cond: WriteCondition): void {
  const current = store.get(bucket, key);
  if (cond.ifNoneMatch && (current || store.isReserved(bucket, key))) throw failed('If-None-Match');
  if (cond.ifMatch === undefined) return;
  if (store.isReserved(bucket, key)) {
    throw new S3Error('ConditionalRequestConflict');
  }
  if (!current) throw new S3Error('NoSuchKey', { Key: key });
  if (cond.ifMatch !== '*' && cond.ifMatch !== current.etag) throw failed('If-Match');
}

/** Check `cond` and reserve the key in the same tick; the release to call once the write is indexed (or failed). */
export function claimWrite(store: Store, bucket: string, key: string, cond: WriteCondition | undefined): () => void {
  if (!cond) return () => undefined;
  checkWrite(store, bucket, key, cond);
  return store.reserve(bucket, key);
}
