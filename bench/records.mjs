#!/usr/bin/env node
// bench/records.mjs — what the per-image records cost and save.
//  1. The resize handler's added time per image for the record (ThumbHash + stats + EXIF), as a
//     share of the resize itself, on the test photos; and the record's size.
//  2. The S3 requests `watch` makes for N images: waiting for one record per image (now) against
//     waiting for every variant (before: the same polling over 3 variant prefixes), with the
//     outputs appearing over a few seconds as the resize queue drains them.
// usage: node bench/records.mjs   env: RECORDS_IMAGES (500)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { DEFAULT_SPEC } = await import(path.join(ROOT, 'dist/src/core/spec.js'));
const { resizeImage } = await import(path.join(ROOT, 'dist/src/core/resize.js'));
const { doneRecord } = await import(path.join(ROOT, 'dist/src/core/record.js'));
const { outputKeys, recordKey } = await import(path.join(ROOT, 'dist/src/core/keys.js'));
const { waitForRecords } = await import(path.join(ROOT, 'dist/src/s3/wait.js'));
const { createS3Client } = await import(path.join(ROOT, 'dist/src/s3/client.js'));
const { startLocalS3 } = await import('@imgpipe/local-s3');
const N = Number(process.env.RECORDS_IMAGES ?? 500);

// ---- 1. cost of the record per image
const dirs = [path.join(ROOT, '../shared/corpus'), path.join(ROOT, 'test/fixtures/corpus')].filter((d) => fs.existsSync(d));
const photos = fs.readdirSync(dirs[0]).filter((f) => /\.jpe?g$/i.test(f)).slice(0, 12).map((f) => path.join(dirs[0], f));
let resizeMs = 0;
let recordMs = 0;
const sizes = [];
for (const file of photos) {
  const input = fs.readFileSync(file);
  let t = performance.now();
  const { source, outputs, exif } = await resizeImage(input, DEFAULT_SPEC);
  resizeMs += performance.now() - t;
  t = performance.now();
  const rec = await doneRecord({ key: `uploads/x/${path.basename(file)}`, sha256: 'x', bytes: input.length, source, outputs, exif, spec: DEFAULT_SPEC });
  recordMs += performance.now() - t;
  sizes.push(Buffer.byteLength(JSON.stringify(rec)));
}
sizes.sort((a, b) => a - b);
console.log(`record cost: ${photos.length} photos, resize ${(resizeMs / photos.length).toFixed(0)} ms/image, record ${(recordMs / photos.length).toFixed(1)} ms/image ` +
  `(${((100 * recordMs) / resizeMs).toFixed(1)} % of the resize); record size median ${sizes[sizes.length >> 1]} B (${sizes[0]}–${sizes[sizes.length - 1]} B)`);

// ---- 2. requests of the wait
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgpipe-records-bench-'));
const s3server = await startLocalS3({ dataDir: dir, buckets: ['dest'] });
const s3 = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });
let requests = 0;
s3.middlewareStack.add((next) => async (args) => { requests++; return next(args); }, { step: 'initialize', name: 'countRequests' });
const writer = createS3Client({ endpoint: s3server.endpoint, region: s3server.region, credentials: s3server.credentials });

/** Make image i "done" as the handler would: its variants, then its record. */
const keyOf = (run, i) => `uploads/2026/12/0${run}/${String(i).padStart(5, '0')}/IMG_${i}.jpg`;
async function finish(run, i) {
  const key = keyOf(run, i);
  for (const o of outputKeys(key, DEFAULT_SPEC)) await writer.send(new PutObjectCommand({ Bucket: 'dest', Key: o.key, Body: 'v' }));
  const rec = { version: 1, status: 'done', source: { key }, variants: outputKeys(key, DEFAULT_SPEC).map((o) => ({ name: o.variant, key: o.key, width: 1, height: 1, bytes: 1 })) };
  await writer.send(new PutObjectCommand({ Bucket: 'dest', Key: recordKey(key), Body: JSON.stringify(rec) }));
  return key;
}
const keysOf = (run) => Array.from({ length: N }, (_, i) => keyOf(run, i));

/** The wait before records: one ListObjectsV2 walk per variant prefix per round (HEADs for ≤ 8). */
async function waitForVariants(expected) {
  let missing = expected;
  for (let round = 0; missing.length; round++) {
    const present = new Set();
    const byVariant = new Map();
    for (const o of missing) byVariant.set(o.variant, [...(byVariant.get(o.variant) ?? []), o]);
    for (const group of byVariant.values()) {
      let prefix = group[0].key;
      for (const o of group) while (!o.key.startsWith(prefix)) prefix = prefix.slice(0, -1);
      let token;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: 'dest', Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) present.add(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
    missing = missing.filter((o) => !present.has(o.key));
    if (missing.length) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 1.5 ** round)));
  }
}

async function measure(run, label, wait) {
  requests = 0;
  // The outputs appear over ~5 s, 100 images a second, as a busy resize queue would write them.
  const producing = (async () => { for (let i = 0; i < N; i += 10) { await Promise.all(Array.from({ length: Math.min(10, N - i) }, (_, j) => finish(run, i + j))); await new Promise((r) => setTimeout(r, 100)); } })();
  const t = performance.now();
  await wait(keysOf(run));
  await producing;
  console.log(`${label}: ${requests} requests for ${N} images in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

await measure(1, 'before (every variant, 3 prefixes)', (keys) => waitForVariants(keys.flatMap((k) => outputKeys(k, DEFAULT_SPEC).map((o) => ({ ...o, sourceKey: k })))));
await measure(2, 'after, records listed (watch, plain)', (keys) => waitForRecords({ s3, bucket: 'dest', sourceKeys: keys, timeoutMs: 60_000, readDone: false }));
await measure(3, 'after, records read (--json/--html/--download)', (keys) => waitForRecords({ s3, bucket: 'dest', sourceKeys: keys, timeoutMs: 60_000, readDone: true }));
s3.destroy();
writer.destroy();
await s3server.close();
fs.rmSync(dir, { recursive: true, force: true });
