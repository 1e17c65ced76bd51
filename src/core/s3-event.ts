// The S3 event: the record S3 sends when an object is created or removed, directly or inside an
// SQS message, and the way it encodes the object's key. One module for both sides: the local
// stack writes these records (s3EventRecord), the resize handler and the failure recorder read
// them (decodeEventKey); the heal writes one for the queue.

export interface S3EventRecord {
  eventSource?: string;
  eventName?: string;
  s3: { bucket: { name: string } & Record<string, unknown>; object: { key: string; size?: number; eTag?: string } & Record<string, unknown> } & Record<string, unknown>;
}
export interface SqsRecord {
  eventSource: 'aws:sqs';
  messageId: string;
  body: string;
  /** SQS's own: ApproximateReceiveCount is this attempt's number. */
  attributes?: { ApproximateReceiveCount?: string } & Record<string, unknown>;
}

/** S3 URL-encodes keys in event records the way HTML forms do: '+' for a space, '/' kept. */
function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** S3 URL-encodes keys in event records, with '+' for a space. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** What happened to one object: the fields of an S3 event record (local-s3's ObjectCreatedEvent has them). */
export interface ObjectEvent {
  bucket: string;
  key: string;
  /** ObjectCreated only: S3's ObjectRemoved records carry neither. */
  size?: number;
  eTag?: string;
  eventName: string;
  eventTime: string;
  /** The server's sequence number of the event, ordering events of the same time. */
  seq?: number;
}

/**
 * S3's `sequencer` orders the events of one key: here the PUT's own time, then the server's
 * sequence number, in fixed-width hex so the strings compare in order. The same event delivered
 * again (a retry, a replay after a crash) carries the same sequencer, as on S3.
 */
export function eventSequencer(ev: Pick<ObjectEvent, 'eventTime' | 'seq'>): string {
  const ms = Date.parse(ev.eventTime);
  return `${ms.toString(16).padStart(12, '0')}${(ev.seq ?? 0).toString(16).padStart(8, '0')}`.toUpperCase();
}

/** Who sent an event: the local stack's trigger, or the presign API's requeue of stranded bytes (lambda/heal.ts). */
export interface EventOrigin {
  principalId: string;
  configurationId: string;
}

const LOCAL_TRIGGER: EventOrigin = { principalId: 'imgpipe-local', configurationId: 'imgpipe-local-resize' };

/** The S3 event record of an object event: ObjectCreated with the object's size and ETag, ObjectRemoved without (as S3 sends it). */
export function s3EventRecord(ev: ObjectEvent, region: string, origin: EventOrigin = LOCAL_TRIGGER): S3EventRecord & Record<string, unknown> {
  const object = ev.eTag === undefined ? {} : { size: ev.size, eTag: ev.eTag };
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: ev.eventTime,
    eventName: ev.eventName,
    userIdentity: { principalId: origin.principalId },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'local', 'x-amz-id-2': 'local' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: origin.configurationId,
      bucket: { name: ev.bucket, ownerIdentity: { principalId: origin.principalId }, arn: `arn:aws:s3:::${ev.bucket}` },
      object: { key: encodeEventKey(ev.key), ...object, sequencer: eventSequencer(ev) },
    },
  };
}
