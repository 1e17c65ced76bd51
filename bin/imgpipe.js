#!/usr/bin/env node
// Shim: loads the built CLI (`npm run build`, run by `prepare` on install).
//
// glibc's malloc gives each libvips worker thread its own arena and fragments them: the
// 20-photo corpus peaked at ~500 MB RSS by default and ~310 MB with MALLOC_ARENA_MAX=2, at the
// same speed. It must be set before the process starts, so re-run ourselves once with it set.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

if (process.platform === 'linux' && process.env.MALLOC_ARENA_MAX === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, MALLOC_ARENA_MAX: '2' },
  });
  // The child shares our terminal and gets Ctrl-C itself; pass on what is sent to us alone.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[signal] ?? 1));
    process.exit(code ?? 1);
  });
} else {
  const { main } = await import('../dist/src/cli/main.js');
  await main(process.argv);
}
