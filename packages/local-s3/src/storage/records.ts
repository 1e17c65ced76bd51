// What the journal holds: one record per change. Replaying them in order rebuilds the index.

/** An object version as the index knows it; `blob` names its bytes in the blob store. */
export interface ObjectMeta {
  blob: string;
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
  checksum?: { algorithm: string; value: string };
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
}

export interface UploadMeta {
  bucket: string;
  key: string;
  /** What CreateMultipartUpload said the object will be (content type, headers, user metadata). */
  init: Pick<ObjectMeta, 'contentType' | 'headers' | 'userMeta'>;
  initiated: number;
}

export type JournalRecord =
  | { t: 'bucket'; b: string; at: number }
  | { t: 'unbucket'; b: string }
  | { t: 'put'; b: string; k: string; o: ObjectMeta; ev?: StoredEvent }
  | { t: 'del'; b: string; k: string; ev?: StoredEvent }
  | { t: 'ack'; seq: number }
  | { t: 'mpu'; id: string; u: UploadMeta }
  | { t: 'part'; id: string; n: number; p: PartMeta }
  | { t: 'mpu-end'; id: string };
