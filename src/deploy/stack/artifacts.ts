// The artifacts bucket and the zips in it. The bucket is made once per account and region
// (private, encrypted) and found again by name; a zip whose content-addressed key is already
// there is not sent again.
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awsCall, DeployError, explainAwsError, isAwsError } from '../errors.js';

const status = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

/** One HeadBucket read three ways: ours ('present'), nobody's ('absent'), or another account's ('forbidden'). */
export async function bucketState(s3: S3Client, bucket: string): Promise<'present' | 'absent' | 'forbidden'> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'present';
  } catch (err) {
    if (status(err) === 403) return 'forbidden';
    if (status(err) === 404 || isAwsError(err, 'NotFound', 'NoSuchBucket')) return 'absent';
    throw explainAwsError(err, `s3:HeadBucket ${bucket}`);
  }
}

/** 'present' when the bucket exists and is ours; 'created' when this call made it. */
export async function ensureCodeBucket(s3: S3Client, bucket: string, region: string, create: boolean): Promise<'present' | 'created'> {
  const state = await bucketState(s3, bucket);
  if (state === 'present') return state;
  if (state === 'forbidden') throw new DeployError(`the artifacts bucket ${bucket} exists but these credentials cannot use it (another account's?): pass --code-bucket NAME`, 'CodeBucketForbidden');
  if (!create) throw new DeployError(`the artifacts bucket ${bucket} does not exist (--code-bucket names an existing bucket)`, 'NotFound');
  // us-east-1 is the one region that refuses a LocationConstraint naming itself.
  const location = region === 'us-east-1' ? undefined : { LocationConstraint: region as BucketLocationConstraint };
  await awsCall(`s3:CreateBucket ${bucket}`, () => s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: location, ObjectOwnership: 'BucketOwnerEnforced' })));
  await awsCall(`s3:PutPublicAccessBlock on ${bucket}`, () =>
    s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      }),
    ),
  );
  await awsCall(`s3:PutBucketEncryption on ${bucket}`, () =>
    s3.send(new PutBucketEncryptionCommand({ Bucket: bucket, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] } })),
  );
  return 'created';
}

export interface StagedZip {
  key: string;
  status: 'uploaded' | 'present';
  bytes: number;
}

/** Whether the key is there (a dry run looks, and sends nothing). */
export async function zipPresent(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    if (status(err) === 404 || isAwsError(err, 'NotFound', 'NoSuchKey', 'NoSuchBucket')) return false;
    throw explainAwsError(err, `s3:HeadObject s3://${bucket}/${key}`);
  }
}

/** Put the zip under its key unless it is already there (the key is its SHA-256, so same key = same bytes). */
export async function stageZip(s3: S3Client, bucket: string, key: string, zip: Buffer, codeSha256: string): Promise<StagedZip> {
  if (await zipPresent(s3, bucket, key)) return { key, status: 'present', bytes: zip.length };
  await awsCall(`s3:PutObject s3://${bucket}/${key}`, () =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, ContentType: 'application/zip', ChecksumSHA256: codeSha256 })),
  );
  return { key, status: 'uploaded', bytes: zip.length };
}

/** A bucket a new stack would create must not exist yet: CloudFormation cannot adopt it, and would fail half-way. */
export async function assertBucketsFree(s3: S3Client, buckets: { name: string; flag: string }[]): Promise<void> {
  for (const b of buckets) {
    const state = await bucketState(s3, b.name);
    if (state === 'present') throw new DeployError(`the bucket ${b.name} already exists (kept from an earlier stack?): a new stack cannot take it over; pass ${b.flag} NEW-NAME, or remove it first (aws s3 rb s3://${b.name} --force)`, 'BucketExists');
    if (state === 'forbidden') throw new DeployError(`the bucket name ${b.name} is taken by another account: pass ${b.flag} NEW-NAME`, 'BucketExists');
  }
}
