// Whether a state file may steer `--local`: a cloned repository, an unpacked archive or a shared
// folder can ship a `.imgpipe/dev.json`, and `upload --local` would send its stack the user's
// photos. A file is read only as `imgpipe dev` writes it for this user: a regular file (no link
// followed), the user's own, mode 0600, naming endpoints on this machine. Whether the stack there
// is the one the file names is the probe's question (`answering` in state.ts, health.ts's proof).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { isLoopbackUrl } from '../core/local-keys.js';
import type { DevState } from './dev-state.js';

/** A state file read: its state, why it is refused, or nothing (missing, or not a state file). */
export type StateRead = { state: DevState } | { refused: string } | undefined;

const AGAIN = 'delete it and run imgpipe dev again';

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

function ownerProblem(st: Stats): string | undefined {
  // Windows has no uids, and its file modes say nothing of who may read.
  if (typeof process.getuid !== 'function') return undefined;
  const me = process.getuid();
  return st.uid === me ? undefined : `owned by uid ${st.uid}, not by you (uid ${me}) (${AGAIN})`;
}

function modeProblem(st: Stats): string | undefined {
  if (process.platform === 'win32' || (st.mode & 0o077) === 0) return undefined;
  return `mode ${octal(st.mode)}, not 0600 (chmod 600 it, or ${AGAIN})`;
}

function parse(text: string): DevState | undefined {
  try {
    const s = JSON.parse(text) as DevState;
    const ok = Number.isInteger(s?.pid) && s.pid > 0 && typeof s.apiUrl === 'string' && typeof s.s3Endpoint === 'string' && typeof s.credentials?.secretAccessKey === 'string' && (s.cdnUrl === undefined || typeof s.cdnUrl === 'string');
    return ok ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Read a state file as `--local` may use it (see above). */
export async function readStateFile(file: string): Promise<StateRead> {
  let fh;
  try {
    // O_NOFOLLOW: a link is refused, not followed; O_NONBLOCK: a FIFO planted there cannot hang us.
    fh = await open(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ELOOP' ? { refused: `a symbolic link, not the file imgpipe dev writes (${AGAIN})` } : undefined;
  }
  try {
    // Checked on the open file, so what is read is what was checked.
    const st = await fh.stat();
    if (!st.isFile()) return { refused: `not a regular file (${AGAIN})` };
    const problem = ownerProblem(st) ?? modeProblem(st);
    if (problem) return { refused: problem };
    const state = parse(await fh.readFile('utf8'));
    if (!state) return undefined;
    const far = [state.apiUrl, state.s3Endpoint, ...(state.cdnUrl === undefined ? [] : [state.cdnUrl])].find((u) => !isLoopbackUrl(u));
    if (far !== undefined) return { refused: `${far} is not on this machine: a local stack listens on loopback only (${AGAIN})` };
    return { state };
  } finally {
    await fh.close();
  }
}

/** The one line a refused file gets: which file, and why. */
export function refusalLine(file: string, reason: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file);
  const shown = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  return `ignored ${shown}: ${reason}`;
}
