// The artifacts bucket as `imgpipe deploy` makes it (ensureCodeBucket, through the SDK), read back
// from moto's S3: private, encrypted, staged zips expiring, plain HTTP refused. Its own moto: moto
// ignores a bucket policy's Condition, so this TLS-only Deny refuses every later call to the
// bucket there (test/deploy-stack-moto.test.ts deploys with a bucket made beforehand).
import { GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketPolicyCommand, GetPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCodeBucket, STAGED_ZIP_DAYS } from '../src/deploy/stack/artifacts.js';
import { artifactKey } from '../src/deploy/stack/names.js';
import { startMoto, type Moto } from './helpers/moto.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_MOTO = have(TOOLS.moto, 'deploy-artifacts-moto.test');

describe.skipIf(!HAS_MOTO)('the artifacts bucket deploy makes, on moto', () => {
  let moto: Moto;
  let s3: S3Client;
  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client({ endpoint: moto.endpoint, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: 'AKIDMOTO', secretAccessKey: 'moto-secret' } });
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await moto?.close();
  });

  it('expires the staged zips after 30 days (every zip key is under the rule), refuses plain HTTP and grants nothing, and stays private and encrypted', async () => {
    const bucket = 'imgpipe-artifacts-123456789012-eu-west-1';
    expect(await ensureCodeBucket(s3, bucket, 'eu-west-1', true)).toBe('created');
    const lifecycle = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    expect(STAGED_ZIP_DAYS).toBe(30);
    expect(lifecycle.Rules).toEqual([{ ID: 'expire-staged-zips', Status: 'Enabled', Filter: { Prefix: 'imgpipe/' }, Expiration: { Days: 30 } }]);
    for (const handler of ['resize', 'presign', 'failure-recorder']) expect(artifactKey(handler, 'arm64', 'a'.repeat(64)).startsWith('imgpipe/')).toBe(true);
    const policy = JSON.parse((await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy ?? '{}');
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ],
    });
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
  }, 120_000);
});
