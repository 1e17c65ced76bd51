// The S3 (REST-XML, path-style) side of the fake AWS endpoint: the bucket and object calls
// deploy-lambda and deploy make. Kept apart from the Lambda routing in deploy-fake-aws.ts.
import { createHash } from 'node:crypto';

export type Answer = { status: number; headers?: Record<string, string>; body?: string };

export interface FakeBucket {
  notification: string;
  objects: Map<string, Buffer>;
  /** The query sub-resources set on it (publicAccessBlock, encryption, lifecycle, policy): their XML (the policy's JSON). */
  settings: Map<string, string>;
}

export const EMPTY_NOTIFICATION = '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></NotificationConfiguration>';

export const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

export const newBucket = (notification = EMPTY_NOTIFICATION): FakeBucket => ({ notification, objects: new Map(), settings: new Map() });

export const s3Error = (status: number, code: string, message: string): Answer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
});

/** Bucket settings this fake stores as sent (PUT /bucket?<name>). */
const SETTINGS: Record<string, string> = { publicAccessBlock: 'PutPublicAccessBlock', encryption: 'PutBucketEncryption', lifecycle: 'PutBucketLifecycleConfiguration', policy: 'PutBucketPolicy' };

/**
 * One S3 request. `unvalidated` says which Lambda destinations of a notification S3 could not
 * validate (the function has not allowed S3 to invoke it).
 */
export function s3Op(
  buckets: Map<string, FakeBucket>,
  unvalidated: (bucket: string, xml: string) => string[],
  req: { method: string; bucket: string; key: string; query: Record<string, string>; raw: Buffer },
): { op: string; run: () => Answer; body: Record<string, unknown> } {
  const { method, bucket, key, query, raw } = req;
  const b = buckets.get(bucket);
  const noBucket = () => s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
  if ('notification' in query && method === 'GET') {
    return { op: 'GetBucketNotificationConfiguration', body: {}, run: () => (b ? { status: 200, headers: { 'content-type': 'application/xml' }, body: b.notification } : noBucket()) };
  }
  if ('notification' in query && method === 'PUT') {
    const xml = raw.toString('utf8');
    return {
      op: 'PutBucketNotificationConfiguration',
      body: { xml },
      run: () => {
        if (!b) return noBucket();
        const bad = unvalidated(bucket, xml);
        if (bad.length) return s3Error(400, 'InvalidArgument', `Unable to validate the following destination configurations: ${bad.join(', ')}`);
        b.notification = xml;
        return { status: 200 };
      },
    };
  }
  const setting = Object.keys(SETTINGS).find((s) => s in query);
  if (method === 'PUT' && !key && setting) {
    const xml = raw.toString('utf8');
    return { op: SETTINGS[setting], body: { xml }, run: () => (b ? (b.settings.set(setting, xml), { status: 200 }) : noBucket()) };
  }
  if (method === 'PUT' && !key) {
    return {
      op: 'CreateBucket',
      body: { xml: raw.toString('utf8') },
      run: () => {
        if (b) return s3Error(409, 'BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.');
        buckets.set(bucket, newBucket());
        return { status: 200, headers: { location: `/${bucket}` } };
      },
    };
  }
  // HEAD answers carry no body: the SDK sees only the status (404 → NotFound).
  if (method === 'HEAD' && !key) return { op: 'HeadBucket', body: {}, run: () => (b ? { status: 200 } : { status: 404 }) };
  if (method === 'HEAD') {
    return { op: 'HeadObject', body: { key }, run: () => (b?.objects.has(key) ? { status: 200, headers: { 'content-length': String(b.objects.get(key)!.length), etag: '"x"' } } : { status: 404 }) };
  }
  if (method === 'PUT' && key) {
    return {
      op: 'PutObject',
      body: { key, bytes: raw.length, sha256: sha256b64(raw) },
      run: () => {
        if (!b) return noBucket();
        b.objects.set(key, raw);
        return { status: 200, headers: { etag: '"x"' } };
      },
    };
  }
  return { op: `Unknown(${method} ${bucket}/${key})`, body: {}, run: () => s3Error(400, 'NotImplemented', 'unknown operation') };
}
