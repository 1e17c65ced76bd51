// `imgpipe dev`: run the embedded local stack until Ctrl-C; `--show-credentials` prints how to reach it,
// `--aws-cli` the aws-cli command that reaches it without touching the shell.
import { Command, InvalidArgumentError } from 'commander';
import { createServer } from 'node:net';
import path from 'node:path';
import { loadConfig, type SpecFlags } from '../config/load.js';
import {
  clearDevState,
  clearDevStateSync,
  DEFAULT_DATA_DIR,
  findConflictingStack,
  findFolderStack,
  findRunningStack,
  STATE_FILE,
  userStateFile,
  writeDevState,
} from '../local/state.js';
import type { DevState } from '../local/dev-state.js';
import { awsCliCommand, writeAwsProfile } from '../local/aws-profile.js';
import { DEFAULT_RESIZE_CONCURRENCY, FUNCTION_DEFAULTS, RESIZE_CONCURRENCY_RANGE } from '../core/pipeline-defaults.js';
import { addExamples, addSpecOptions, EXIT, port, positiveInt, seconds } from './common.js';
import { cliName } from './invocation.js';
import { devLogLine } from '../ui/dev-log.js';
import { printable } from '../ui/format.js';

/** Ports no well-known local tool takes by default (LocalStack 4566, s3rver 4568, moto 5000, MinIO 9000/9001, Azurite 10000-10002). */
const DEFAULT_S3_PORT = 9466;
const DEFAULT_API_PORT = 9467;
const DEFAULT_CDN_PORT = 9468;

interface DevOptions extends SpecFlags {
  data: string;
  s3Port: number;
  apiPort: number;
  cdnPort: number;
  json?: boolean;
  showCredentials?: boolean;
  awsCli?: boolean;
  dedupe: boolean;
  config?: string;
  resizeTimeout: number;
  resizeConcurrency: number;
}

/** Lambda's bound on a function's timeout. */
const MAX_TIMEOUT_S = 900;

function resizeTimeout(value: string): number {
  const n = seconds(value);
  if (n > MAX_TIMEOUT_S) throw new InvalidArgumentError(`must be at most ${MAX_TIMEOUT_S} seconds (Lambda's longest timeout)`);
  return n;
}

function resizeConcurrency(value: string): number {
  const n = positiveInt(value);
  if (n > RESIZE_CONCURRENCY_RANGE.max) throw new InvalidArgumentError(`must be at most ${RESIZE_CONCURRENCY_RANGE.max} (SQS's bound for an event source's maximum concurrency)`);
  return n;
}

/** The data folder's S3 credentials, as shell lines `eval` takes (or JSON), for aws-cli and SDKs. */
async function showCredentials(opts: DevOptions): Promise<void> {
  const { folderCredentials, LOCAL_S3_REGION } = await import('@imgpipe/local-s3');
  const creds = await folderCredentials(path.resolve(opts.data));
  const running = (await findRunningStack()) ?? (await findRunningStack(userStateFile(opts.data)));
  const endpoint = running && path.resolve(running.dataDir) === path.resolve(opts.data) ? running.s3Endpoint : undefined;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ...creds, region: LOCAL_S3_REGION, endpoint: endpoint ?? null, data: opts.data })}\n`);
    return;
  }
  process.stdout.write(
    // `export`: after `eval`, aws-cli and the SDKs (child processes) must see them.
    `export AWS_ACCESS_KEY_ID=${creds.accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey}\nexport AWS_REGION=${LOCAL_S3_REGION}\n` +
      (endpoint ? `export AWS_ENDPOINT_URL=${endpoint}\n` : `# no \`imgpipe dev\` is running on ${opts.data}: start it for the endpoint\n`),
  );
}

/** The aws-cli command for this folder's running stack (its profile refreshed first), or why there is none. */
async function printAwsCli(opts: DevOptions): Promise<void> {
  const found = await findFolderStack(opts.data, undefined, undefined, (line) => process.stderr.write(`imgpipe dev: ${printable(line)}\n`));
  if (!found) {
    process.stderr.write(`imgpipe dev: no \`imgpipe dev\` runs for this folder (nor on ${opts.data}): start it first, in another terminal\n`);
    process.exitCode = EXIT.failed;
    return;
  }
  const file = await writeAwsProfile(found.state);
  process.stdout.write(`${awsCliCommand(file, found.state)}\n`);
}

/** Whether something already listens on 127.0.0.1:port (0: never). */
function portBusy(p: number): Promise<boolean> {
  if (p === 0) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES'));
    probe.listen(p, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

function portInUse(p: number, opts: DevOptions): string {
  const flag = p === opts.s3Port ? '--s3-port' : p === opts.apiPort ? '--api-port' : '--cdn-port';
  return `imgpipe dev: port ${p} is in use by another program: pass ${flag} PORT to choose another (0 picks a free one)\n`;
}

function alreadyRunning(other: DevState): string {
  return `imgpipe dev: already running (pid ${other.pid}): upload page ${other.apiUrl}/, S3 ${other.s3Endpoint} (data in ${other.dataDir})\n`;
}

/** Another `dev` on this data folder or these ports, or a port taken by another program: say so, exit 1. */
async function refuseToStart(opts: DevOptions): Promise<boolean> {
  const ports = [opts.s3Port, opts.apiPort, opts.cdnPort];
  const other = await findConflictingStack(opts.data, ports);
  const busy = other ? undefined : ports.find((p, i, all) => all.indexOf(p) !== i && p !== 0);
  let taken: number | undefined;
  for (const p of other || busy !== undefined ? [] : ports) if (taken === undefined && (await portBusy(p))) taken = p;
  const flags = ['--s3-port', '--api-port', '--cdn-port'].filter((_, i) => ports[i] === busy);
  if (other) process.stderr.write(alreadyRunning(other));
  else if (busy !== undefined) process.stderr.write(`imgpipe dev: ${flags.join(' and ')} are both ${busy}: give them different ports\n`);
  else if (taken !== undefined) process.stderr.write(portInUse(taken, opts));
  else return false;
  process.exitCode = EXIT.failed;
  return true;
}

async function runDev(opts: DevOptions): Promise<void> {
  const { spec } = await loadConfig(opts.config, opts);
  if (await refuseToStart(opts)) return;
  const { startLocalStack } = await import('../local/stack.js');
  const json = !!opts.json;
  const apiKey = process.env.IMGPIPE_API_KEY || undefined;
  const stack = await startLocalStack({
    dataDir: opts.data,
    spec,
    s3Port: opts.s3Port,
    apiPort: opts.apiPort,
    cdnPort: opts.cdnPort,
    apiKey,
    dedupe: opts.dedupe,
    resizeTimeoutMs: opts.resizeTimeout * 1000,
    resizeConcurrency: opts.resizeConcurrency,
    log: (line) => {
      if (json) return void process.stdout.write(`${JSON.stringify(line)}\n`);
      if (line.msg === 'START' || line.msg === 'END') return; // each instance's bracket lines: for machines (--json)
      const { stream, text } = devLogLine(line);
      process[stream].write(text);
    },
  }).catch((err: NodeJS.ErrnoException) => {
    // Taken between the check and now: a half-started stack may hold the other port, so exit here.
    if (err.code !== 'EADDRINUSE') throw err;
    process.stderr.write(portInUse((err as { port?: number }).port ?? opts.s3Port, opts));
    process.exit(EXIT.failed);
  });
  const stateFiles = [STATE_FILE, userStateFile(opts.data)];
  const state: DevState = {
    pid: process.pid,
    apiUrl: stack.apiUrl,
    cdnUrl: stack.cdnUrl,
    s3Endpoint: stack.s3Endpoint,
    region: stack.region,
    sourceBucket: stack.sourceBucket,
    destBucket: stack.destBucket,
    dataDir: path.resolve(opts.data),
    root: process.cwd(),
    credentials: stack.credentials,
    apiKey,
    startedAt: Date.now(),
  };
  process.once('exit', () => clearDevStateSync(stateFiles));
  for (const f of stateFiles) await writeDevState(state, f);
  await writeAwsProfile(state);
  // Listening before the banner is out: a Ctrl-C the moment it shows still stops the stack cleanly.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const endpoints = { page: `${stack.apiUrl}/`, api: `${stack.apiUrl}/uploads`, cdn: stack.cdnUrl, s3: stack.s3Endpoint, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, data: opts.data };
  if (json) process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'ready', ...endpoints })}\n`);
  else {
    const cli = cliName(); // `npx imgpipe` for a user without it on PATH
    // One fact a line, each well within 120 columns (the endpoints and buckets at their defaults).
    process.stdout.write(
      `imgpipe dev: ready\n  upload page  ${stack.apiUrl}/\n  presign API  POST ${endpoints.api}${apiKey ? ' (x-api-key required)' : ''}\n` +
        `  S3 endpoint  ${endpoints.s3} (buckets ${endpoints.sourceBucket} → ${endpoints.destBucket})\n` +
        `  CDN          ${endpoints.cdn}/<variant key> (${endpoints.destBucket}'s variants, read-only, no keys)\n` +
        `  aws-cli      $(${cli} dev --aws-cli) s3 ls s3://${endpoints.destBucket}\n` +
        `  data         ${opts.data}\nIn another terminal: ${cli} upload PHOTOS --local --wait. Ctrl-C stops.\n`,
    );
  }
  await stopped;
  for (const f of stateFiles) await clearDevState(f);
  await stack.close();
  if (!json) process.stdout.write('imgpipe dev: stopped\n');
}

export function devCommand(): Command {
  const cmd = new Command('dev')
    .description('run the pipeline on this machine: an S3-protocol server with both buckets, the presign API, and the resize handler on every upload')
    .option('--data <dir>', 'where objects, the event queue and the S3 credentials are kept (across restarts)', DEFAULT_DATA_DIR)
    .option('--s3-port <port>', 'S3 server port, 0 for any free one', port, DEFAULT_S3_PORT)
    .option('--api-port <port>', 'presign API port, 0 for any free one', port, DEFAULT_API_PORT)
    .option('--cdn-port <port>', "the local CDN's port (the variants, read-only, as CloudFront serves them), 0 for any free one", port, DEFAULT_CDN_PORT)
    .option('--resize-timeout <seconds>', `the resize function's timeout: the handler records a resize it cannot finish in it as \`timeout\`; one still running then is stopped and retried; the template's Timeout`, resizeTimeout, FUNCTION_DEFAULTS.resize.timeout)
    .option('--resize-concurrency <n>', "resizes at once, as the deployed queue's maximum concurrency; the template's ResizeConcurrency", resizeConcurrency, DEFAULT_RESIZE_CONCURRENCY)
    .option('--no-dedupe', 'presign every file, even content the source bucket already holds')
    .option('--show-credentials', "print the data folder's S3 access key, secret, region and endpoint as shell lines or --json, then exit (for programs; imgpipe refuses these keys for anything but the local stack)")
    .option('--aws-cli', "print the aws-cli command for this folder's running stack, through a profile in .imgpipe/aws-config (the shell keeps no keys): $(imgpipe dev --aws-cli) s3 ls s3://imgpipe-dest")
    .option('--json', 'log one JSON object per line');
  addSpecOptions(cmd);
  addExamples(cmd, [
    ['imgpipe dev', 'the local stack on 127.0.0.1:9466 (S3), :9467 (API and upload page) and :9468 (CDN)'],
    ['imgpipe dev --s3-port 0 --api-port 0 --cdn-port 0 --json', 'any free ports; one JSON object per line'],
    ['imgpipe dev --resize-timeout 10 --resize-concurrency 1', 'see what a 10 s timeout does to your spec before you deploy, one resize at a time'],
    ['imgpipe dev --aws-cli', 'the aws-cli command for it: $(imgpipe dev --aws-cli) s3 ls s3://imgpipe-dest'],
  ]);
  return cmd.action(async (opts: DevOptions) => (opts.awsCli ? printAwsCli(opts) : opts.showCredentials ? showCredentials(opts) : runDev(opts)));
}
