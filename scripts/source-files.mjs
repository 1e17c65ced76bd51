// What the repository's own checks (check-size, check-cycles, check-exports) share: their command
// line (`--root DIR` and a flag or two of their own), and the walk of the source folders.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SKIP_DIRS = new Set(['dist', 'node_modules']);

export const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.d.ts');
export const isScript = (name) => name.endsWith('.mjs') || name.endsWith('.js');

/** Prints the message and the usage line, exits 2 (bad usage). */
export function usageExit(script, usageLine, message) {
  console.error(`${script}: ${message}`);
  console.error(`usage: ${usageLine}`);
  process.exit(2);
}

/**
 * `--root DIR` (default: this repository) and the script's own flags, as `--flag VALUE` or
 * `--flag=VALUE`; `flags[name](value, opts, usage)` takes each of those. Anything else is bad usage.
 */
export function parseArgs(argv, { script, usageLine, defaults = {}, flags = {} }) {
  const usage = (message) => usageExit(script, usageLine, message);
  const opts = { root: resolve(dirname(fileURLToPath(import.meta.url)), '..'), ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    if (flag === '--root') opts.root = resolve(value());
    else if (Object.hasOwn(flags, flag)) flags[flag](value(), opts, usage);
    else usage(`unknown argument ${arg}`);
  }
  return { opts, usage };
}

export function isDir(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Every file below `dir` whose name `keep` takes, skipping dist/ and node_modules/. */
export function walk(dir, keep = isSource, out = []) {
  if (!isDir(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path, keep, out);
    } else if (entry.isFile() && keep(entry.name)) out.push(path);
  }
  return out;
}

/** src/, lambda/ and packages/<each>/src/ of the root, those that exist. */
export function sourceDirs(root) {
  const dirs = [join(root, 'src'), join(root, 'lambda')];
  const packages = join(root, 'packages');
  if (isDir(packages)) {
    for (const entry of readdirSync(packages, { withFileTypes: true })) {
      if (entry.isDirectory() && !SKIP_DIRS.has(entry.name)) dirs.push(join(packages, entry.name, 'src'));
    }
  }
  return dirs.filter(isDir);
}
