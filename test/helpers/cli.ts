// Run the built CLI as a user would: a separate process, no terminal.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: cliEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
