// An append-only log of JSON lines: the storage's index and its event queue, replayed on start.
// Chosen over an embedded database because it needs no native build on `npm install`, a record is
// one line, and a crash can only tear the last line, which replay detects and cuts off.
// Concurrent appends are grouped into one write and one fsync (group commit).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Replay reads the file in blocks of this size. */
const READ_BLOCK = 1024 * 1024;
/** Compaction writes the new file in pieces of about this many characters. */
const WRITE_BLOCK = 64 * 1024;
const TEMP_SUFFIX = '.compact.tmp';

interface Pending {
  line: string;
  durable: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Journal<R> {
  private queue: Pending[] = [];
  private writing = false;
  /** Set by a compaction waiting for its turn: no new batch starts, so a busy server cannot starve it. */
  private paused = false;
  /** Lines in the file, for the compaction decision. */
  lines = 0;
  /** Bytes of whole, acknowledged lines: a failed write is cut back to here. */
  private size = 0;
  /** Set when a failed write could not be cut back: appending after it would hide later lines from replay. */
  private broken?: Error;

  private constructor(
    private readonly file: string,
    private fh: fsp.FileHandle,
    private readonly fsync: boolean,
  ) {}

  /**
   * Open (creating if needed) and replay; a torn last line is cut off the file. Read in blocks and
   * parsed line by line: a journal can outgrow the longest string V8 makes (~512 MiB), and with
   * `onRecord` each record is applied and dropped as it is read, so memory follows the live state.
   */
  static async open<R>(file: string, fsync = true, onRecord?: (record: R) => void): Promise<{ journal: Journal<R>; records: R[] }> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await removeStaleTemps(file);
    const records: R[] = [];
    const take = onRecord ?? ((r: R) => void records.push(r));
    let lines = 0;
    let good = 0;
    const input = await fsp.open(file, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (input) {
      try {
        const block = Buffer.alloc(READ_BLOCK);
        let carry: Buffer = Buffer.alloc(0);
        let torn = false;
        for (let pos = 0; !torn; ) {
          const { bytesRead } = await input.read(block, 0, block.length, pos);
          if (!bytesRead) break;
          pos += bytesRead;
          const buf = carry.length ? Buffer.concat([carry, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
          let start = 0;
          for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
            let record: R;
            try {
              record = JSON.parse(buf.toString('utf8', start, nl)) as R;
            } catch {
              torn = true; // torn or corrupt: nothing after it was acknowledged as durable
              break;
            }
            take(record);
            lines += 1;
            good += nl + 1 - start;
            start = nl + 1;
          }
          // A copy: `block` is reused by the next read.
          carry = Buffer.from(buf.subarray(start));
        }
      } finally {
        await input.close();
      }
    }
    const fh = await fsp.open(file, 'a+', 0o600);
    if ((await fh.stat()).size !== good) await fh.truncate(good);
    const journal = new Journal<R>(file, fh, fsync);
    journal.lines = lines;
    journal.size = good;
    return { journal, records };
  }

  /** Append one record; resolves once written (and, if durable, fsynced). */
  append(record: R, durable = true): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.queue.push({ line: JSON.stringify(record) + '\n', durable, resolve, reject });
      if (!this.writing && !this.paused) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length && !this.paused) {
      const batch = this.queue;
      this.queue = [];
      const text = batch.map((p) => p.line).join('');
      try {
        await this.fh.write(text);
        if (this.fsync && batch.some((p) => p.durable)) await this.fh.datasync();
        this.lines += batch.length;
        this.size += Buffer.byteLength(text);
        for (const p of batch) p.resolve();
      } catch (err) {
        // Half a line (ENOSPC) or lines never made durable (EIO on fsync) must not stay: replay
        // stops at the first bad line, and would apply records whose writers were told they failed.
        await this.cutBack(err as Error);
        for (const p of batch) p.reject(err);
      }
    }
    this.writing = false;
  }

  private async cutBack(cause: Error): Promise<void> {
    try {
      await this.fh.truncate(this.size);
    } catch {
      this.broken = new Error(`the journal ${this.file} could not be repaired after a failed write (${cause.message}); restart the server`);
      for (const p of this.queue.splice(0)) p.reject(this.broken);
    }
  }

  /** Bytes of whole, acknowledged lines in the file. */
  get bytes(): number {
    return this.size;
  }

  /**
   * Replace the whole log with the records `snapshot` returns (compaction): a new file written in
   * blocks, fsynced, renamed over the journal, the folder fsynced. Appends wait meanwhile, so the
   * snapshot (taken once every acknowledged record has been applied, none since) is exactly the
   * file's state. A crash before the rename leaves the old journal (the temp file is removed on the
   * next open); after it, the new one.
   */
  async rewrite(snapshot: () => Iterable<R>): Promise<void> {
    this.paused = true; // appends queue until the new file is in place
    try {
      // After a macrotask turn, every resolved append's continuation (the index update) has run.
      while (this.writing) await new Promise((r) => setImmediate(r));
      if (this.broken) throw this.broken;
      this.writing = true;
      const tmp = `${this.file}.${randomBytes(8).toString('hex')}${TEMP_SUFFIX}`;
      const out = await fsp.open(tmp, 'wx', 0o600);
      let lines = 0;
      try {
        let text = '';
        for (const r of snapshot()) {
          text += JSON.stringify(r) + '\n';
          lines += 1;
          if (text.length >= WRITE_BLOCK) {
            await out.write(text);
            text = '';
          }
        }
        if (text) await out.write(text);
        if (this.fsync) await out.sync();
        await out.close();
        await fsp.rename(tmp, this.file);
      } catch (err) {
        await out.close().catch(() => undefined);
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      // From here on appends must go to the new file: the old one is no longer the journal.
      const old = this.fh;
      try {
        this.fh = await fsp.open(this.file, 'a+', 0o600);
        this.lines = lines;
        this.size = (await this.fh.stat()).size;
      } catch (err) {
        this.broken = new Error(`the journal ${this.file} could not be reopened after compaction (${(err as Error).message}); restart the server`);
        throw this.broken;
      } finally {
        await old.close().catch(() => undefined);
      }
      if (this.fsync) await syncFolder(path.dirname(this.file));
    } finally {
      this.writing = false;
      this.paused = false;
      if (this.queue.length) void this.flush();
    }
  }

  async close(): Promise<void> {
    while (this.writing || this.queue.length) await new Promise((r) => setImmediate(r));
    await this.fh.close();
  }
}

/** A compaction's temp file left by a crash: never renamed, so never part of the journal. */
async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + '.';
  for (const name of await fsp.readdir(dir)) {
    if (name.startsWith(prefix) && name.endsWith(TEMP_SUFFIX)) await fsp.rm(path.join(dir, name), { force: true });
  }
}

/** Make a rename durable: fsync the folder that holds the entry. */
async function syncFolder(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
