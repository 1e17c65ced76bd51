// What the journal holds: one record per change. Replaying them in order rebuilds the index.

/** An object version as the index knows it; `blob` names its bytes in the blob store. */
export interface ObjectMeta {
  blob: string;
  /**
   * A multipart object's other parts, in order after `blob` (their sizes in `parts`): Complete
   * links the parts' blobs under new names rather than copying them into one (a 256 MiB object
   * took 0.5-1 s to join and fsync, the client waiting on it).
   */
  more?: string[];
  size: number;
  /** Without quotes: hex MD5, or "<hex>-<parts>" for multipart. */
  etag: string;
  contentType: string;
  /** cache-control, content-disposition, content-encoding, content-language, expires. */
  headers: Record<string, string>;
  /** x-amz-meta-* names (lower case, without the prefix) to values. */
  userMeta: Record<string, string>;
  /** Milliseconds since the epoch. */
  lastModified: number;
  /** type: COMPOSITE (a multipart upload's checksum of part checksums, "<b64>-<parts>") or FULL_OBJECT; absent means FULL_OBJECT. */
  checksum?: { algorithm: string; value: string; type?: ChecksumType };
  /** Multipart objects: each part's size and checksum, for GetObjectAttributes' ObjectParts. */
  parts?: Array<{ size: number; checksum?: string }>;
}

export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

/** The fields that name an object's blobs, `ids` in order (the inverse of blobsOf). */
export function blobFields(ids: string[]): Pick<ObjectMeta, 'blob' | 'more'> {
  return ids.length > 1 ? { blob: ids[0], more: ids.slice(1) } : { blob: ids[0] };
}

/** Every blob an object's bytes are in, in order. */
export function blobsOf(meta: Pick<ObjectMeta, 'blob' | 'more'>): string[] {
  return meta.more ? [meta.blob, ...meta.more] : [meta.blob];
}

/** The object's bytes as blobs and their sizes, in order. */
export function segmentsOf(meta: ObjectMeta): Array<{ id: string; size: number }> {
  if (!meta.more) return [{ id: meta.blob, size: meta.size }];
  const sizes = meta.parts?.map((p) => p.size);
  if (sizes?.length !== meta.more.length + 1) throw new Error(`object of ${meta.more.length + 1} blobs lists ${sizes?.length ?? 0} part sizes`);
  return blobsOf(meta).map((id, i) => ({ id, size: sizes[i] }));
}

/** One ObjectCreated or ObjectRemoved event, kept until its consumer acknowledges it. */
export interface StoredEvent {
  seq: number;
  bucket: string;
  key: string;
  /** ObjectCreated only: S3's ObjectRemoved records carry neither. */
  size?: number;
  eTag?: string;
  eventName: string;
  eventTime: string;
}

export interface PartMeta {
  blob: string;
  size: number;
  etag: string;
  /** Milliseconds since the epoch (absent in journals written before ListParts existed). */
  lastModified?: number;
  /** The part's verified x-amz-checksum-*, when it carried one. */
  checksum?: { algorithm: string; value: string };
}

/** What a completed upload answered, kept so a retried Complete (its answer lost) gets the same answer. */
export interface CompletedUpload {
  bucket: string;
  key: string;
  etag: string;
  checksum?: { algorithm: string; value: string; type?: ChecksumType };
}

export interface UploadMeta {
  bucket: string;
  key: string;
  /** What CreateMultipartUpload said the object will be (content type, headers, user metadata). */
  init: Pick<ObjectMeta, 'contentType' | 'headers' | 'userMeta'>;
  initiated: number;
  /** x-amz-checksum-algorithm / -type of CreateMultipartUpload: every part must then carry that checksum. */
  checksumAlgorithm?: string;
  checksumType?: ChecksumType;
}

export type JournalRecord =
  | { t: 'bucket'; b: string; at: number }
  | { t: 'unbucket'; b: string }
  | { t: 'put'; b: string; k: string; o: ObjectMeta; ev?: StoredEvent }
  | { t: 'del'; b: string; k: string; ev?: StoredEvent }
  | { t: 'ack'; seq: number }
  | { t: 'mpu'; id: string; u: UploadMeta }
  | { t: 'part'; id: string; n: number; p: PartMeta }
  /** done: the upload was completed (not aborted), with what its Complete answered. */
  | { t: 'mpu-end'; id: string; done?: CompletedUpload };
