// sharp for the Lambda: its Linux glibc prebuilt packages for the target architecture, installed
// with npm's --os/--cpu/--libc into a staging folder (so an arm64 package builds on x64 and the
// other way round), at the versions pinned in package-lock.json. Each (versions, arch) is
// installed once and cached.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { deployCacheDir, projectRoot } from './paths.js';
import type { LambdaArch } from '../core/pipeline-defaults.js';
import { NPM_CPU } from './targets.js';

export interface StagedSharp {
  version: string;
  /** name@version of every package staged. */
  packages: string[];
  /** The staging folder's node_modules. */
  nodeModules: string;
  /** Whether this run installed it (false: taken from the cache). */
  installed: boolean;
}

const MARKER = '.imgpipe-staged.json';

/** sharp and its runtime dependencies at the versions package-lock.json resolves. */
function pinnedSharpSpecs(root = projectRoot()): string[] {
  const lockFile = path.join(root, 'package-lock.json');
  if (existsSync(lockFile)) {
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages?: Record<string, { version?: string; dependencies?: Record<string, string> }> };
    const pkgs = lock.packages ?? {};
    const sharp = pkgs['node_modules/sharp'];
    if (sharp?.version) {
      const deps = Object.keys(sharp.dependencies ?? {}).sort();
      const missing = deps.filter((d) => !pkgs[`node_modules/${d}`]?.version);
      if (missing.length) throw new Error(`package-lock.json has no version for sharp's dependencies ${missing.join(', ')}`);
      return [`sharp@${sharp.version}`, ...deps.map((d) => `${d}@${pkgs[`node_modules/${d}`].version}`)];
    }
  }
  // No lockfile (an installed copy of imgpipe): the sharp this project runs.
  const installed = JSON.parse(readFileSync(path.join(root, 'node_modules', 'sharp', 'package.json'), 'utf8')) as { version: string };
  return [`sharp@${installed.version}`];
}

/** Files a Lambda never reads: types, docs, C++ sources, build scripts, headers, CLIs. */
const NOT_RUNTIME = [
  /\.d\.[cm]?ts$/,
  /\.map$/,
  /(^|\/)(README|CHANGELOG|HISTORY)(\.[^/]*)?$/i,
  /^sharp\/(src|install)\//,
  /^@img\/sharp-libvips-[^/]+\/lib\/[^/]+\/include\//,
  /^semver\/bin\//,
  /^\.package-lock\.json$/,
];

/** Whether a file under node_modules (path relative to it, '/'-separated) goes into the zip. */
const isRuntimeFile = (rel: string): boolean => !NOT_RUNTIME.some((re) => re.test(rel));

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  // Inherited npm_config_* (from `npm test`, `npx imgpipe`) could point npm at the project
  // itself or change what it installs; the staging install gets only what it asks for.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_config_(local_prefix|prefix|global|workspaces?|include_workspace_root|dry_run|os|cpu|libc|omit|include|save.*|package_lock.*|ignore_scripts|production|only|also)$/i.test(k)),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message} (npm is needed to stage sharp's Linux binaries)`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${output.trim().split('\n').slice(-15).join('\n')}`))));
  });
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

/** The installed tree must hold this architecture's binaries and no other platform's. */
async function checkStaged(nodeModules: string, arch: LambdaArch): Promise<string[]> {
  const cpu = NPM_CPU[arch];
  const want = [`@img/sharp-linux-${cpu}`, `@img/sharp-libvips-linux-${cpu}`];
  const names: string[] = [];
  for (const entry of await fsp.readdir(nodeModules)) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? (await fsp.readdir(path.join(nodeModules, entry))).map((n) => `${entry}/${n}`) : [entry];
    names.push(...scoped);
  }
  for (const w of want) if (!names.includes(w)) throw new Error(`npm did not install ${w} (sharp's Linux ${cpu} binaries)`);
  const foreign = names.filter((n) => /^@img\/sharp-/.test(n) && !want.includes(n));
  if (foreign.length) throw new Error(`staged sharp carries other platforms' packages: ${foreign.join(', ')}`);
  const packages: string[] = [];
  for (const n of names.sort()) packages.push(`${n}@${(await readJson<{ version: string }>(path.join(nodeModules, n, 'package.json'))).version}`);
  return packages;
}

export async function stageSharp(arch: LambdaArch, opts: { root?: string; cacheDir?: string; npm?: string } = {}): Promise<StagedSharp> {
  const specs = pinnedSharpSpecs(opts.root);
  const cpu = NPM_CPU[arch];
  const version = specs[0].slice('sharp@'.length);
  const key = `sharp-${version}-linux-${cpu}-glibc-${createHash('sha256').update(specs.join(' ')).digest('hex').slice(0, 8)}`;
  const cacheDir = opts.cacheDir ?? deployCacheDir();
  const final = path.join(cacheDir, key);
  if (existsSync(path.join(final, MARKER))) {
    const { packages } = await readJson<{ packages: string[] }>(path.join(final, MARKER));
    return { version, packages, nodeModules: path.join(final, 'node_modules'), installed: false };
  }
  await fsp.mkdir(cacheDir, { recursive: true });
  // Install beside the final folder and rename it into place: a concurrent build (another test
  // worker) never sees a half-installed tree.
  const tmp = await fsp.mkdtemp(path.join(cacheDir, `.tmp-${key}-`));
  try {
    await fsp.writeFile(path.join(tmp, 'package.json'), JSON.stringify({ name: 'imgpipe-lambda-staging', private: true }));
    await run(
      opts.npm ?? 'npm',
      ['install', '--prefix', tmp, '--os=linux', `--cpu=${cpu}`, '--libc=glibc', '--omit=dev', '--ignore-scripts', '--no-package-lock', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs],
      tmp,
    );
    const packages = await checkStaged(path.join(tmp, 'node_modules'), arch);
    await fsp.writeFile(path.join(tmp, MARKER), JSON.stringify({ specs, arch, packages }, null, 2));
    try {
      await fsp.rename(tmp, final);
    } catch (err) {
      if (!existsSync(path.join(final, MARKER))) throw err;
    }
    return { version, packages, nodeModules: path.join(final, 'node_modules'), installed: true };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** Every runtime file of the staged tree, as zip entries under node_modules/. */
export async function stagedFiles(nodeModules: string): Promise<{ name: string; file: string }[]> {
  const out: { name: string; file: string }[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      const abs = path.join(dir, d.name);
      if (d.isDirectory()) {
        if (r !== '.bin') await walk(abs, r); // npm's links to package CLIs
      }
      else if (d.isFile() && isRuntimeFile(r)) out.push({ name: `node_modules/${r}`, file: abs });
      else if (d.isSymbolicLink()) throw new Error(`unexpected symlink in the staged install: ${abs}`);
    }
  }
  await walk(nodeModules, '');
  return out;
}
