// An append-only log of JSON lines: the storage's index and its event queue, replayed on start.
// Chosen over an embedded database because it needs no native build on `npm install`, a record is
// one line, and a crash can only tear the last line, which replay detects and cuts off.
// Concurrent appends are grouped into one write and one fsync (group commit).
import { promises as fsp } from 'node:fs';
import path from 'node:path';

interface Pending {
  line: string;
  durable: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Journal<R> {
  private queue: Pending[] = [];
  private writing = false;
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

  /** Open (creating if needed) and replay; a torn last line is cut off the file. */
  static async open<R>(file: string, fsync = true): Promise<{ journal: Journal<R>; records: R[] }> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const text = await fsp.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const records: R[] = [];
    let good = 0;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      try {
        records.push(JSON.parse(line) as R);
      } catch {
        break; // torn or corrupt: nothing after it was acknowledged as durable
      }
      start = nl + 1;
      good += Buffer.byteLength(line) + 1;
    }
    const fh = await fsp.open(file, 'a+', 0o600);
    if ((await fh.stat()).size !== good) await fh.truncate(good);
    const journal = new Journal<R>(file, fh, fsync);
    journal.lines = records.length;
    journal.size = good;
    return { journal, records };
  }

  /** Append one record; resolves once written (and, if durable, fsynced). */
  append(record: R, durable = true): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.broken) return reject(this.broken);
      this.queue.push({ line: JSON.stringify(record) + '\n', durable, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length) {
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

  /** Replace the whole log with `records` (compaction): temp file, fsync, rename. */
  async rewrite(records: R[]): Promise<void> {
    while (this.writing || this.queue.length) await new Promise((r) => setImmediate(r));
    const tmp = `${this.file}.${process.pid}.tmp`;
    const out = await fsp.open(tmp, 'w', 0o600);
    try {
      await out.write(records.map((r) => JSON.stringify(r) + '\n').join(''));
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.rename(tmp, this.file);
    await this.fh.close();
    this.fh = await fsp.open(this.file, 'a+', 0o600);
    this.lines = records.length;
    this.size = (await this.fh.stat()).size;
  }

  async close(): Promise<void> {
    while (this.writing || this.queue.length) await new Promise((r) => setImmediate(r));
    await this.fh.close();
  }
}
