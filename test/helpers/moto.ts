// moto's server (moto 5: a real implementation of the AWS APIs that nobody here wrote) on
// loopback, for tests of the AWS path. It is a Python package no npm registry serves: where it is
// absent the tests that need it skip, and say so (test/helpers/tools.ts; under CI=true they fail).
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { keysOnlyEnv } from './aws-env.js';
import { tempDir } from './images.js';

export interface Moto {
  endpoint: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d) => (log = (log + d).slice(-4000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** moto's default account, and the region the deploy tests use. */
export const MOTO_ACCOUNT = '123456789012';
export const MOTO_REGION = 'us-east-1';

/** What every deploy that brings a stack up in moto says and fails with: moto makes no HTTP API. */
export const noApiLine = (stack = 'imgpipe') =>
  `imgpipe deploy: the stack ${stack} gives no ApiUrl output (nor an HttpApi resource to derive it from): the config has no "api", so \`imgpipe upload\` has no API to call; see the stack's outputs with \`aws cloudformation describe-stacks --stack-name ${stack}\`\n`;

export interface DeployMoto {
  moto: Moto;
  /** A fresh working folder for the CLI. */
  cwd: string;
  /** Keys (moto's) and region only, nothing of this machine's AWS setup. */
  env: NodeJS.ProcessEnv;
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
}

/**
 * A moto of its own for `imgpipe deploy` through the CLI, with the artifacts bucket made
 * beforehand, as an existing --code-bucket would be: moto ignores a bucket policy's Condition, so
 * the TLS-only Deny of the bucket deploy makes would refuse every call there.
 */
export async function startDeployMoto(prefix: string): Promise<DeployMoto> {
  const moto = await startMoto();
  const cwd = await tempDir(prefix);
  const credentials = { accessKeyId: 'AKIDMOTO', secretAccessKey: 'moto-secret' };
  const clientConfig = { endpoint: moto.endpoint, region: MOTO_REGION, credentials };
  const env = keysOnlyEnv(cwd, credentials, MOTO_REGION, { AWS_ENDPOINT_URL: moto.endpoint });
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: `imgpipe-artifacts-${MOTO_ACCOUNT}-${MOTO_REGION}` }));
  } finally {
    s3.destroy();
  }
  return { moto, cwd, env, clientConfig };
}
