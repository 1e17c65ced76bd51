// `imgpipe dev`: run the embedded local stack until Ctrl-C.
import { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { clearDevState, DEFAULT_DATA_DIR, writeDevState } from '../local/state.js';
import { addSpecOptions, positiveInt } from './common.js';

export function devCommand(): Command {
  const cmd = new Command('dev')
    .description('run the pipeline on this machine: an S3-protocol server with both buckets, the presign API, and the resize handler on every upload')
    .option('--data <dir>', 'where objects are stored (kept across restarts)', DEFAULT_DATA_DIR)
    .option('--s3-port <port>', 'S3 server port (default: 4566)', positiveInt, 4566)
    .option('--api-port <port>', 'presign API port (default: 4567)', positiveInt, 4567)
    .option('--json', 'log one JSON object per line');
  addSpecOptions(cmd);
  return cmd.action(async (opts) => {
    const { spec } = await loadConfig(opts.config, opts);
    const { startLocalStack } = await import('../local/stack.js');
    const json = !!opts.json;
    const stack = await startLocalStack({
      dataDir: opts.data,
      spec,
      s3Port: opts.s3Port,
      apiPort: opts.apiPort,
      apiKey: process.env.IMGPIPE_API_KEY || undefined,
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
    });
    const endpoints = { api: `${stack.apiUrl}/uploads`, s3: stack.s3Endpoint, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, data: opts.data };
    if (json) process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'ready', ...endpoints })}\n`);
    else {
      process.stdout.write(
        `imgpipe dev: ready\n  presign API  POST ${endpoints.api}\n  S3 endpoint  ${endpoints.s3} (buckets ${endpoints.sourceBucket} → ${endpoints.destBucket})\n  data         ${opts.data}\n` +
          `In another terminal: imgpipe upload PHOTOS --local --wait. Ctrl-C stops.\n`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await clearDevState();
    await stack.close();
    if (!json) process.stdout.write('imgpipe dev: stopped\n');
  });
}
