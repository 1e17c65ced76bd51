// A running `imgpipe dev` leaves its endpoints in .imgpipe/dev.json so that `upload --local`
// and `watch --local` in another terminal use it instead of starting their own.
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../files/atomic.js';

export const STATE_FILE = '.imgpipe/dev.json';
export const DEFAULT_DATA_DIR = '.imgpipe/data';

export interface DevState {
  pid: number;
  apiUrl: string;
  s3Endpoint: string;
  region: string;
  sourceBucket: string;
  destBucket: string;
  dataDir: string;
  /** The data folder's own random pair (not an AWS credential); this file is mode 0600. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The API key `dev` requires, if any, so `upload --local` can send it. */
  apiKey?: string;
}


export async function writeDevState(state: DevState, file = STATE_FILE): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state, null, 2), 0o600);
}

export async function clearDevState(file = STATE_FILE): Promise<void> {
  await rm(file, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running dev stack, if its state file is there, its process alive and its API answering. */
export async function findRunningStack(file = STATE_FILE): Promise<DevState | undefined> {
  let state: DevState;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as DevState;
  } catch {
    return undefined;
  }
  if (!alive(state.pid)) return undefined;
  try {
    const res = await fetch(`${state.apiUrl}/health`, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? state : undefined;
  } catch {
    return undefined;
  }
}
