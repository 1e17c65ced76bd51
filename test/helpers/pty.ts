// Run the built CLI in a real pseudo-terminal of a given width (util-linux `script`), capturing
// every byte it draws, and hand out its pid (to send it a signal as Ctrl-C would).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cliEnv } from './cli.js';

export interface PtyRun {
  /** Everything drawn so far. */
  output(): string;
  /** The CLI's own pid (not script's), once it has started. */
  pid(): Promise<number>;
  done: Promise<{ code: number | null; output: string }>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function runInPty(bin: string, args: string[], opts: { cwd: string; cols: number; rows?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number }): PtyRun {
  const pidFile = path.join(opts.cwd, '.pty-pid');
  // The shell sizes the pty, notes its pid and becomes the CLI (exec keeps the pid).
  const inner = `stty cols ${opts.cols} rows ${opts.rows ?? 50}; echo $$ > ${quote(pidFile)}; exec ${quote(process.execPath)} ${[bin, ...args].map(quote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...cliEnv(), TERM: 'xterm-256color', COLUMNS: String(opts.cols), LINES: String(opts.rows ?? 50), ...opts.env };
  delete env.CI; // the reporter draws widgets only outside CI
  const child = spawn('script', ['-qfec', inner, '/dev/null'], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  child.stderr.on('data', (d) => (out += String(d)));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output: out });
    });
  });
  const pid = async () => {
    // Only a hang takes a minute (the shell writes it before it execs node).
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      if (/^\d+\s*$/.test(text)) return Number(text);
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error('the CLI in the pty never started');
  };
  return { output: () => out, pid, done };
}
