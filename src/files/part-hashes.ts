// The SHA-256 of each part of a file that goes up in parts (api/contract.ts partsOf), from a read of
// their own: beside the check's read on another thread (./part-hash-thread.ts), or alone when the
// ledger supplied the file's hash without a read.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { MULTIPART_MIN_BYTES, partSizeFor } from '../api/parts.js';

export interface PartHasher {
  update(chunk: Buffer): void;
  /** Base64 SHA-256 of each part, in order. */
  digest(): string[];
}

/** A hasher for a file of `size` bytes, or undefined when it goes up in one PUT. */
function partHasher(size: number): PartHasher | undefined {
  if (size < MULTIPART_MIN_BYTES) return undefined;
  const partSize = partSizeFor(size);
  const done: string[] = [];
  let hash: Hash = createHash('sha256');
  let inPart = 0;
  return {
    update(chunk) {
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(partSize - inPart, chunk.length - at);
        hash.update(chunk.subarray(at, at + take));
        at += take;
        inPart += take;
        if (inPart === partSize) {
          done.push(hash.digest('base64'));
          hash = createHash('sha256');
          inPart = 0;
        }
      }
    },
    digest: () => (inPart > 0 ? [...done, hash.digest('base64')] : done),
  };
}

/** The part hashes of a file on disk (one read), or undefined below the multipart threshold. */
export async function hashParts(path: string | Buffer, size: number): Promise<string[] | undefined> {
  const hasher = partHasher(size);
  if (!hasher) return undefined;
  let read = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hasher.update(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  if (read !== size) throw new Error('file changed while it was being read');
  return hasher.digest();
}
