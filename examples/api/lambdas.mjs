// The two Lambda handlers in this process, as AWS would call them: the presign API answers a
// pre-signed PUT for a photo, the photo goes to that URL, and the resize handler gets the S3
// event and writes the variants. A local S3 server stands in for S3.
// Run: node examples/api/lambdas.mjs
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '@imgpipe/local-s3';
import { createPresignHandler, PRESIGN_DEFAULTS } from 'imgpipe/lambda/presign';
import { createResizeHandler } from 'imgpipe/lambda/resize';
import { DEFAULT_SPEC } from 'imgpipe';

const photo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'photos', 'mate-Aqua.jpg');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-lambdas-'));
const server = await startLocalS3({ dataDir, buckets: ['photos', 'photos-resized'] });
const s3 = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
try {
  // POST /uploads: the API picks the key (from the content) and signs type, length and checksum.
  const presign = createPresignHandler({ ...PRESIGN_DEFAULTS, bucket: 'photos', s3 });
  const bytes = await readFile(photo);
  const sha256 = createHash('sha256').update(bytes).digest('base64');
  const answer = await presign({ httpMethod: 'POST', path: '/uploads', body: JSON.stringify({ files: [{ name: 'mate-Aqua.jpg', size: bytes.length, contentType: 'image/jpeg', sha256 }] }) });
  const [grant] = JSON.parse(answer.body).uploads;
  console.log(`presigned ${grant.key} (HTTP ${answer.statusCode})`);
  const put = await fetch(grant.url, { method: 'PUT', headers: grant.headers, body: bytes });
  console.log(`PUT ${put.status}`);

  // The S3 ObjectCreated event, as S3 sends it to the resize function.
  const resize = createResizeHandler({ s3, destBucket: 'photos-resized', spec: DEFAULT_SPEC, cacheControl: 'public, max-age=31536000, immutable', log: () => {} }); // log: its JSON lines (default: stdout)
  const event = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'photos' }, object: { key: encodeURIComponent(grant.key).replace(/%2F/g, '/'), size: bytes.length } } }] };
  const { outcomes } = await resize(event);
  for (const o of outcomes[0].outputs ?? []) console.log(`${o.variant} ${o.width}x${o.height} ${o.bytes} bytes → ${o.key}`);
  console.log(`resize: ${outcomes[0].status}`);
  process.exitCode = outcomes[0].status === 'ok' ? 0 : 1;
} finally {
  s3.destroy();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}
