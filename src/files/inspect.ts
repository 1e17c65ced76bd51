// One streaming read per file before upload: magic bytes (is it an image?) and SHA-256 (signed
// into the URL, so S3 refuses any other body). Never the whole file in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SNIFF_BYTES, sniff } from '../core/validate.js';

export type Inspected =
  | { ok: true; size: number; sha256: string; contentType: string; mtimeMs: number }
  | { ok: false; reason: string };

export async function inspectFile(path: string): Promise<Inspected> {
  let before;
  try {
    before = await stat(path);
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file disappeared before upload' : (err as Error).message };
  }
  const hash = createHash('sha256');
  let head = Buffer.alloc(0);
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      const buf = chunk as Buffer;
      if (head.length < SNIFF_BYTES) head = Buffer.concat([head, buf.subarray(0, SNIFF_BYTES - head.length)]);
      hash.update(buf);
      size += buf.length;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'EACCES' ? 'permission denied' : code === 'ENOENT' ? 'file disappeared before upload' : (err as Error).message };
  }
  const sniffed = sniff(head);
  if (!sniffed.ok) return { ok: false, reason: sniffed.reason };
  if (size !== before.size) return { ok: false, reason: 'file changed while it was being read' };
  return { ok: true, size, sha256: hash.digest('base64'), contentType: sniffed.contentType, mtimeMs: before.mtimeMs };
}
