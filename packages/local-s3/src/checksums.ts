// The x-amz-checksum-* algorithms S3 verifies. CRC32 is zlib's, CRC32C and CRC64NVME come from the
// AWS libraries the SDKs themselves use (no hand-written tables), SHA-1/SHA-256 from node:crypto.
import { createHash, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { Crc32c } from '@aws-crypto/crc32c';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export interface Hasher {
  update(data: Buffer): void;
  digest(): Promise<Buffer>;
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** zlib.crc32 exists from Node 20.15; the engines field says 20, so it is required here. */
type ZlibCrc32 = (data: Buffer, value?: number) => number;
const zlibCrc32 = (zlib as unknown as { crc32?: ZlibCrc32 }).crc32;

function crc32Hasher(): Hasher {
  if (!zlibCrc32) throw new Error('CRC32 checksums need Node.js 20.15 or later (zlib.crc32)');
  let crc = 0;
  return {
    update: (d) => void (crc = zlibCrc32(d, crc)),
    digest: async () => uint32(crc),
  };
}

function crc32cHasher(): Hasher {
  const h = new Crc32c();
  return { update: (d) => void h.update(d), digest: async () => uint32(h.digest()) };
}

function crc64Hasher(): Hasher {
  const h = new Crc64Nvme();
  return { update: (d) => h.update(d), digest: async () => Buffer.from(await h.digest()) };
}

function nodeHasher(alg: 'sha1' | 'sha256'): Hasher {
  const h: Hash = createHash(alg);
  return { update: (d) => void h.update(d), digest: async () => h.digest() };
}

export function createChecksum(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'SHA256':
      return nodeHasher('sha256');
    case 'SHA1':
      return nodeHasher('sha1');
    case 'CRC32':
      return crc32Hasher();
    case 'CRC32C':
      return crc32cHasher();
    case 'CRC64NVME':
      return crc64Hasher();
  }
}

/** Base64 checksum of a whole buffer (tests and callers that have the bytes in hand). */
export async function checksumOf(alg: ChecksumAlgorithm, data: Buffer): Promise<string> {
  const h = createChecksum(alg);
  h.update(data);
  return (await h.digest()).toString('base64');
}

export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name.toLowerCase());
  return m ? (m[1].toUpperCase() as ChecksumAlgorithm) : undefined;
}

export function validChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[alg] && bytes.toString('base64') === value;
}
