// Write a file whole or not at all: to a temporary name beside it, then rename. A reader (or a
// re-run after a crash) sees the old file or the new one, never half of either.
//
// The temporary name is unpredictable and created exclusively ('wx': O_CREAT|O_EXCL, which never
// follows a symlink), so a link planted beside the file cannot redirect the write, and with it
// the stack's S3 secret, into a file of someone else's choosing.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** `<file>.<pid>.<random>.tmp`: the pid, so leftovers of a killed process can be found. */
const temporaryName = (file: string) => `${file}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;

/**
 * With a `mode` the file is private and matters (the ledger, the dev state, the manifest): a
 * folder made for it is 0700, and the bytes are on disk (fsync) before the rename makes them the
 * file, so a power cut leaves the old file or the new one, not an empty one.
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode?: number): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true, ...(mode === undefined ? {} : { mode: 0o700 }) });
  const tmp = temporaryName(file);
  const fh = await open(tmp, 'wx', mode ?? 0o666);
  try {
    await fh.writeFile(data);
    if (mode !== undefined) await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
