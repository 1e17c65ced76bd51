// One streaming read per file before upload: magic bytes (is it an image?), SHA-256 (signed into
// the URL, so S3 refuses any other body) and structural integrity (truncated, damaged); then the
// header (dimensions, frames) against the spec's limits. Never the whole file in memory.
// The path is a string, or bytes for a name that is not valid UTF-8 (see FoundFile.fsPath).
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { integrityCheck, type IntegrityCheck } from '../core/integrity.js';
import { checkDecodes, planImage } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { SNIFF_BYTES, sniff } from '../core/validate.js';
import { hashPartsAside } from './part-hash-thread.js';

export type Inspected =
  /** `parts`: each part's SHA-256, for a file that goes up in parts (./part-hashes.ts). */
  | { ok: true; size: number; sha256: string; contentType: string; width?: number; height?: number; parts?: string[] }
  | { ok: false; reason: string };

function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'file disappeared before upload';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}

/**
 * sharp takes a file by a name string only: a Buffer is the image's bytes to it. A path held as
 * bytes is opened here and handed over as /proc/self/fd/N, the same file through its descriptor
 * (Linux, where such names occur); with no /proc, the file's bytes are read instead.
 */
export async function withImageInput<T>(path: string | Buffer, use: (input: string | Buffer) => Promise<T>): Promise<T> {
  if (typeof path === 'string') return use(path);
  const fh = await open(path, 'r');
  try {
    const byFd = `/proc/self/fd/${fh.fd}`;
    const hasProc = await stat(byFd).then(() => true, () => false);
    return await use(hasProc ? byFd : await fh.readFile());
  } finally {
    await fh.close();
  }
}

// 1 MiB reads into buffers kept for the next file: a quarter of the calls of 256 KiB, no copy of a
// short last read (a ReadStream copies it out), and no megabyte of garbage per photo. Nothing keeps
// a chunk: the hashes take it at once, the integrity check copies the few bytes it keeps.
const CHUNK_BYTES = 1024 * 1024;
const MAX_SPARE_CHUNKS = 16; // the upload's default concurrency on 2 cores
const spareChunks: Buffer[] = [];

/** The file's bytes read into `buf`, a chunk at a time, each valid only until the next is asked for. */
async function* fileChunks(path: string | Buffer, buf: Buffer): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    for (let at = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) return;
      at += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

export async function inspectFile(path: string | Buffer, spec: Spec): Promise<Inspected> {
  const buf = spareChunks.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    return await inspectWith(path, spec, buf);
  } finally {
    if (spareChunks.length < MAX_SPARE_CHUNKS) spareChunks.push(buf);
  }
}

async function inspectWith(path: string | Buffer, spec: Spec, buf: Buffer): Promise<Inspected> {
  let before;
  try {
    before = await stat(path);
  } catch (err) {
    return { ok: false, reason: fsReason(err) };
  }
  if (before.size === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const hash = createHash('sha256');
  // A big file's part hashes (none for a small one), on another core meanwhile: its own read of the file.
  const parts = hashPartsAside(path, before.size);
  parts.catch(() => undefined); // awaited below, unless the file is refused first
  let size = 0;
  let reads = 0;
  // Bytes read before there were SNIFF_BYTES to sniff (copies: a chunk's buffer is reused), then the check.
  let held: Buffer[] = [];
  let check: IntegrityCheck | undefined;
  let contentType = '';
  const decide = (first: Buffer): string | undefined => {
    const sniffed = sniff(first.subarray(0, SNIFF_BYTES));
    if (!sniffed.ok) return sniffed.reason;
    contentType = sniffed.contentType;
    check = integrityCheck(sniffed.format, crc32); // zlib's: native, for PNGs of any size
    check.update(first);
    held = [];
    return undefined;
  };
  try {
    for await (const chunk of fileChunks(path, buf)) {
      reads++;
      hash.update(chunk);
      size += chunk.length;
      if (check) {
        check.update(chunk);
        continue;
      }
      const first = held.length ? Buffer.concat([...held, chunk]) : chunk;
      if (first.length < SNIFF_BYTES) {
        held.push(Buffer.from(chunk));
        continue;
      }
      const refused = decide(first);
      if (refused) return { ok: false, reason: refused };
    }
  } catch (err) {
    return { ok: false, reason: fsReason(err) };
  }
  if (!check) {
    const refused = decide(Buffer.concat(held)); // a file shorter than the sniff window
    if (refused) return { ok: false, reason: refused };
  }
  if (size !== before.size) return { ok: false, reason: 'file changed while it was being read' };

  const integrity = check?.finish() ?? { ok: true };
  try {
    if (!integrity.ok && integrity.definite) return { ok: false, reason: integrity.reason };
    const plan = async (input: string | Buffer) => {
      if (!integrity.ok) await checkDecodes(input, spec); // only suspicious files pay for a decode
      return planImage(input, spec); // header: dimensions, frames, pixel limit
    };
    // A file read in one chunk is still whole in `buf` (the image's bytes, where withImageInput's
    // Buffer is a name): its header is read from there, the file not opened twice more.
    const { source } = reads === 1 ? await plan(buf.subarray(0, size)) : await withImageInput(path, plan);
    const partHashes = await parts;
    return { ok: true, size, sha256: hash.digest('base64'), contentType, width: source.width, height: source.height, ...(partHashes ? { parts: partHashes } : {}) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
