// A byte-for-byte reproducible zip: entries sorted by name, one fixed timestamp, one mode, no
// extended-timestamp field. The same files give the same SHA-256, so an unchanged build can be
// recognised by the CodeSha256 Lambda reports and not uploaded again.
import { createHash } from 'node:crypto';
import yazl from 'yazl';

export interface ZipEntry {
  /** Path inside the zip, '/'-separated. */
  name: string;
  data: Buffer;
}

export interface BuiltZip {
  zip: Buffer;
  /** Hex SHA-256 of the zip. */
  sha256: string;
  /** Base64 SHA-256 of the zip: Lambda's CodeSha256. */
  codeSha256: string;
  bytes: number;
  unzippedBytes: number;
  entries: number;
}

/**
 * yazl writes DOS date/time from local-time fields, so a date built from local fields encodes
 * as 1980-01-01 00:00 in every time zone (an instant in UTC would not).
 */
const FIXED_MTIME = () => new Date(1980, 0, 1, 0, 0, 0);
/** Regular file, rw-r--r--: Lambda runs the code as another user, which must be able to read it. */
const FILE_MODE = 0o100644;

export async function deterministicZip(entries: ZipEntry[]): Promise<BuiltZip> {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].name === sorted[i - 1].name) throw new Error(`duplicate zip entry ${sorted[i].name}`);
  }
  const zipfile = new yazl.ZipFile();
  const mtime = FIXED_MTIME();
  let unzippedBytes = 0;
  for (const e of sorted) {
    if (e.name.startsWith('/') || e.name.split('/').includes('..')) throw new Error(`unsafe zip entry name ${e.name}`);
    zipfile.addBuffer(e.data, e.name, { mtime, mode: FILE_MODE, compress: true, forceDosTimestamp: true });
    unzippedBytes += e.data.length;
  }
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    zipfile.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zipfile.outputStream.on('end', () => resolve());
    zipfile.outputStream.on('error', reject);
  });
  zipfile.end();
  await done;
  const zip = Buffer.concat(chunks);
  const digest = createHash('sha256').update(zip).digest();
  return { zip, sha256: digest.toString('hex'), codeSha256: digest.toString('base64'), bytes: zip.length, unzippedBytes, entries: sorted.length };
}
