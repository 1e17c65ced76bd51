// The shapes the handlers receive: S3 event records, directly or inside SQS messages.
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
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

/** S3 URL-encodes keys in event records, with '+' for a space. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}
