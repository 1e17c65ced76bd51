// The deployment zip's resize handler on the Node Lambda runs (nodejs22.x), not on this machine's
// Node 20: the zip is unzipped into a folder that cannot see this project's node_modules and its
// index.mjs is run by a real Node 22 (from npm, test/helpers/node22.ts) against the embedded S3
// server, over the HEIC set of test/helpers/heic-set.ts, one at a time and four at once. It is
// the only test that decodes a HEIC with the decoder as bundled into the zip: with libheif-js left
// out of the bundle every good HEIC gets a failure record here and nowhere else.
import { spawn } from 'node:child_process';
import { collect } from './helpers/cli.js';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SPEC } from '../src/core/spec.js';
import { functionSettings } from '../src/deploy/function-config.js';
import { buildPackage } from '../src/deploy/package.js';
import { s3EventRecord } from '../src/core/s3-event.js';
import { extractZip } from './helpers/deploy-zip.js';
import { expectResized, makeAfterHeic, makeMixedSet, type SetImage } from './helpers/heic-set.js';
import { tempDir } from './helpers/images.js';
import { node22 } from './helpers/node22.js';
import { getObjectBytes, listAll, s3Client } from './helpers/s3.js';
import { have, TOOLS } from './helpers/tools.js';

const SOURCE = 'imgpipe-source';
const DEST = 'imgpipe-dest';
const WHO = 'lambda-node22.test';
const hasHeifEnc = have(TOOLS.heifEnc, WHO);
const NODE22 = hasHeifEnc ? await node22(WHO) : undefined;

// Groups of events, one group after the other; within a group `at` handler calls at once, each
// taking the next event when its last one is done. Writes what it saw to a file: the handler logs
// JSON lines on stdout, as on Lambda.
const RUNNER = `
import { readFile, writeFile } from 'node:fs/promises';
const [eventsFile, resultFile, at] = process.argv.slice(2);
const { handler } = await import('./index.mjs');
const groups = JSON.parse(await readFile(eventsFile, 'utf8'));
const outcomes = [];
for (const events of groups) {
  let next = 0;
  const lane = async () => {
    for (let i; (i = next++) < events.length; ) {
      outcomes.push(await handler(events[i]).then((r) => r.outcomes[0], (e) => ({ key: events[i].Records[0].s3.object.key, status: 'threw', error: e.message })));
    }
  };
  await Promise.all(Array.from({ length: Number(at) }, lane));
}
await writeFile(resultFile, JSON.stringify({ version: process.version, outcomes }));
`;

/** Run the runner with `node` in `cwd`, with exactly `env`. */
function run(node: string, cwd: string, env: NodeJS.ProcessEnv, args: string[]) {
  return collect(spawn(node, ['runner.mjs', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe.skipIf(!NODE22)('the deployment zip\'s resize handler on Node 22, over the HEIC set', () => {
  let taskRoot: string;
  let dataDir: string;
  let imagesDir: string;
  let server: LocalS3;
  let s3: S3Client;
  let set: SetImage[];
  let after: SetImage;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [taskRoot, dataDir, imagesDir] = await Promise.all([tempDir('imgpipe-node22-task-'), tempDir('imgpipe-node22-s3-'), tempDir('imgpipe-node22-set-')]);
    // The zip for this machine's architecture: its sharp binaries must load here.
    const pkg = await buildPackage({ handler: 'resize', arch: process.arch === 'arm64' ? 'arm64' : 'x86_64', runtime: 'nodejs22.x' });
    await extractZip(pkg.zip, taskRoot);
    await writeFile(path.join(taskRoot, 'runner.mjs'), RUNNER);
    set = await makeMixedSet(imagesDir);
    after = await makeAfterHeic(imagesDir);
    server = await startLocalS3({ dataDir, port: 0, buckets: [SOURCE, DEST] });
    s3 = s3Client(server);
    const { variables } = functionSettings({ handler: 'resize', runtime: 'nodejs22.x', arch: pkg.arch, destBucket: DEST, sourceBucket: SOURCE, spec: DEFAULT_SPEC });
    // The function's environment, what the Lambda sandbox adds, and the SDK's own endpoint setting
    // (the handler's code is exactly what runs on AWS); nothing of this machine's.
    env = {
      ...variables,
      PATH: '/usr/bin:/bin',
      HOME: taskRoot,
      LAMBDA_TASK_ROOT: taskRoot,
      AWS_REGION: server.region,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
    };
  }, 300_000);

  afterAll(async () => {
    s3?.destroy();
    await server?.close();
    for (const d of [taskRoot, dataDir, imagesDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  /** Upload `images` under `prefix` and give the handler one ObjectCreated event for each. */
  async function eventsFor(prefix: string, images: SetImage[]) {
    const events = [];
    for (const image of images) {
      const body = await readFile(image.file);
      const key = prefix + image.name;
      const put = await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: body }));
      // The object's real ETag, as S3 puts it in the event: the handler reads only those bytes.
      const record = s3EventRecord({ bucket: SOURCE, key, size: body.length, eTag: put.ETag!.replace(/"/g, ''), eventName: 'ObjectCreated:Put', eventTime: new Date().toISOString() }, server.region);
      events.push({ Records: [record] });
    }
    return events;
  }

  describe.each([1, 4])('%i handler call(s) at once in one fresh process', (at) => {
    it('every good image is resized and recorded, the corrupt HEIC gets a failure record, and a HEIC after the set is done too', async () => {
      const prefix = `uploads/at${at}/`;
      const groups = [await eventsFor(prefix, set), await eventsFor(prefix, [after])];
      await writeFile(path.join(taskRoot, `events-${at}.json`), JSON.stringify(groups));
      const r = await run(NODE22!, taskRoot, env, [`events-${at}.json`, `result-${at}.json`, String(at)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { version, outcomes } = JSON.parse(await readFile(path.join(taskRoot, `result-${at}.json`), 'utf8'));
      expect(version).toMatch(/^v22\./);

      // One outcome per event; at 4 at once they finish in any order, the HEIC after the set last.
      const byKey = new Map(outcomes.map((o: { key: string }) => [o.key, o]));
      expect(outcomes).toHaveLength(set.length + 1);
      expect(outcomes.at(-1).key).toBe(prefix + after.name);
      for (const image of [...set, after]) {
        expect(byKey.get(prefix + image.name), image.name).toEqual(
          image.corrupt
            ? expect.objectContaining({ status: 'failed', retry: false, code: 'corrupt', error: expect.stringMatching(/^corrupt or truncated image: HEIC: \S/) })
            : expect.objectContaining({ status: 'ok', outputs: expect.any(Array) }),
        );
      }
      // The handler's own log line for the one failure, as CloudWatch would show it.
      const failures = r.stdout.split('\n').filter((l) => l.includes('"level":"error"')).map((l) => JSON.parse(l));
      expect(failures).toEqual([expect.objectContaining({ msg: 'resize failed', key: prefix + 'corrupt.heic', code: 'corrupt', retry: false })]);

      // What the bucket holds, read back with sharp: each variant's format and size, the records.
      const dest = { list: async () => (await listAll(s3, DEST)).filter((k) => k.includes(prefix)), get: (key: string) => getObjectBytes(s3, DEST, key) };
      await expectResized(dest, prefix, [...set, after], DEFAULT_SPEC);
    }, 300_000);
  });
});
