// `imgpipe dev` as a user runs it: a separate process, found by the CLI's own reader of the state
// file it writes, stopped with Ctrl-C (SIGINT) or killed outright.
import { spawn, type ChildProcess } from 'node:child_process';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DevState } from '../../src/local/dev-state.js';
import { findRunningStack, STATE_FILE } from '../../src/local/state.js';
import { createS3Client } from '../../src/s3/client.js';
import { BIN, cliEnv, launchedAs, type Launched } from './cli.js';
import { getObjectBytes, listAll } from './s3.js';

export interface DevProcess {
  child: ChildProcess;
  state: DevState;
  s3: S3Client;
  /** With asCommand: the running dev's environment and node options (see runCommand in cli.ts). */
  launched?: Launched;
  output(): { stdout: string; stderr: string };
  list(bucket: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer>;
  /** Ctrl-C: resolves with the exit code once it has stopped. */
  stop(): Promise<number | null>;
  /** kill -9: no chance to clean up. */
  kill(): Promise<void>;
}

/** Start `imgpipe dev --json` in `cwd` on free ports and wait until it says it is ready; asCommand: through the bin's first line, as `npx imgpipe dev` runs it. */
export async function startDev(cwd: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number; asCommand?: boolean } = {}): Promise<DevProcess> {
  // A state directory of its own unless the test gives one: a test's `dev` never reaches the user's
  // (nor another test's `upload --local`) through ~/.local/state/imgpipe.
  const stateHome = opts.env?.XDG_STATE_HOME ?? (await mkdtemp(path.join(os.tmpdir(), 'imgpipe-state-')));
  const argv = ['dev', '--s3-port', '0', '--api-port', '0', '--cdn-port', '0', '--json', ...(opts.args ?? [])];
  const env = cliEnv({ XDG_STATE_HOME: stateHome, ...(opts.asCommand && { MALLOC_ARENA_MAX: undefined }), ...opts.env });
  const child = opts.asCommand ? spawn(BIN, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, [BIN, ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`imgpipe dev not ready after ${opts.timeoutMs ?? 30_000} ms: ${stderr}`)), opts.timeoutMs ?? 30_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (/"msg":"ready"/.test(stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`imgpipe dev exited with ${code} before it was ready: ${stderr}`)));
  });
  const state = await findRunningStack(path.join(cwd, STATE_FILE));
  if (!state) throw new Error('imgpipe dev said ready but its state file does not lead to it');
  const s3 = createS3Client({ endpoint: state.s3Endpoint, region: state.region, credentials: state.credentials });
  return {
    child,
    state,
    s3,
    launched: opts.asCommand ? await launchedAs(child) : undefined,
    output: () => ({ stdout, stderr }),
    list: (bucket: string) => listAll(s3, bucket),
    get: (bucket: string, key: string) => getObjectBytes(s3, bucket, key),
    async stop() {
      s3.destroy();
      child.kill('SIGINT');
      return exited;
    },
    async kill() {
      s3.destroy();
      child.kill('SIGKILL');
      await exited;
    },
  };
}
