// The artifacts bucket and the zips in it. The bucket is made once per account and region
// (private, encrypted, TLS only, staged zips expiring) and found again by name; a zip whose
// content-addressed key is already there is not sent again.
import { ImgpipeError } from '../../core/errors.js';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type LifecycleRule,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awsCall, explainAwsError, isAwsError } from '../errors.js';

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

/**
 * Days a staged zip is kept (S3 counts from its upload, or its last copy). Lambda copies a function's code when
 * CloudFormation creates or updates it, so no function runs from the bucket: a zip is needed
 * while its deploy runs (a deploy stages again one that has expired: its key is its SHA-256), and
 * again only if a later update that changes the code fails and CloudFormation rolls the function
 * back to it: that update starts the days of the zips it replaces again first (keepZip). A zip
 * already gone then (the stack not deployed for these days) is said, and a failed update would
 * stop in UPDATE_ROLLBACK_FAILED (`aws cloudformation continue-update-rollback` skips the function).
 */
export const STAGED_ZIP_DAYS = 30;

/** The artifacts bucket's one lifecycle rule: staged zips (under imgpipe/, names.ts) expire. */
const STAGED_ZIP_RULE: LifecycleRule = { ID: 'expire-staged-zips', Status: 'Enabled', Filter: { Prefix: 'imgpipe/' }, Expiration: { Days: STAGED_ZIP_DAYS } };

/** The ARN partition of a region (CloudFormation's AWS::Partition, which the stack's buckets use). */
const partitionOf = (region: string): string => (region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws');

/** Deny-only, as the stack's two buckets: refuse plain HTTP, grant nothing. */
function tlsOnlyPolicy(bucket: string, region: string): string {
  const arn = `arn:${partitionOf(region)}:s3:::${bucket}`;
  const statement = {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [arn, `${arn}/*`],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
  return JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
}

/** 'present' when the bucket exists and is ours; 'created' when this call made it. */
export async function ensureCodeBucket(s3: S3Client, bucket: string, region: string, create: boolean): Promise<'present' | 'created'> {
  const state = await bucketState(s3, bucket);
  if (state === 'present') return state;
  if (state === 'forbidden') throw new ImgpipeError(`the artifacts bucket ${bucket} exists but these credentials cannot use it (another account's?): pass --code-bucket NAME`, 'CodeBucketForbidden');
  if (!create) throw new ImgpipeError(`the artifacts bucket ${bucket} does not exist (--code-bucket names an existing bucket)`, 'NotFound');
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
  await awsCall(`s3:PutBucketLifecycleConfiguration on ${bucket}`, () => s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [STAGED_ZIP_RULE] } })));
  await awsCall(`s3:PutBucketPolicy on ${bucket}`, () => s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: tlsOnlyPolicy(bucket, region) })));
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

/**
 * Start a zip's days again (a copy onto itself is a new object to S3's lifecycle): done for the
 * zips a stack runs now, before an update that replaces them, so a rollback of that update finds
 * them. 'gone' when it has already expired.
 */
export async function keepZip(s3: S3Client, bucket: string, key: string): Promise<'kept' | 'gone'> {
  try {
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${bucket}/${key}`, MetadataDirective: 'REPLACE', ContentType: 'application/zip' }));
    return 'kept';
  } catch (err) {
    if (status(err) === 404 || isAwsError(err, 'NoSuchKey', 'NotFound')) return 'gone';
    throw explainAwsError(err, `s3:CopyObject s3://${bucket}/${key} onto itself`);
  }
}

/** A bucket a new stack would create must not exist yet: CloudFormation cannot adopt it, and would fail half-way. */
export async function assertBucketsFree(s3: S3Client, buckets: { name: string; flag: string }[]): Promise<void> {
  for (const b of buckets) {
    const state = await bucketState(s3, b.name);
    if (state === 'present') throw new ImgpipeError(`the bucket ${b.name} already exists (kept from an earlier stack?): a new stack cannot take it over; pass ${b.flag} NEW-NAME, or remove it first (aws s3 rb s3://${b.name} --force)`, 'BucketExists');
    if (state === 'forbidden') throw new ImgpipeError(`the bucket name ${b.name} is taken by another account: pass ${b.flag} NEW-NAME`, 'BucketExists');
  }
}
