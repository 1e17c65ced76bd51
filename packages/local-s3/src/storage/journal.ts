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
    return { journal, records };
  }

  /** Append one record; resolves once written (and, if durable, fsynced). */
  append(record: R, durable = true): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: JSON.stringify(record) + '\n', durable, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.fh.write(batch.map((p) => p.line).join(''));
        if (this.fsync && batch.some((p) => p.durable)) await this.fh.datasync();
        this.lines += batch.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.writing = false;
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
  }

  async close(): Promise<void> {
    while (this.writing || this.queue.length) await new Promise((r) => setImmediate(r));
    await this.fh.close();
  }
}
