// Find the files a batch works on: files named on the command line as they are, folders walked
// recursively. Symlinks are followed, but a folder is entered once (no loops).
//
// A name on disk is bytes, and on Linux they need not be valid UTF-8. Node decodes such a name with
// U+FFFD for the bad bytes, and that string names no file: folders are read as bytes, and a path
// with such a name in it is kept as bytes (`fsPath`) for every read, its U+FFFD form for display.
import { isUtf8 } from 'node:buffer';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

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
  /** Modification time when scanned: with the size, what the ledger compares (no second stat). */
  mtimeMs: number;
}

/** The path to open a found file by: its real bytes when its name is not UTF-8, else `path`. */
export const diskPath = (file: Pick<FoundFile, 'path' | 'fsPath'>): string | Buffer => file.fsPath ?? file.path;

export type SpecialKind = 'FIFO' | 'socket' | 'device';

/** What a stat says an entry is, when it is neither a regular file nor a folder. */
function specialKind(st: { isFIFO(): boolean; isSocket(): boolean }): SpecialKind {
  return st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device';
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
  /** Hidden entries of walked folders (names starting with '.': files and folders), not looked at. */
  hidden: string[];
  /** Entries of walked folders that are no file to read: FIFOs (reading one would block), sockets, devices. */
  special: { path: string; kind: SpecialKind }[];
  /** Files left out by --exclude/--include, with the pattern that decided. */
  excluded: { path: string; relPath: string; pattern: string }[];
}

/** An --exclude or --include, in command-line order: the last one that matches a path decides. */
export interface PathFilter {
  kind: 'exclude' | 'include';
  pattern: string;
}

export interface ScanOptions {
  filters?: PathFilter[];
  /** An argument that names nothing but has `*`, `?`, `[` or `{` in it is expanded as a glob. */
  expandGlobs?: boolean;
}

/**
 * A glob as a RegExp, by picomatch: `?`, `*`, `**`, `[a-z]`/`[!a-z]` classes, `{a,b}` and `{1..3}` braces, extglobs.
 * `pathAware` (the shell's rules, for glob arguments): `*`, `?` and classes stop at '/', only `**`
 * crosses it, and a hidden name needs its dot spelled. Otherwise (aws s3's --exclude/--include,
 * Python's fnmatch): `*` crosses '/' too and matches hidden names.
 */
function globToRegExp(glob: string, pathAware = false): RegExp {
  // `[!a]` is the shell's negated class; picomatch reads that `!` as a literal character.
  const shellClasses = glob.replace(/(^|[^\\])\[!/g, '$1[^');
  return picomatch.makeRe(shellClasses, pathAware ? {} : { bash: true, dot: true });
}

const hasGlob = (arg: string): boolean => /[*?[{]/.test(arg);

/** The pattern that leaves `relPath` out, or undefined when it is in (everything is, by default). */
function excludedBy(relPath: string, filters: PathFilter[] = []): string | undefined {
  let by: string | undefined;
  for (const f of filters) if (filterRegExp(f.pattern).test(relPath)) by = f.kind === 'exclude' ? f.pattern : undefined;
  return by;
}

/** Each filter pattern compiled once, not once per file it is matched against. */
const compiledFilters = new Map<string, RegExp>();
function filterRegExp(pattern: string): RegExp {
  let re = compiledFilters.get(pattern);
  if (!re) compiledFilters.set(pattern, (re = globToRegExp(pattern)));
  return re;
}

/** The kind a skipped entry is counted as: its extension as written, or a hidden name itself. */
function skipKind(shown: string): string {
  const name = path.basename(shown);
  if (name.startsWith('.')) return name;
  return path.extname(name) || '(no extension)';
}

// In folders, only files that look like images are picked up (so a README or .DS_Store in a
// photo folder is not an error); each one is then checked by its magic bytes. A file named
// explicitly is always taken, whatever its name.
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.jpe', '.png', '.webp', '.avif', '.gif', '.tif', '.tiff', '.heic', '.heif']);

function looksLikeImage(name: string): boolean {
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

/**
 * What a glob argument names, as the shell would have expanded it (sorted; hidden names only when
 * the pattern spells the dot). The walk starts at the pattern's literal folder and goes no deeper
 * than its segments, unless it has `**`.
 */
async function expandGlob(pattern: string): Promise<string[]> {
  const { prefix, base, glob } = picomatch.scan(pattern);
  if (!glob) return [];
  // As the shell spells it: `./photos/*.jpg` gives `./photos/a.jpg`, `/*.jpg` gives `/a.jpg`.
  const root = prefix + base;
  const spell = (rel: string) => (!root ? rel : root.endsWith('/') ? root + rel : `${root}/${rel}`);
  const rest = glob.split('/');
  const depth = rest.includes('**') ? Infinity : rest.length;
  const re = globToRegExp(glob, true);
  const found: string[] = [];
  async function walk(dir: string, rel: string, level: number): Promise<void> {
    const entries = await readdir(path.resolve(dir || '.'), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const segment = rest[Math.min(level, rest.length - 1)];
      if (e.name.startsWith('.') && !segment.startsWith('.')) continue;
      const child = dir ? path.join(dir, e.name) : e.name;
      if (re.test(childRel)) found.push(spell(childRel));
      const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(child).then((st) => st.isDirectory(), () => false)));
      if (isDir && level + 1 < depth) await walk(child, childRel, level + 1);
    }
  }
  await walk(root, '', 0);
  return found.sort();
}

/** What a folder walk passed over (not images, hidden), counted by kind, most frequent first. */
export interface WalkSkips {
  total: number;
  kinds: Record<string, number>;
  paths: string[];
}

export function walkSkips(scan: ScanResult): WalkSkips {
  const paths = [...scan.skipped, ...scan.hidden];
  const counts = new Map<string, number>();
  for (const p of paths) counts.set(skipKind(p), (counts.get(skipKind(p)) ?? 0) + 1);
  for (const { path: p, kind } of scan.special) {
    paths.push(p);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return { total: paths.length, kinds: Object.fromEntries(sorted), paths };
}

/** `skipped 12: 9 .xmp, 2 .CR2, 1 .DS_Store`, or '' when nothing was. */
export function walkSkipsText(s: WalkSkips): string {
  if (!s.total) return '';
  return `skipped ${s.total}: ${Object.entries(s.kinds).map(([kind, n]) => `${n} ${kind}`).join(', ')}`;
}

export async function scanPaths(inputs: string[], opts: ScanOptions = {}): Promise<ScanResult> {
  const result: ScanResult = { files: [], problems: [], skipped: [], hidden: [], special: [], excluded: [] };
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

  const addFile = (at: Place, relPath: string, size: number, mtimeMs: number) => {
    const id = identity(at.disk);
    if (seenFiles.has(id)) return;
    const pattern = excludedBy(relPath, opts.filters);
    if (pattern !== undefined) return void result.excluded.push({ path: at.shown, relPath, pattern });
    seenFiles.add(id);
    result.files.push(typeof at.disk === 'string' ? { path: at.shown, relPath, size, mtimeMs } : { path: at.shown, fsPath: at.disk, relPath, size, mtimeMs });
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
      if (entry.name.startsWith('.')) {
        result.hidden.push(entry.shown);
        continue;
      }
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
        if (looksLikeImage(entry.name)) addFile(entry, childRel, st.size, st.mtimeMs);
        else result.skipped.push(entry.shown);
      } else result.special.push({ path: entry.shown, kind: specialKind(st) });
    }
  }

  for (const input of await expandArgs(inputs, !!opts.expandGlobs, result.problems)) {
    const abs = path.resolve(input);
    let st;
    try {
      st = await stat(abs);
    } catch (err) {
      result.problems.push({ path: input, reason: reasonOf(err) });
      continue;
    }
    if (st.isDirectory()) await walk({ disk: abs, shown: abs }, '');
    else if (st.isFile()) addFile({ disk: abs, shown: abs }, path.basename(abs), st.size, st.mtimeMs);
    else result.problems.push({ path: input, reason: `not a regular file or folder (a ${specialKind(st)})` });
  }
  return result;
}

/** The arguments, each glob that names no path (the shell left it quoted) replaced by its matches. */
async function expandArgs(inputs: string[], expand: boolean, problems: ScanProblem[]): Promise<string[]> {
  if (!expand) return inputs;
  const out: string[] = [];
  for (const input of inputs) {
    const exists = await stat(input).then(() => true, () => false);
    if (exists || !hasGlob(input)) out.push(input);
    else {
      const matches = await expandGlob(input);
      if (matches.length) out.push(...matches);
      else problems.push({ path: input, reason: 'no such file or directory, and no file matches it as a pattern' });
    }
  }
  return out;
}
