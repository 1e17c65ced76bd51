// Fetch objects into a folder, each under its key, written atomically.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The local path for a key, refusing keys that would escape the folder. */
function localPathFor(dir: string, key: string): string {
  const parts = key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0'))) {
    throw new Error(`refusing to write key "${key}" outside ${dir}`);
  }
  return path.join(path.resolve(dir), ...parts);
}

/** Download `key` to `dir/<rel>` (default: the key itself as the path). */
export async function downloadObject(s3: S3Client, bucket: string, key: string, dir: string, signal?: AbortSignal, rel = key): Promise<{ path: string; bytes: number }> {
  const target = localPathFor(dir, rel);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.download`;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    await pipeline(res.Body as Readable, createWriteStream(tmp), { signal });
    await rename(tmp, target);
    return { path: target, bytes: res.ContentLength ?? 0 };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
