// startLocalS3: an S3 server on loopback, for any S3 client. Here the AWS SDK stores an object,
// lists the bucket and reads the object back. Run: node examples/api/local-s3.mjs
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '@imgpipe/local-s3';

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'local-s3-example-'));
const server = await startLocalS3({ dataDir, buckets: ['photos'] });
// The folder's own random credentials: there is no fixed public pair.
const s3 = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
try {
  await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt', Body: 'hello, S3', ChecksumAlgorithm: 'SHA256' }));
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: 'photos' }));
  for (const o of Contents) console.log(`listed ${o.Key} (${o.Size} bytes)`);
  const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' }));
  console.log(`read back: ${await got.Body.transformToString()}`);
} finally {
  s3.destroy();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
