// The thread of ./part-hash-thread.ts: a big file's part hashes, read here from the file itself.
import { parentPort } from 'node:worker_threads';
import { hashParts } from './part-hashes.js';

export interface PartHashJob {
  id: number;
  /** A name that is not UTF-8 arrives as bytes (FoundFile.fsPath). */
  path: string | Uint8Array;
  size: number;
}
export type PartHashAnswer = { id: number; parts?: string[] } | { id: number; error: string };

const port = parentPort!;
port.on('message', ({ id, path, size }: PartHashJob) => {
  hashParts(typeof path === 'string' ? path : Buffer.from(path), size).then(
    (parts) => port.postMessage({ id, parts } satisfies PartHashAnswer),
    (err: Error) => port.postMessage({ id, error: err.message } satisfies PartHashAnswer),
  );
});
