// `deploy --delete --empty-buckets`: the one path that deletes photos, so it is explicit, asked
// for (or --yes), and done after the stack is gone, a thousand keys per request.
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { awsCall } from '../errors.js';

/** Delete every object, then the bucket; returns how many objects went. */
export async function emptyAndRemoveBucket(s3: S3Client, bucket: string): Promise<number> {
  let removed = 0;
  for (;;) {
    // Always the first page: what was deleted is gone, so the listing moves on by itself.
    const page = await awsCall(`s3:ListObjectsV2 ${bucket}`, () => s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 })));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
    if (!keys.length) break;
    const out = await awsCall(`s3:DeleteObjects ${bucket}`, () => s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } })));
    if (out.Errors?.length) throw new Error(`s3:DeleteObjects ${bucket}: ${out.Errors[0].Key}: ${out.Errors[0].Code} ${out.Errors[0].Message ?? ''}`.trim());
    removed += keys.length;
  }
  await awsCall(`s3:DeleteBucket ${bucket}`, () => s3.send(new DeleteBucketCommand({ Bucket: bucket })));
  return removed;
}
