// Run the built CLI as a user would: a separate process, no terminal; `runCommand` also through
// the bin's own first line, as `npx imgpipe` runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/imgpipe.js');

// A user state directory and a home of this test file's own unless a test gives them: a `dev` or
// an embedded stack started here never reaches the user's (nor another test file's) through
// $XDG_STATE_HOME or ~/.local/state, and nothing of the user's ~ (~/.aws, ~/.local) is read.
export const TEST_STATE_HOME = mkdtempSync(path.join(os.tmpdir(), 'imgpipe-state-'));
export const TEST_HOME = mkdtempSync(path.join(os.tmpdir(), 'imgpipe-home-'));

/** The environment every CLI a test starts gets: CI's, that state directory and that home. */
export const cliEnv = (extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...process.env, CI: 'true', XDG_STATE_HOME: TEST_STATE_HOME, HOME: TEST_HOME, ...extra });

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `uid`/`gid`: run as that user (a test running as root that needs a user root is not). */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return collect(spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'], uid: opts.uid, gid: opts.gid }), opts.timeoutMs);
}

/**
 * Run the bin as a command, as `npx imgpipe` does: the kernel reads its `#!/bin/sh` line, sh
 * execs env, env execs node with MALLOC_ARENA_MAX. `environ` is the running CLI's environment as
 * the kernel holds it (/proc/<pid>/environ, once node runs the bin), so a test sees what the
 * launcher set. MALLOC_ARENA_MAX is unset here, so only the launcher can set it.
 */
export async function runCommand(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult & Launched> {
  const child = spawn(BIN, args, { cwd: opts.cwd, env: cliEnv({ MALLOC_ARENA_MAX: undefined, ...opts.env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const [launched, result] = await Promise.all([launchedAs(child), collect(child, opts.timeoutMs)]);
  return { ...result, ...launched };
}

export interface Launched {
  /** The running CLI's environment. */
  environ: Record<string, string>;
  /** The options node was started with, before the bin's path (the launcher's V8 flags). */
  nodeFlags: string[];
}

/** The environment and node options of `child` once it is node running the bin (before that it is sh, then env). */
export async function launchedAs(child: ChildProcess): Promise<Launched> {
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let over = false;
  void ended.then(() => (over = true));
  while (!over) {
    try {
      const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
      const bin = argv.indexOf(BIN);
      if (path.basename(argv[0]) === 'node' && bin > 0) {
        const text = await readFile(`/proc/${child.pid}/environ`, 'utf8');
        const environ = Object.fromEntries(text.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
        return { environ, nodeFlags: argv.slice(1, bin) };
      }
    } catch {
      // not started yet, or between two execs
    }
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2))]);
  }
  throw new Error(`${BIN} ended before it ran under node (its first line did not exec node?)`);
}

/** A child's exit and output, whole; killed after `timeoutMs` (only a hang reaches it). */
export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
