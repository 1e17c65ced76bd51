// Find the files a batch works on: files named on the command line as they are, folders walked
// recursively. Symlinks are followed, but a folder is entered once (no loops).
//
// A name on disk is bytes, and on Linux they need not be valid UTF-8. Node decodes such a name with
// U+FFFD for the bad bytes, and that string names no file: folders are read as bytes, and a path
// with such a name in it is kept as bytes (`fsPath`) for every read, its U+FFFD form for display.
import { isUtf8 } from 'node:buffer';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface FoundFile {
  /** Absolute path, for display and records (a name's bytes that are not UTF-8 shown as U+FFFD). */
  path: string;
  /**
   * The path's real bytes, only when a name in it is not valid UTF-8: `path` then names no file,
   * so every fs call (stat, open, read) takes this instead. See `diskPath`.
   */
  fsPath?: Buffer;
  /** Path relative to the folder it was found in ('/'-separated), or the bare name. */
  relPath: string;
  /** Size when scanned (for progress totals; the upload re-checks it when it reads the file). */
  size: number;
}

/** The path to open a found file by: its real bytes when its name is not UTF-8, else `path`. */
export const diskPath = (file: Pick<FoundFile, 'path' | 'fsPath'>): string | Buffer => file.fsPath ?? file.path;

export interface ScanProblem {
  path: string;
  reason: string;
}

export interface ScanResult {
  files: FoundFile[];
  problems: ScanProblem[];
  /** Files in folders skipped because their extension is not an image's. */
  skipped: string[];
}

// In folders, only files that look like images are picked up (so a README or .DS_Store in a
// photo folder is not an error); each one is then checked by its magic bytes. A file named
// explicitly is always taken, whatever its name.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.avif', '.gif', '.tif', '.tiff', '.heic', '.heif']);

export function looksLikeImage(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ELOOP': return 'too many levels of symbolic links (symlink loop)';
    default: return e.message ?? String(err);
  }
}

/** A place on disk: what fs calls take (bytes once a name on the way is not UTF-8), and what is shown. */
interface Place {
  disk: string | Buffer;
  shown: string;
}

/** A folder's entry, by the bytes of its name. */
function childOf(dir: Place, name: Buffer): Place & { name: string } {
  const shownName = name.toString('utf8'); // U+FFFD for bytes that are not UTF-8
  const shown = path.join(dir.shown, shownName);
  if (typeof dir.disk === 'string' && isUtf8(name)) return { disk: shown, shown, name: shownName };
  const parent = Buffer.from(dir.disk);
  const sep = parent[parent.length - 1] === path.sep.charCodeAt(0) ? [] : [Buffer.from(path.sep)];
  return { disk: Buffer.concat([parent, ...sep, name]), shown, name: shownName };
}

/** Same bytes, same key: two names that differ only in bytes that are not UTF-8 stay apart. */
const identity = (p: string | Buffer): string => Buffer.from(p).toString('latin1');

/** Folder entries in name order (bytes break ties between names that show the same). */
async function namesIn(dir: string | Buffer): Promise<Buffer[]> {
  const names = await readdir(dir, { encoding: 'buffer' });
  return names
    .map((bytes) => ({ bytes, text: bytes.toString('utf8') }))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : Buffer.compare(a.bytes, b.bytes)))
    .map((n) => n.bytes);
}

export async function scanPaths(inputs: string[]): Promise<ScanResult> {
  const result: ScanResult = { files: [], problems: [], skipped: [] };
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

  const addFile = (at: Place, relPath: string, size: number) => {
    const id = identity(at.disk);
    if (seenFiles.has(id)) return;
    seenFiles.add(id);
    result.files.push(typeof at.disk === 'string' ? { path: at.shown, relPath, size } : { path: at.shown, fsPath: at.disk, relPath, size });
  };

  async function walk(dir: Place, rel: string): Promise<void> {
    let real: Buffer;
    try {
      real = await realpath(dir.disk, { encoding: 'buffer' });
    } catch (err) {
      result.problems.push({ path: dir.shown, reason: reasonOf(err) });
      return;
    }
    if (seenDirs.has(identity(real))) return; // a symlink back into a folder already walked
    seenDirs.add(identity(real));
    let names;
    try {
      names = await namesIn(dir.disk);
    } catch (err) {
      result.problems.push({ path: dir.shown, reason: reasonOf(err) });
      return;
    }
    for (const bytes of names) {
      const entry = childOf(dir, bytes);
      if (entry.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let st;
      try {
        st = await stat(entry.disk); // follows symlinks
      } catch (err) {
        result.problems.push({ path: entry.shown, reason: reasonOf(err) });
        continue;
      }
      if (st.isDirectory()) await walk(entry, childRel);
      else if (st.isFile()) {
        if (looksLikeImage(entry.name)) addFile(entry, childRel, st.size);
        else result.skipped.push(entry.shown);
      }
    }
  }

  for (const input of inputs) {
    const abs = path.resolve(input);
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      result.problems.push({ path: input, reason: reasonOf(err) });
      continue;
    }
    if (st.isDirectory()) await walk({ disk: abs, shown: abs }, '');
    else if (st.isFile()) addFile({ disk: abs, shown: abs }, path.basename(abs), st.size);
    else result.problems.push({ path: input, reason: 'not a regular file or folder' });
  }
  return result;
}
