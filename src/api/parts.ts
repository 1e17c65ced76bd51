// How a big file is cut into parts for S3 multipart: the one rule the client (CLI and page) and
// the presign API both cut by. No zod here: the upload page bundles this module, and only types
// from the contract (./contract.ts).

const MiB = 1024 * 1024;

/**
 * Files of at least this size go up in parts (S3 multipart), when the client sends each part's
 * SHA-256 (`FileRequest.parts`): two parts of the smallest size. Parts are for resuming, not for
 * speed: on the WAN bench (bench/upload-wan.mjs, 40 ms, no loss) one PUT beat 8 MiB parts at every
 * size up to 64 MiB, but a failed 40 MB PUT starts again from byte 0, and a part only from its own.
 */
export const MULTIPART_MIN_BYTES = 16 * MiB;
/** Parts are 8 MiB (aws-cli's and lib-storage's default chunk), larger only to stay within S3's 10,000 parts. */
const MIN_PART_BYTES = 8 * MiB;
const MAX_PARTS = 10_000;

/** The size of every part but the last, for a file of `size` bytes: what client and server both cut by. */
export function partSizeFor(size: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/** A file's parts: S3's numbers (from 1), each one's first byte and length. */
export function partsOf(size: number): { partNumber: number; start: number; size: number }[] {
  const partSize = partSizeFor(size);
  const parts = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) parts.push({ partNumber: n, start, size: Math.min(partSize, size - start) });
  return parts;
}
