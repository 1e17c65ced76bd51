// `imgpipe dev`: run the embedded local stack until Ctrl-C; `--show-credentials` prints how to reach it.
import { Command } from 'commander';
import path from 'node:path';
import { loadConfig, type SpecFlags } from '../config/load.js';
import { clearDevState, DEFAULT_DATA_DIR, findRunningStack, writeDevState } from '../local/state.js';
import { addSpecOptions, port } from './common.js';

interface DevOptions extends SpecFlags {
  data: string;
  s3Port: number;
  apiPort: number;
  json?: boolean;
  showCredentials?: boolean;
  dedupe: boolean;
  config?: string;
}

/** The data folder's S3 credentials, as shell lines `eval` takes (or JSON), for aws-cli and SDKs. */
async function showCredentials(opts: DevOptions): Promise<void> {
  const { folderCredentials, LOCAL_S3_REGION } = await import('@imgpipe/local-s3');
  const creds = await folderCredentials(path.resolve(opts.data));
  const running = await findRunningStack();
  const endpoint = running && path.resolve(running.dataDir) === path.resolve(opts.data) ? running.s3Endpoint : undefined;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...creds, region: LOCAL_S3_REGION, endpoint: endpoint ?? null, data: opts.data })}\n`);
    return;
  }
  process.stdout.write(
    `AWS_ACCESS_KEY_ID=${creds.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}\nAWS_REGION=${LOCAL_S3_REGION}\n` +
      (endpoint ? `AWS_ENDPOINT_URL=${endpoint}\n` : `# no \`imgpipe dev\` is running on ${opts.data}: start it for the endpoint\n`),
  );
}

async function runDev(opts: DevOptions): Promise<void> {
  const { spec } = await loadConfig(opts.config, opts);
  const { startLocalStack } = await import('../local/stack.js');
  const json = !!opts.json;
  const apiKey = process.env.IMGPIPE_API_KEY || undefined;
  const stack = await startLocalStack({
    dataDir: opts.data,
    spec,
    s3Port: opts.s3Port,
    apiPort: opts.apiPort,
    apiKey,
    dedupe: opts.dedupe,
    log: (line) => {
      if (json) process.stdout.write(`${JSON.stringify(line)}\n`);
      else if (line.level === 'error') process.stderr.write(`resize failed: ${String(line.key)}: ${String(line.error)}\n`);
      else process.stdout.write(`resized ${String(line.key)} → ${(line.outputs as unknown[])?.length ?? 0} variants (${String(line.ms)} ms)\n`);
    },
  });
  await writeDevState({
    pid: process.pid,
    apiUrl: stack.apiUrl,
    s3Endpoint: stack.s3Endpoint,
    region: stack.region,
    sourceBucket: stack.sourceBucket,
    destBucket: stack.destBucket,
    dataDir: path.resolve(opts.data),
    credentials: stack.credentials,
    apiKey,
  });
  const endpoints = { page: `${stack.apiUrl}/`, api: `${stack.apiUrl}/uploads`, s3: stack.s3Endpoint, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, data: opts.data };
  if (json) process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'ready', ...endpoints })}\n`);
  else {
    process.stdout.write(
      `imgpipe dev: ready\n  upload page  ${stack.apiUrl}/\n  presign API  POST ${endpoints.api}${apiKey ? ' (x-api-key required)' : ''}\n` +
        `  S3 endpoint  ${endpoints.s3} (buckets ${endpoints.sourceBucket} → ${endpoints.destBucket}; credentials: imgpipe dev --show-credentials)\n` +
        `  data         ${opts.data}\nIn another terminal: imgpipe upload PHOTOS --local --wait. Ctrl-C stops.\n`,
    );
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await clearDevState();
  await stack.close();
  if (!json) process.stdout.write('imgpipe dev: stopped\n');
}

export function devCommand(): Command {
  const cmd = new Command('dev')
    .description('run the pipeline on this machine: an S3-protocol server with both buckets, the presign API, and the resize handler on every upload')
    .option('--data <dir>', 'where objects, the event queue and the S3 credentials are kept (across restarts)', DEFAULT_DATA_DIR)
    .option('--s3-port <port>', 'S3 server port, 0 for any free one', port, 4566)
    .option('--api-port <port>', 'presign API port, 0 for any free one', port, 4567)
    .option('--no-dedupe', 'presign every file, even content the source bucket already holds')
    .option('--show-credentials', "print the data folder's S3 access key, secret, region and endpoint as shell lines (eval them for aws-cli), then exit")
    .option('--json', 'log one JSON object per line');
  addSpecOptions(cmd);
  return cmd.action(async (opts: DevOptions) => (opts.showCredentials ? showCredentials(opts) : runDev(opts)));
}
