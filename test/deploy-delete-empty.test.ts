// `deploy --delete [--empty-buckets]`, the one path that deletes photos, against the real local S3
// server: buckets of more than 1,000 objects (ListObjectsV2 pages of 1,000, DeleteObjects of
// 1,000), the question asked on a real terminal (answered no, then yes), the refusal without a
// terminal, and --yes. CloudFormation and STS are the project's fake endpoint (nothing else here
// speaks them); every bucket and object is on the local S3 server.
import { startLocalS3, type LocalS3 } from '@imgpipe/local-s3';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keysOnlyEnv } from './helpers/aws-env.js';
import { BIN, runCli } from './helpers/cli.js';
import { ACCOUNT, CREDENTIALS, REGION, startFakeCloudFormation, type FakeCloudFormation } from './helpers/fake-cloudformation.js';
import { tempDir } from './helpers/images.js';
import { runInPty } from './helpers/pty.js';
import { ROOT } from './helpers/readme.js';
import { listAll, s3Client } from './helpers/s3.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_SCRIPT = have(TOOLS.script, 'deploy-delete-empty.test');
const STACK = 'photos';
const SOURCE = `photos-uploads-${ACCOUNT}-${REGION}`;
const DEST = `photos-variants-${ACCOUNT}-${REGION}`;
const ARTIFACTS = `imgpipe-artifacts-${ACCOUNT}-${REGION}`;
// Three listing pages in the uploads bucket (the last one partial), two in the variants bucket.
const COUNTS: Record<string, number> = { [SOURCE]: 2345, [DEST]: 1001 };
const NO_TERMINAL = 'imgpipe: --empty-buckets deletes every photo in both buckets: pass --yes as well (there is no terminal to ask on)\n';

describe('deploy --delete --empty-buckets against the local S3 server', () => {
  let fake: FakeCloudFormation;
  let server: LocalS3;
  let s3: S3Client;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let template: string;

  beforeAll(async () => {
    fake = await startFakeCloudFormation();
    cwd = await tempDir('imgpipe-delete-empty-');
    // fsync off: durability is not what is tested, and 3,000 objects are put before each test.
    server = await startLocalS3({ dataDir: path.join(cwd, 's3'), port: 0, buckets: [], credentials: CREDENTIALS, fsync: false });
    const endpoint = `http://127.0.0.1:${server.port}`;
    s3 = s3Client({ endpoint, region: REGION, credentials: CREDENTIALS });
    env = keysOnlyEnv(cwd, CREDENTIALS, REGION, { AWS_ENDPOINT_URL_CLOUDFORMATION: fake.endpoint, AWS_ENDPOINT_URL_STS: fake.endpoint, AWS_ENDPOINT_URL_S3: endpoint });
    template = await readFile(path.join(ROOT, 'infra', 'template.yaml'), 'utf8');
    await s3.send(new CreateBucketCommand({ Bucket: ARTIFACTS }));
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: 'imgpipe/resize-x86_64-0123.zip', Body: 'a zip' }));
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
    await fake?.close();
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  /** A deployed stack as CloudFormation holds it, its two (retained) buckets full on the local S3 server. */
  beforeEach(async () => {
    fake.reset();
    Object.assign(fake.world, { changeSetPolls: 0, eventsPerPoll: 1000 });
    const stack = fake.world.addStack(STACK, 'CREATE_COMPLETE', { template, parameters: { SourceBucketName: SOURCE, DestBucketName: DEST } });
    for (const [logicalId, bucket] of [['SourceBucket', SOURCE], ['DestBucket', DEST]]) {
      stack.resources.set(logicalId, { logicalId, type: 'AWS::S3::Bucket', physicalId: bucket, status: 'CREATE_COMPLETE' });
      if ((await listBuckets()).includes(bucket)) continue;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const limit = pLimit(16);
      await Promise.all(Array.from({ length: COUNTS[bucket] }, (_, i) => limit(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: `uploads/album-${i % 7}/IMG_${String(i).padStart(5, '0')}.jpg`, Body: `photo ${i}` })))));
    }
    fake.calls.length = 0;
  }, 120_000);

  async function listBuckets(): Promise<string[]> {
    const present: string[] = [];
    for (const b of [SOURCE, DEST]) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: b }));
        present.push(b);
      } catch {
        // absent
      }
    }
    return present;
  }

  /** Both buckets, every object, and the stack: untouched. */
  async function expectNothingDeleted(): Promise<void> {
    expect((await listAll(s3, SOURCE)).length).toBe(COUNTS[SOURCE]);
    expect((await listAll(s3, DEST)).length).toBe(COUNTS[DEST]);
    expect(fake.world.find(STACK)?.status).toBe('CREATE_COMPLETE');
    expect(fake.ops()).not.toContain('cloudformation:DeleteStack');
  }

  async function expectBucketsGone(): Promise<void> {
    expect(await listBuckets()).toEqual([]);
    expect(fake.world.find(STACK)).toBeUndefined();
    // The artifacts bucket was never the stack's: it stays, with its zip.
    expect(await listAll(s3, ARTIFACTS)).toEqual(['imgpipe/resize-x86_64-0123.zip']);
  }

  it('without a terminal and without --yes: one line, exit 2, not one AWS call, nothing deleted', async () => {
    const r = await runCli(['deploy', '--delete', '--empty-buckets', '--stack', STACK], { cwd, env });
    expect(r.stderr).toBe(NO_TERMINAL);
    expect(r.code).toBe(2);
    expect(fake.ops()).toEqual([]);
    await expectNothingDeleted();
  }, 60_000);

  it('--yes without a terminal: the stack goes, then both buckets, a thousand keys a request, every object counted', async () => {
    const r = await runCli(['deploy', '--delete', '--empty-buckets', '--yes', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ ok: true, action: 'deleted', keptBuckets: [], artifactsBucket: ARTIFACTS });
    expect(s.removedBuckets).toEqual([
      { bucket: SOURCE, objects: COUNTS[SOURCE] },
      { bucket: DEST, objects: COUNTS[DEST] },
    ]);
    const count = (op: string) => s.calls.filter((c: string) => c === op).length;
    // 2,345 keys: 3 full-or-partial pages and the empty one that ends the loop; 1,001: 2 and 1.
    expect(count('s3:ListObjectsV2')).toBe(4 + 3);
    expect(count('s3:DeleteObjects')).toBe(3 + 2);
    expect(count('s3:DeleteBucket')).toBe(2);
    await expectBucketsGone();
  }, 120_000);

  describe.skipIf(!HAS_SCRIPT)('on a terminal', () => {
    /** Run in a pty, answer the question with `answer`, return the run's end. */
    async function answered(args: string[], answer: string): Promise<{ code: number | null; output: string; question: string }> {
      const run = runInPty(BIN, ['deploy', '--delete', '--stack', STACK, ...args], { cwd, cols: 300, env: { ...env, NO_COLOR: '1' }, timeoutMs: 120_000, input: true });
      const ended = run.done.then(() => undefined);
      for (;;) {
        const question = /Delete stack [^\r\n]*Type yes: /.exec(run.output())?.[0];
        if (question) {
          run.type(`${answer}\r`);
          return { ...(await run.done), question };
        }
        // The question never came: the run's output says why.
        if (await Promise.race([ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 20))])) return { ...(await run.done), question: '' };
      }
    }

    it('--empty-buckets asks, naming both buckets and the kept artifacts bucket; "no" deletes nothing, exit 1', async () => {
      const r = await answered(['--empty-buckets'], 'no');
      expect(r.question).toBe(`Delete stack ${STACK} in ${REGION}, and s3://${SOURCE} and s3://${DEST} with every object in them, for good? Kept: the artifacts bucket s3://${ARTIFACTS} (the Lambda zips). Type yes: `);
      expect(r.output).toContain('imgpipe deploy: not confirmed: nothing was deleted');
      expect(r.code).toBe(1);
      await expectNothingDeleted();
    }, 120_000);

    it('--empty-buckets answered "yes": stack, buckets and every object gone, counted', async () => {
      const r = await answered(['--empty-buckets'], 'yes');
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain(`removed s3://${SOURCE} and its ${COUNTS[SOURCE]} objects`);
      expect(r.output).toContain(`removed s3://${DEST} and its ${COUNTS[DEST]} objects`);
      expect(r.output).toContain(`kept: the artifacts bucket s3://${ARTIFACTS}`);
      await expectBucketsGone();
    }, 120_000);

    it('--delete alone asks too, says what is kept and names --empty-buckets; "yes" deletes the stack and keeps every photo', async () => {
      const r = await answered([], 'yes');
      expect(r.question).toBe(`Delete stack ${STACK} in ${REGION}? Kept, with their objects: s3://${SOURCE} and s3://${DEST} (--empty-buckets deletes them too), and the artifacts bucket s3://${ARTIFACTS} (the Lambda zips). Type yes: `);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain(`kept (with their objects): s3://${SOURCE}, s3://${DEST}`);
      expect(r.output).not.toContain('aws s3 rb');
      expect(fake.world.find(STACK)).toBeUndefined();
      expect((await listAll(s3, SOURCE)).length).toBe(COUNTS[SOURCE]);
      expect((await listAll(s3, DEST)).length).toBe(COUNTS[DEST]);
    }, 120_000);
  });
});
