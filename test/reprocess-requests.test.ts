// POST /reprocess's cost in S3 requests (lambda/reprocess.ts), against the local stack's real S3
// server, counted on the client the handler is given: a photo already made with the pipeline's
// spec costs one GET of its record, whatever else; only a photo that may be queued is listed
// (its source must be there to be queued). A second `reprocess --all` over 100,000 photos is then
// 100,000 requests, not 200,000.
import { mkdir, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerReprocess, type ReprocessConfig } from '../lambda/reprocess.js';
import { DEFAULT_SPEC, parseSpec, widthVariants } from '../src/core/spec.js';
import { createS3Client } from '../src/s3/client.js';
import { runCli } from './helpers/cli.js';
import * as img from './helpers/images.js';
import { startTestStack, type TestStack } from './helpers/stack.js';

describe('POST /reprocess: S3 requests per photo', () => {
  let stack: TestStack;
  let keys: string[];
  const sent: string[] = [];
  let config: ReprocessConfig;
  const queued: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    const cwd = await img.tempDir('imgpipe-reprocess-requests-');
    await stack.adopt(cwd);
    await mkdir(path.join(cwd, 'photos'));
    for (const p of ['mate-Aqua.jpg', 'plasma-Grey.jpg', 'mate-Wood.jpg']) await copyFile(img.corpusFile(p), path.join(cwd, 'photos', p));
    const up = await runCli(['upload', 'photos', '--local', '--wait', '--json'], { cwd });
    expect(up.code, up.stderr).toBe(0);
    keys = (JSON.parse(up.stdout) as { keys: string[] }).keys;
    const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
    s3.middlewareStack.add((next, context) => (args) => (sent.push(context.commandName as string), next(args)), { step: 'initialize', name: 'countRequests' });
    config = { s3, bucket: stack.sourceBucket, destBucket: stack.destBucket, keyPrefix: 'uploads', spec: DEFAULT_SPEC, requeue: async (o) => void queued.push(o.key) };
  }, 120_000);
  afterAll(async () => {
    config?.s3.destroy();
    await stack?.stop();
  });

  const count = (name: string) => sent.filter((c) => c === name).length;

  it("photos already made with the pipeline's spec: one GET of each record, no listing, nothing queued", async () => {
    sent.length = 0;
    const answers = await answerReprocess(config, keys, false);
    expect(answers.map((a) => a.status)).toEqual(['current', 'current', 'current']);
    expect(sent).toEqual(['GetObjectCommand', 'GetObjectCommand', 'GetObjectCommand']);
    expect(queued).toEqual([]);
  });

  it('made with another spec: each listed (its source is there) and would be queued; a key with no source is missing', async () => {
    sent.length = 0;
    const other = { ...config, spec: parseSpec({ variants: widthVariants([200]) }) };
    const ghost = keys[0].replace(/[^/]+$/, 'never-uploaded.jpg');
    const answers = await answerReprocess(other, [...keys, ghost], true);
    expect(answers.map((a) => [a.status, 'why' in a ? a.why : undefined])).toEqual([['would-queue', 'spec'], ['would-queue', 'spec'], ['would-queue', 'spec'], ['missing', undefined]]);
    expect(count('ListObjectsV2Command')).toBe(4);
    expect(queued).toEqual([]); // a dry run
  });
});
