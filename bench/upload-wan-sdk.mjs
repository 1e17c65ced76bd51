#!/usr/bin/env node
// bench/upload-wan-sdk.mjs — the "plain SDK" peer of bench/upload-wan.mjs: every file of DIR
// through @aws-sdk/lib-storage's Upload (multipart above partSize, one PutObject below), FILES at
// once, each Upload with queueSize parts in flight.
// usage: node bench/upload-wan-sdk.mjs DIR BUCKET PREFIX [FILES=10] [PART_MIB=8] [QUEUE=4]
// env: ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
import fs from 'node:fs';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const [dir, bucket, prefix, filesAt = '10', partMiB = '8', queue = '4'] = process.argv.slice(2);
const s3 = new S3Client({
  endpoint: process.env.ENDPOINT, region: process.env.AWS_REGION, forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});
const files = fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
let next = 0;
const partSize = Math.round(Number(partMiB) * 1024 * 1024);
async function worker() {
  while (next < files.length) {
    const f = files[next++];
    const up = new Upload({
      client: s3, partSize, queueSize: Number(queue), leavePartsOnError: false,
      params: { Bucket: bucket, Key: prefix + f, Body: fs.createReadStream(path.join(dir, f)), ContentType: 'image/tiff' },
    });
    await up.done();
  }
}
await Promise.all(Array.from({ length: Math.min(Number(filesAt), files.length) }, worker));
console.log(JSON.stringify({ files: files.length }));
