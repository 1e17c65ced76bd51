// `watch` against a deployed pipeline shows the backlog from the resize queue whose URL `deploy`
// wrote into imgpipe.config.json (`queue`): on moto's SQS and S3, through the real CLI. A queue the
// user may not read costs a note, not the wait.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keysOnlyEnv } from './helpers/aws-env.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/images.js';
import { startMoto, type Moto } from './helpers/moto.js';
import { have, TOOLS } from './helpers/tools.js';

const HAS_MOTO = have(TOOLS.moto, 'watch-aws-backlog.test');
const KEYS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const PENDING = ['uploads/aaaa/one.jpg', 'uploads/bbbb/two.jpg'];

describe.skipIf(!HAS_MOTO)('watch on AWS: the backlog from the resize queue (moto)', () => {
  let moto: Moto;
  let cwd: string;
  let queue: string;
  beforeAll(async () => {
    moto = await startMoto();
    const client = { endpoint: moto.endpoint, region: 'us-east-1', credentials: KEYS };
    const s3 = new S3Client({ ...client, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'imgpipe-variants' }));
    const sqs = new SQSClient(client);
    queue = (await sqs.send(new CreateQueueCommand({ QueueName: 'imgpipe-resize' }))).QueueUrl!;
    for (let i = 0; i < 3; i++) await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: `{"n":${i}}` }));
    // One taken by a resize: in flight for a minute.
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }));
    [s3, sqs].forEach((c) => c.destroy());
    cwd = await tempDir('imgpipe-watch-aws-');
  }, 60_000);
  afterAll(async () => moto?.close());

  const watch = (config: Record<string, unknown>) =>
    writeFile(path.join(cwd, 'imgpipe.config.json'), JSON.stringify(config)).then(() =>
      runCli(['watch', ...PENDING, '--timeout', '2', '--json'], { cwd, env: keysOnlyEnv(cwd, KEYS, 'us-east-1', { AWS_ENDPOINT_URL_SQS: moto.endpoint }), timeoutMs: 60_000 }),
    );

  it('a watch that times out says how deep the queue is (the whole queue, as SQS counts it)', async () => {
    const r = await watch({ destBucket: 'imgpipe-variants', endpoint: moto.endpoint, region: 'us-east-1', queue });
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ timedOut: true, missing: PENDING, backlog: { queued: 2, inFlight: 1, wholeQueue: true } });
    expect(r.stderr).toContain("timed out after 2.00 s: 2 of 2 images have no record; the pipeline's queue (every upload's photos) still holds 2 queued, 1 resizing: run the same watch again to wait on:");
  });

  it('a queue that cannot be read: one note, and the watch still ends as the records say', async () => {
    const r = await watch({ destBucket: 'imgpipe-variants', endpoint: moto.endpoint, region: 'us-east-1', queue: `${queue}-gone` });
    expect(r.code, r.stderr).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ timedOut: true, missing: PENDING });
    expect(JSON.parse(r.stdout).backlog).toBeUndefined();
    expect(r.stderr.match(/^note: no backlog shown, the queue could not be read \(.+\)$/gm)).toHaveLength(1);
  });
});
