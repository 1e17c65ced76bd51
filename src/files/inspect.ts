// One streaming read per file before upload: magic bytes (is it an image?), SHA-256 (signed into
// the URL, so S3 refuses any other body) and structural integrity (truncated, damaged); then the
// header (dimensions, frames) against the spec's limits. Never the whole file in memory.
// The path is a string, or bytes for a name that is not valid UTF-8 (see FoundFile.fsPath).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { integrityCheck, type IntegrityCheck } from '../core/integrity.js';
import { checkDecodes, planImage } from '../core/resize.js';
import type { Spec } from '../core/spec.js';
import { SNIFF_BYTES, sniff } from '../core/validate.js';
import { partHasher } from './part-hashes.js';

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

export async function inspectFile(path: string | Buffer, spec: Spec): Promise<Inspected> {
  let before;
  try {
    before = await stat(path);
  } catch (err) {
    return { ok: false, reason: fsReason(err) };
  }
  if (before.size === 0) return { ok: false, reason: 'empty file (0 bytes)' };
  const hash = createHash('sha256');
  const parts = partHasher(before.size);
  let size = 0;
  // Chunks seen before the magic bytes are complete; then the integrity check takes over.
  let pending: Buffer[] = [];
  let check: IntegrityCheck | undefined;
  let contentType = '';
  const decide = (): string | undefined => {
    const sniffed = sniff(Buffer.concat(pending).subarray(0, SNIFF_BYTES));
    if (!sniffed.ok) return sniffed.reason;
    contentType = sniffed.contentType;
    check = integrityCheck(sniffed.format, crc32); // zlib's: native, for PNGs of any size
    for (const c of pending) check.update(c);
    pending = [];
    return undefined;
  };
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      parts?.update(buf);
      size += buf.length;
      if (check) check.update(buf);
      else {
        pending.push(buf);
        if (size >= SNIFF_BYTES) {
          const refused = decide();
          if (refused) return { ok: false, reason: refused };
        }
      }
    }
  } catch (err) {
    return { ok: false, reason: fsReason(err) };
  }
  if (!check) {
    const refused = decide(); // a file shorter than the sniff window
    if (refused) return { ok: false, reason: refused };
  }
  if (size !== before.size) return { ok: false, reason: 'file changed while it was being read' };

  const integrity = check?.finish() ?? { ok: true };
  try {
    if (!integrity.ok && integrity.definite) return { ok: false, reason: integrity.reason };
    const { source } = await withImageInput(path, async (input) => {
      if (!integrity.ok) await checkDecodes(input, spec); // only suspicious files pay for a decode
      return planImage(input, spec); // header: dimensions, frames, pixel limit
    });
    return { ok: true, size, sha256: hash.digest('base64'), contentType, width: source.width, height: source.height, ...(parts ? { parts: parts.digest() } : {}) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
