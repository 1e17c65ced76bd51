// Write a file whole or not at all: to a temporary name beside it, then rename. A reader (or a
// re-run after a crash) sees the old file or the new one, never half of either.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

let sequence = 0;

/** Temporary names are `<file>.<pid>.<n>.tmp`, so leftovers of a killed process can be found. */
export async function writeFileAtomic(file: string, data: string | Buffer, mode?: number): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.${sequence++}.tmp`;
  try {
    await writeFile(tmp, data, mode === undefined ? undefined : { mode });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
