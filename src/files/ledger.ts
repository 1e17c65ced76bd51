// The ledger: every file this working folder ever uploaded, per pipeline, one JSON line each
// (.imgpipe/ledger.jsonl). A re-run finds a file by its path and, if its size and mtime are
// unchanged, asks the API about it by the SHA-256 recorded here instead of reading it again; if
// the ledger also saw its `done` record, made with the spec the run asks for, it asks nothing.
//
// JSON lines rather than SQLite: no native build on `npm install`; an append is one write, and a
// process killed mid-append can only tear the last line, which loading skips (and the next
// append starts on a fresh line). Measured at 100,000 entries in bench/ledger.mjs.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic.js';

export const DEFAULT_LEDGER = '.imgpipe/ledger.jsonl';

export interface LedgerEntry {
  /** The pipeline the key lives in (PipelineTarget.pipeline). */
  pipeline: string;
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  contentType: string;
  key: string;
  at: string;
  /**
   * The spec hash of the `done` record a wait read for `key` in this pipeline: every variant of
   * that spec is there. Absent: not known (no wait yet, or the record was not read).
   */
  done?: string;
  /** A file sent in parts: each part's SHA-256 (api/contract.ts partsOf), so a re-run need not read it for them. */
  parts?: string[];
}

const id = (pipeline: string, path: string) => `${pipeline}\n${path}`;

function valid(e: Partial<LedgerEntry>): e is LedgerEntry {
  return typeof e.pipeline === 'string' && typeof e.path === 'string' && typeof e.key === 'string' && typeof e.sha256 === 'string' && typeof e.size === 'number' && typeof e.mtimeMs === 'number' && (e.parts === undefined || (Array.isArray(e.parts) && e.parts.every((p) => typeof p === 'string')));
}

export class Ledger {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private readonly entries: Map<string, LedgerEntry>,
    /** The file does not end in a newline (a torn last line): the next append starts a new one. */
    private torn: boolean,
  ) {}

  static async open(file = DEFAULT_LEDGER): Promise<Ledger> {
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    const entries = new Map<string, LedgerEntry>();
    let lines = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines++;
      try {
        const e = JSON.parse(line) as Partial<LedgerEntry>;
        if (valid(e)) entries.set(id(e.pipeline, e.path), e);
      } catch {
        /* a torn line: skipped */
      }
    }
    const ledger = new Ledger(file, entries, text.length > 0 && !text.endsWith('\n'));
    // Superseded lines pile up as files change: keep the file within twice what it holds.
    if (lines > 1000 && lines > 2 * entries.size) await ledger.compact();
    return ledger;
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(pipeline: string, path: string): LedgerEntry | undefined {
    return this.entries.get(id(pipeline, path));
  }

  /** Record uploads (or files found already there); appends are serialised, one write each. */
  append(batch: LedgerEntry[]): Promise<void> {
    if (!batch.length) return this.chain;
    for (const e of batch) this.entries.set(id(e.pipeline, e.path), e);
    const text = (this.torn ? '\n' : '') + batch.map((e) => JSON.stringify(e)).join('\n') + '\n';
    this.torn = false;
    this.chain = this.chain.then(async () => {
      await mkdir(path.dirname(path.resolve(this.file)), { recursive: true });
      await appendFile(this.file, text, { mode: 0o600 });
    });
    return this.chain;
  }

  private async compact(): Promise<void> {
    await writeFileAtomic(this.file, [...this.entries.values()].map((e) => JSON.stringify(e) + '\n').join(''), 0o600);
    this.torn = false;
  }
}
