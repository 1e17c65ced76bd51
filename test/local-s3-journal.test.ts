// The local S3 server's journal when a write fails half-way (a full disk) or its fsync fails: the
// failed records are cut off the file, so replay neither stops at half a line (losing every later,
// acknowledged record) nor applies records whose writers were told they failed.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../packages/local-s3/src/storage/journal.js';
import { tempDir } from './helpers/images.js';

type Rec = { n: number; pad?: string };
type Handle = { write: (text: string) => Promise<unknown>; datasync: () => Promise<void>; truncate: (n: number) => Promise<void> };

describe('local-s3 journal after a failed write', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open() {
    dir ??= await tempDir('imgpipe-journal-');
    return Journal.open<Rec>(path.join(dir, 'journal.jsonl'));
  }

  it('a write that stored half a line then failed (ENOSPC) is cut off; later records replay', async () => {
    const { journal } = await open();
    await journal.append({ n: 1 });
    const fh = (journal as unknown as { fh: Handle }).fh;
    const write = fh.write.bind(fh);
    fh.write = async (text: string) => {
      fh.write = write; // once
      await write(text.slice(0, Math.floor(text.length / 2)));
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    await expect(journal.append({ n: 2, pad: 'x'.repeat(100) })).rejects.toThrow(/ENOSPC/);
    await journal.append({ n: 3 });
    await journal.close();
    const { journal: again, records } = await open();
    await again.close();
    expect(records).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await readFile(path.join(dir!, 'journal.jsonl'), 'utf8')).toBe('{"n":1}\n{"n":3}\n');
  });

  it('a record whose fsync failed is not replayed', async () => {
    const { journal } = await open();
    await journal.append({ n: 1 });
    const fh = (journal as unknown as { fh: Handle }).fh;
    const datasync = fh.datasync.bind(fh);
    fh.datasync = async () => {
      fh.datasync = datasync;
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    };
    await expect(journal.append({ n: 2 })).rejects.toThrow(/EIO/);
    await journal.append({ n: 3 });
    await journal.close();
    const { journal: again, records } = await open();
    await again.close();
    expect(records).toEqual([{ n: 1 }, { n: 3 }]);
  });

  it('when the file cannot be cut back either, every later append fails instead of hiding behind the torn line', async () => {
    const { journal } = await open();
    await journal.append({ n: 1 });
    const fh = (journal as unknown as { fh: Handle }).fh;
    const write = fh.write.bind(fh);
    fh.write = async (text: string) => {
      fh.write = write;
      await write(text.slice(0, 3));
      throw new Error('EIO: i/o error, write');
    };
    fh.truncate = async () => {
      throw new Error('EIO: i/o error, ftruncate');
    };
    await expect(journal.append({ n: 2 })).rejects.toThrow(/EIO: i\/o error, write/);
    await expect(journal.append({ n: 3 })).rejects.toThrow(/could not be repaired after a failed write .*restart the server/);
  });
});
