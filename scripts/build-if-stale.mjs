#!/usr/bin/env node
// `npm test`'s pretest: build only when a source is newer than the build. An install has just
// built (`prepare`), so README's `npm install && npm test` and CI's `npm ci && npm test` build once;
// after an edit, `npm test` alone still tests what was edited.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['src', 'lambda', 'packages/local-s3/src', 'scripts/build-web.mjs', 'tsconfig.json', 'packages/local-s3/tsconfig.json', 'package.json'];
const OUTPUTS = ['dist/.tsbuildinfo', 'packages/local-s3/dist/.tsbuildinfo', 'src/web/page.generated.ts'];
const GENERATED = new Set(OUTPUTS.map((f) => path.join(ROOT, f)));

/** The newest modification time under `p` (a file or a folder), generated files left out. */
function newest(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st || GENERATED.has(p)) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((name) => newest(path.join(p, name))));
}

const built = Math.min(...OUTPUTS.map((f) => statSync(path.join(ROOT, f), { throwIfNoEntry: false })?.mtimeMs ?? 0));
const changed = Math.max(...SOURCES.map((f) => newest(path.join(ROOT, f))));
if (built > changed) {
  console.log('build: up to date (every output is newer than every source)');
} else {
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // tsc leaves its build info alone when no output changed (a touched file): mark the build done.
  const now = new Date();
  for (const f of OUTPUTS) utimesSync(path.join(ROOT, f), now, now);
}
