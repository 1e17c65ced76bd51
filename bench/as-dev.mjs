// A bench that runs the local stack in its own process measures that process; `imgpipe dev` runs
// under the bin's first line (MALLOC_ARENA_MAX=1 and V8's --initial-old-space-size: bin/imgpipe.js
// says why). asDev() re-executes the calling script under the same node options and environment,
// read off that line, so the stack's CPU and memory in the figures are dev's.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/imgpipe.js', import.meta.url));

/** The node options and environment the bin's first line execs node with for `imgpipe dev`. */
export function binLaunch() {
  const line = readFileSync(BIN, 'utf8').split('\n')[1];
  const m = /case "\$1" in ([^)]*)\) v8=(\S+);; esac; exec \/usr\/bin\/env (.*?) node \$v8 "\$0"/.exec(line);
  if (!m || !m[1].split('|').includes('dev')) throw new Error(`bin/imgpipe.js: its first line no longer reads 'case "$1" in dev|…) v8=FLAGS;; esac; exec /usr/bin/env VAR=… node $v8 "$0"': ${line}`);
  const env = Object.fromEntries([...m[3].matchAll(/(\w+)="\$\{\1:-([^}]*)\}"/g)].map(([, k, v]) => [k, process.env[k] ?? v]));
  return { flags: m[2].split(/\s+/).filter(Boolean), env };
}

/** Unless already so: run this script again under the bin's node options and exit with its status. */
export function asDev(scriptUrl) {
  if (process.env.IMGPIPE_BENCH_AS_DEV === '1') return;
  const { flags, env } = binLaunch();
  const r = spawnSync(process.execPath, [...flags, ...process.execArgv, fileURLToPath(scriptUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...env, IMGPIPE_BENCH_AS_DEV: '1' },
  });
  process.exit(r.status ?? 1);
}
