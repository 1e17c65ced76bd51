// Where the project lives (the handlers' sources, package-lock.json) and where staged
// installs are cached. Works from src/ under vitest and from dist/src/ when built.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding imgpipe's package.json. */
export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'imgpipe') return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the imgpipe project folder (package.json) above the deploy module');
    dir = up;
  }
}

/** Staged sharp installs, one folder per (versions, arch); IMGPIPE_DEPLOY_CACHE overrides. */
export function deployCacheDir(): string {
  return process.env.IMGPIPE_DEPLOY_CACHE || path.join(projectRoot(), 'node_modules', '.cache', 'imgpipe-deploy');
}
