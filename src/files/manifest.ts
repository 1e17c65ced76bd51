// The upload manifest: what the last run uploaded where, so `watch` and `reprocess` know which
// photos it sent. What a re-run skips is the ledger's call (files/ledger.ts), not this file's.
// Always written whole to a temporary file and renamed: never torn, even on SIGKILL.
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Destination } from '../core/destination.js';
import { isStored, type FileStatus } from '../core/file-status.js';
import { writeFileAtomic } from './atomic.js';

export const DEFAULT_MANIFEST = '.imgpipe/last-upload.json';

export interface ManifestFile {
  path: string;
  relPath: string;
  size: number;
  /** Absent for a file refused before it was read whole. */
  sha256?: string;
  contentType?: string;
  key?: string;
  status: FileStatus;
  error?: string;
  uploadedAt?: string;
  /** The API queued its bytes for resize again then: a failure record older than that is stale. */
  requeuedAt?: string;
}

/** What the last run uploaded where: its destination, and its checked files as far as each got. */
export interface Manifest extends Partial<Destination> {
  version: 1;
  api?: string;
  updatedAt: string;
  files: ManifestFile[];
}

export async function readManifest(file: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const doc = JSON.parse(text) as Manifest;
  if (doc.version !== 1 || !Array.isArray(doc.files)) throw new Error(`${file}: not an imgpipe manifest`);
  return doc;
}

/** The keys the run left in the bucket (uploaded then, or there already): what `watch` and `reprocess` look at. */
export function storedKeys(manifest: Manifest | undefined): string[] {
  return (manifest?.files ?? []).flatMap((f) => (isStored(f.status) && f.key ? [f.key] : []));
}

/** A process killed mid-write leaves its temporary file: remove other processes' leftovers. */
async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const base = `${path.basename(file)}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(base) && n.endsWith('.tmp') && !n.startsWith(`${base}${process.pid}.`))
      .map((n) => rm(path.join(dir, n), { force: true })),
  );
}

async function writeManifest(file: string, manifest: Manifest): Promise<void> {
  // 0600: it holds the local paths of every file of the run.
  await writeFileAtomic(file, `${JSON.stringify({ ...manifest, updatedAt: new Date().toISOString() }, null, 2)}\n`, 0o600);
}

/** Serialises writes and coalesces bursts: at most one write in flight, the last state wins. */
export class ManifestWriter {
  private pending = false;
  private running: Promise<boolean>;
  /** The run is over: no write waits for more completions (the last one cost every upload 200 ms). */
  private final = false;
  private wake?: () => void;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => Manifest,
    private readonly coalesceMs = 200,
  ) {
    this.running = removeStaleTemps(file).then(() => false);
  }

  /**
   * Resolves true once the state is on disk, false when there was nothing to record; rejects when
   * the write failed. `final`: the last save of the run, written without waiting to coalesce.
   */
  save(final = false): Promise<boolean> {
    if (final) {
      this.final = true;
      this.wake?.();
    }
    if (this.pending) return this.running;
    this.pending = true;
    // After a failed write the next one tries again (its caller heard of the failure).
    this.running = this.running.catch(() => false).then(async () => {
      // Coalesce: completions in the next moment ride on this write (it rewrites the whole file).
      if (!this.final) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.coalesceMs);
          this.wake = () => (clearTimeout(timer), resolve());
        });
      }
      this.wake = undefined;
      this.pending = false;
      // A run that put no key anywhere (a typo, every file refused) leaves the last good manifest,
      // so `watch` with no arguments still means the last run that uploaded something.
      const manifest = this.snapshot();
      if (!manifest.files.some((f) => f.key)) return false;
      await writeManifest(this.file, manifest);
      return true;
    });
    return this.running;
  }
}
