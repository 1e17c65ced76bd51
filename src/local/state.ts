// A running `imgpipe dev` leaves its endpoints in .imgpipe/dev.json (in the folder it runs in) and
// in the user's state directory (one file per data folder). `upload --local` and `watch --local`
// use this folder's `dev` (started here or in the nearest folder above, or on the same data
// folder); another folder's only when named (`--local=PATH` or `--local=URL`), since its bucket
// holds another project's photos.
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { healthProof, newChallenge, proofMatches } from './health.js';
import type { DevState } from './dev-state.js';
import { readStateFile, refusalLine } from './trust.js';

export const STATE_FILE = '.imgpipe/dev.json';
export const DEFAULT_DATA_DIR = '.imgpipe/data';


/** `$XDG_STATE_HOME/imgpipe`, or `~/.local/state/imgpipe`. */
function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'imgpipe');
}

/** The user-wide state file of the `dev` running on this data folder: keyed by a hash of its absolute path. */
export function userStateFile(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(userStateDir(env), `dev-${hash}.json`);
}

export async function writeDevState(state: DevState, file = STATE_FILE): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state, null, 2), 0o600);
}

/** A state file's contents, without asking whether that stack still runs. */
async function readState(file = STATE_FILE): Promise<DevState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as DevState;
    return state && typeof state.pid === 'number' && typeof state.apiUrl === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Remove the state file, but only if it is this process's (another `dev` may have taken it over). */
export async function clearDevState(file = STATE_FILE, pid = process.pid): Promise<void> {
  const state = await readState(file);
  if (!state || state.pid === pid) await rm(file, { force: true });
}

/** The same, synchronously, for a process that is exiting. */
export function clearDevStateSync(files: string[], pid = process.pid): void {
  for (const f of files) {
    try {
      if ((JSON.parse(readFileSync(f, 'utf8')) as DevState).pid !== pid) continue;
    } catch {
      // unreadable or gone: nothing of another process's to keep
    }
    rmSync(f, { force: true });
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a recorded stack still runs: true; false when it is gone (a stale file, nothing to say);
 * or why the file is refused (something answers there, but not the stack the file names).
 */
export type Probe = (state: DevState) => Promise<boolean | { refused: string }>;

/** Where a refused state file's one line goes (the CLI prints it; nothing by default). */
export type OnRefused = (line: string) => void;

/** At most this much of a /health answer is read: whatever answers there may be hostile. */
const HEALTH_BYTES = 4096;

async function boundedJson(res: Response): Promise<unknown> {
  const reader = res.body?.getReader();
  const chunks: Uint8Array[] = [];
  for (let total = 0; reader; ) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > HEALTH_BYTES) return void (await reader.cancel());
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Its process lives, and its API proves it is that `dev`: it signs our nonce with the file's secret and pid. */
const answering: Probe = async (state) => {
  if (!alive(state.pid)) return false;
  const challenge = newChallenge();
  let res: Response;
  try {
    // A live process whose port refuses fails at once; a loaded machine may answer late.
    res = await fetch(`${state.apiUrl}/health?challenge=${challenge}`, { signal: AbortSignal.timeout(5_000), redirect: 'error' });
  } catch {
    return false;
  }
  const body = (await boundedJson(res).catch(() => undefined)) as { proof?: unknown } | undefined;
  if (res.ok && proofMatches(body?.proof, healthProof(state.credentials.secretAccessKey, state.pid, challenge))) return true;
  return { refused: `its API at ${state.apiUrl} did not prove it is the imgpipe dev (pid ${state.pid}) this file names (delete it and run imgpipe dev again)` };
};

/**
 * The running dev stack, if its state file is one `dev` wrote for this user (trust.ts), its
 * process alive and its API proving it is that stack. A refused file gets one line through `refused`.
 */
export async function findRunningStack(file = STATE_FILE, probe: Probe = answering, refused: OnRefused = () => {}): Promise<DevState | undefined> {
  const read = await readStateFile(file);
  if (!read) return undefined;
  const verdict = 'refused' in read ? read : await probe(read.state);
  if (verdict === true && 'state' in read) return read.state;
  if (typeof verdict === 'object') refused(refusalLine(file, verdict.refused));
  return undefined;
}

/** Every running `dev` of this user, from the user state directory (stale files are skipped). */
export async function runningStacks(env: NodeJS.ProcessEnv = process.env, probe: Probe = answering, refused?: OnRefused): Promise<DevState[]> {
  const dir = userStateDir(env);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^dev-[0-9a-f]+\.json$/.test(n));
  } catch {
    return [];
  }
  const states = await Promise.all(names.map((n) => findRunningStack(path.join(dir, n), probe, refused)));
  return states.filter((s): s is DevState => !!s).sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
}

export interface FoundStack {
  state: DevState;
  /** The state file it was found through. */
  via: string;
}

/**
 * This folder's stack: the `dev` recorded in `DIR/.imgpipe/dev.json`, DIR being `cwd` or else the
 * nearest folder above it with a running one (as git finds `.git`), or the `dev` on `dataDir`.
 * In that order: the folder's own record, the data folder's, then the folders above.
 */
export async function findFolderStack(dataDir: string, cwd = process.cwd(), probe: Probe = answering, refused?: OnRefused): Promise<FoundStack | undefined> {
  const at = async (via: string) => {
    const state = await findRunningStack(via, probe, refused);
    return state ? { state, via } : undefined;
  };
  const found = (await at(path.join(cwd, STATE_FILE))) ?? (await at(userStateFile(path.resolve(cwd, dataDir))));
  if (found) return found;
  for (let dir = path.dirname(path.resolve(cwd)); ; dir = path.dirname(dir)) {
    const above = await at(path.join(dir, STATE_FILE));
    if (above || dir === path.dirname(dir)) return above;
  }
}

/** `localhost` and 127.0.0.1 are the same place for a stack that listens on loopback. */
const hostOf = (url: string): string => {
  const u = new URL(url);
  return `${u.hostname === 'localhost' ? '127.0.0.1' : u.hostname}:${u.port}`;
};

/**
 * The stack `--local=WHERE` names: a URL of its page, API or S3 endpoint, or a folder: the one
 * `dev` ran in (or one below it), or its data folder. Another folder's stack, asked for.
 */
export async function findNamedStack(where: string, cwd = process.cwd(), probe: Probe = answering, refused?: OnRefused): Promise<FoundStack | undefined> {
  if (/^https?:\/\//i.test(where)) {
    let host: string;
    try {
      host = hostOf(where);
    } catch {
      return undefined;
    }
    const state = (await runningStacks(process.env, probe, refused)).find((s) => hostOf(s.apiUrl) === host || hostOf(s.s3Endpoint) === host || (!!s.cdnUrl && hostOf(s.cdnUrl) === host));
    return state ? { state, via: userStateFile(state.dataDir) } : undefined;
  }
  const dir = path.resolve(cwd, where);
  return findFolderStack(dir, dir, probe, refused);
}

/** Who a stack belongs to, for the user: "this folder", or the folder its `dev` ran in. */
export function whoseStack(state: DevState, cwd = process.cwd()): string {
  if (!state.root) return `the folder of ${state.dataDir}`;
  return path.resolve(state.root) === path.resolve(cwd) ? 'this folder' : state.root;
}

/** The running `dev` on this data folder, or holding one of these ports, if any. */
export async function findConflictingStack(dataDir: string, ports: number[]): Promise<DevState | undefined> {
  const abs = path.resolve(dataDir);
  const candidates = [await findRunningStack(), await findRunningStack(userStateFile(abs)), ...(await runningStacks())];
  const portOf = (url: string) => Number(new URL(url).port);
  return candidates.find(
    (s) => s && (path.resolve(s.dataDir) === abs || ports.some((p) => p !== 0 && [s.apiUrl, s.s3Endpoint, s.cdnUrl].some((u) => !!u && portOf(u) === p))),
  );
}
