// runUpload: the `imgpipe upload` job as a function, against the embedded local stack
// (startLocalStack: S3, the presign API and the resize, in this process). It prints nothing
// itself: progress comes as events, and it returns one record per file.
// Run: node examples/api/upload.mjs [folder]   (default: examples/photos)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_SPEC, runUpload, startLocalStack } from 'imgpipe';

const folder = process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'photos');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'imgpipe-example-'));
const stack = await startLocalStack({ dataDir, spec: DEFAULT_SPEC });
try {
  const result = await runUpload({
    paths: [folder],
    spec: DEFAULT_SPEC,
    api: stack.apiUrl,
    manifestPath: path.join(dataDir, 'last-upload.json'),
    ledgerPath: path.join(dataDir, 'ledger.jsonl'),
    destination: { pipeline: `local:${dataDir}`, destBucket: stack.destBucket, local: true },
    onEvent: (e) => e.type === 'file-failed' && console.error(`error ${e.file.path}: ${e.file.error}`),
    signal: AbortSignal.timeout(120_000),
  });
  for (const f of result.uploads) console.log(`${f.status} ${f.relPath}${f.key ? ` → ${f.key}` : ''}`);
  console.log(`${result.uploaded} uploaded, ${result.exists} already there, ${result.failed} failed`);

  await stack.idle(); // every resize the uploads fired has ended
  const s3 = new S3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials, forcePathStyle: true });
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: stack.destBucket }));
  s3.destroy();
  // Variants are <variant>/<version>/<source key>; the records live under _imgpipe/.
  console.log(`${Contents.filter((o) => !o.Key.startsWith('_imgpipe/')).length} variants in ${stack.destBucket}`);
  process.exitCode = result.ok ? 0 : 1;
} finally {
  await stack.close();
  await rm(dataDir, { recursive: true, force: true });
}
