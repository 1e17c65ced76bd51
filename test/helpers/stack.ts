// Start the embedded stack for a test, and make it the "running `imgpipe dev`" of a folder.
import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { DEFAULT_SPEC, type Spec } from '../../src/core/spec.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/local/stack.js';
import { STATE_FILE, writeDevState } from '../../src/local/state.js';
import { createS3Client } from '../../src/s3/client.js';
import { tempDir } from './images.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { getObjectBytes, listAll } from './s3.js';

export interface TestStack extends LocalStack {
  s3: S3Client;
  dir: string;
  /** Make this in-process stack the running `imgpipe dev` of `cwd`, with the product's own state writer. */
  adopt(cwd: string): Promise<void>;
  list(bucket: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export async function startTestStack(opts: Partial<LocalStackOptions> & { spec?: Spec } = {}): Promise<TestStack> {
  const dir = await tempDir('imgpipe-stack-');
  const stack = await startLocalStack({ dataDir: path.join(dir, 'data'), spec: opts.spec ?? DEFAULT_SPEC, ...opts });
  const s3 = createS3Client({ endpoint: stack.s3Endpoint, region: stack.region, credentials: stack.credentials });
  return Object.assign(stack, {
    s3,
    dir,
    async adopt(cwd: string) {
      await writeDevState(
        { pid: process.pid, apiUrl: stack.apiUrl, s3Endpoint: stack.s3Endpoint, region: stack.region, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, dataDir: dir, credentials: stack.credentials },
        path.join(cwd, STATE_FILE),
      );
    },
    list: (bucket: string) => listAll(s3, bucket),
    get: (bucket: string, key: string) => getObjectBytes(s3, bucket, key),
    async stop() {
      s3.destroy();
      await stack.close();
    },
  });
}

/**
 * A stack whose pre-signed URLs point at a fault proxy in front of its S3 (no faults unless the
 * test configures some): the proxy counts every PUT the uploads send.
 */
export async function startStackBehindProxy(opts: Partial<LocalStackOptions> = {}): Promise<{ stack: TestStack; proxy: FaultProxy; stop(): Promise<void> }> {
  let stack: TestStack | undefined;
  const proxy = await startFaultProxy({ target: () => stack!.s3Endpoint, flavor: 's3' });
  stack = await startTestStack({ trigger: false, urlEndpoint: proxy.url, ...opts });
  return {
    stack,
    proxy,
    async stop() {
      await stack?.stop();
      await proxy.close();
    },
  };
}
