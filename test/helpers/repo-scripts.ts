// The repository's own checks (scripts/check-*.mjs) as their tests run them: the script on this
// repository or on a planted tree, its exit code and output; planted trees removed afterwards.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll } from 'vitest';
import { tempDir } from './images.js';

export const ROOT = path.resolve(__dirname, '../..');

export interface ScriptRun {
  code: number | null;
  output: string;
}

/** `node scripts/<name> …args`, from the repository's root. */
export function runScript(name: string, args: string[] = []): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'scripts', name), ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

const planted: string[] = [];
afterAll(async () => {
  await Promise.all(planted.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh folder holding `files` (path → text), removed when the test file ends. */
export async function plantTree(prefix: string, files: Record<string, string>): Promise<string> {
  const dir = await tempDir(prefix);
  planted.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  return dir;
}
