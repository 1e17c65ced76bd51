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
  /** Type into the terminal (only with `input: true`), as a person at the keyboard would. */
  type(text: string): void;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function runInPty(bin: string, args: string[], opts: { cwd: string; cols: number; rows?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: boolean }): PtyRun {
  const pidFile = path.join(opts.cwd, '.pty-pid');
  // The shell sizes the pty, notes its pid and becomes the CLI (exec keeps the pid).
  const inner = `stty cols ${opts.cols} rows ${opts.rows ?? 50}; echo $$ > ${quote(pidFile)}; exec ${quote(process.execPath)} ${[bin, ...args].map(quote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...cliEnv(), TERM: 'xterm-256color', COLUMNS: String(opts.cols), LINES: String(opts.rows ?? 50), ...opts.env };
  delete env.CI; // the reporter draws widgets only outside CI
  // script copies its stdin to the terminal: a pipe when the test types, else nothing at all.
  const child = spawn('script', ['-qfec', inner, '/dev/null'], { cwd: opts.cwd, env, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => {}); // the terminal gone before a keystroke: the run's end says why
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  child.stderr!.on('data', (d) => (out += String(d)));
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
  const type = (text: string) => {
    if (!child.stdin) throw new Error('runInPty: pass input: true to type');
    child.stdin.write(text);
  };
  return { output: () => out, pid, done, type };
}
