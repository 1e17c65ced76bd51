// Read a deployment zip the way Lambda does: with a standard zip reader (yauzl), every entry
// decompressed and CRC-checked; extract it into a folder.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';

export interface ZipFileEntry {
  name: string;
  data: Buffer;
  /** Unix mode from the external attributes. */
  mode: number;
  dosDate: number;
  dosTime: number;
  extraFieldLength: number;
}

export function readZip(zip: Buffer): Promise<ZipFileEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: true }, (err, zipfile) => {
      if (err || !zipfile) return reject(err);
      const out: ZipFileEntry[] = [];
      zipfile.on('error', reject);
      zipfile.on('end', () => resolve(out));
      zipfile.on('entry', (entry: yauzl.Entry) => {
        zipfile.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.push({
              name: entry.fileName,
              data: Buffer.concat(chunks),
              mode: entry.externalFileAttributes >>> 16,
              dosDate: entry.lastModFileDate,
              dosTime: entry.lastModFileTime,
              extraFieldLength: entry.extraFieldLength,
            });
            zipfile.readEntry();
          });
        });
      });
      zipfile.readEntry();
    });
  });
}

export async function extractZip(zip: Buffer, dir: string): Promise<ZipFileEntry[]> {
  const entries = await readZip(zip);
  for (const e of entries) {
    const target = path.join(dir, e.name);
    if (!target.startsWith(dir + path.sep)) throw new Error(`entry escapes the folder: ${e.name}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, e.data, { mode: e.mode & 0o777 });
  }
  return entries;
}
