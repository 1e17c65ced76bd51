// Find the files a batch works on: files named on the command line as they are, folders walked
// recursively. Symlinks are followed, but a folder is entered once (no loops).
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface FoundFile {
  /** Absolute path on disk. */
  path: string;
  /** Path relative to the folder it was found in ('/'-separated), or the bare name. */
  relPath: string;
  /** Size when scanned (for progress totals; the upload re-checks it when it reads the file). */
  size: number;
}

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

export async function scanPaths(inputs: string[]): Promise<ScanResult> {
  const result: ScanResult = { files: [], problems: [], skipped: [] };
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

  const addFile = (abs: string, relPath: string, size: number) => {
    if (seenFiles.has(abs)) return;
    seenFiles.add(abs);
    result.files.push({ path: abs, relPath, size });
  };

  async function walk(dir: string, rel: string): Promise<void> {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (err) {
      result.problems.push({ path: dir, reason: reasonOf(err) });
      return;
    }
    if (seenDirs.has(real)) return; // a symlink back into a folder already walked
    seenDirs.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      result.problems.push({ path: dir, reason: reasonOf(err) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const abs = path.join(dir, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let st;
      try {
        st = await stat(abs); // follows symlinks
      } catch (err) {
        result.problems.push({ path: abs, reason: reasonOf(err) });
        continue;
      }
      if (st.isDirectory()) await walk(abs, childRel);
      else if (st.isFile()) {
        if (looksLikeImage(entry.name)) addFile(abs, childRel, st.size);
        else result.skipped.push(abs);
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
    if (st.isDirectory()) await walk(abs, '');
    else if (st.isFile()) addFile(abs, path.basename(abs), st.size);
    else result.problems.push({ path: input, reason: 'not a regular file or folder' });
  }
  return result;
}
