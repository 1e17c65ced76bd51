#!/usr/bin/env node
// bench/upload-sdk-put.mjs — the "bare SDK" peer of the upload benchmark: every file of DIR to
// s3://BUCKET/PREFIX<name> with @aws-sdk/client-s3 PutObjectCommand, CONCURRENCY at a time.
// A port of ../shared/bench/sdk-put.mjs using this project's node_modules: Body is a
// fs.createReadStream with ContentLength, requestChecksumCalculation 'WHEN_REQUIRED', path-style
// addressing, and an http.Agent with maxSockets = max(50, CONCURRENCY) so 64 really is 64.
// Prints one JSON line: files, bytes, seconds, concurrency, t0 (epoch ms) and done: [[key, epoch ms]]
// (when each PUT completed, for the pipeline latency). CHECKSUM=SHA256: each PUT carries the
// file's SHA-256, computed by the SDK as it streams and verified by the server (aws-chunked with
// a trailing checksum), the integrity an imgpipe PUT has (its SHA-256 signed into the URL).
//
// usage: node bench/upload-sdk-put.mjs DIR BUCKET PREFIX [CONCURRENCY=16]
// env:   ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (us-east-1), CHECKSUM
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';

const [dir, bucket, prefix = '', concArg = '16'] = process.argv.slice(2);
if (!dir || !bucket || !process.env.ENDPOINT) {
  console.error('usage: ENDPOINT=http://... node bench/upload-sdk-put.mjs DIR BUCKET PREFIX [CONCURRENCY]');
  process.exit(2);
}
const conc = Number(concArg);
const client = new S3Client({
  endpoint: process.env.ENDPOINT,
  region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1',
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: Math.max(50, conc) }) },
});

const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.') && fs.statSync(path.join(dir, n)).isFile()).sort();
const limit = pLimit(conc);
const t0 = Date.now();
const h0 = process.hrtime.bigint();
let bytes = 0;
const done = [];
await Promise.all(names.map((n) => limit(async () => {
  const p = path.join(dir, n);
  const size = fs.statSync(p).size;
  const checksum = process.env.CHECKSUM ? { ChecksumAlgorithm: process.env.CHECKSUM } : {};
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + n, Body: fs.createReadStream(p), ContentLength: size, ...checksum }));
  bytes += size;
  done.push([prefix + n, Date.now()]);
})));
const s = Number(process.hrtime.bigint() - h0) / 1e9;
client.destroy();
console.log(JSON.stringify({ files: names.length, bytes, seconds: +s.toFixed(3), concurrency: conc, t0, done }));
