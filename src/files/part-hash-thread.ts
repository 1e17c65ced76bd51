// A big file's part hashes on a thread of its own, which reads the file itself, while the check's
// read hashes the whole file on the main thread: the two SHA-256 passes on two cores instead of one
// after the other (the 256 MiB file's check: ~400 -> ~250 ms). One thread for the run, started at
// the first big file and not keeping the process alive; run from the TypeScript sources, where
// there is no built worker, or if the thread dies, the hashes are made in this thread instead.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MULTIPART_MIN_BYTES } from '../api/parts.js';
import type { PartHashAnswer, PartHashJob } from './part-hash-worker.js';
import { hashParts } from './part-hashes.js';

// Built beside this file (dist/src/files/).
const WORKER = new URL('./part-hash-worker.js', import.meta.url);

interface Waiting {
  job: PartHashJob;
  resolve: (parts: string[] | undefined) => void;
  reject: (err: Error) => void;
}

let thread: Worker | undefined;
let unavailable = false;
let nextId = 1;
const waiting = new Map<number, Waiting>();

function hashHere(w: Waiting): void {
  const { path, size } = w.job;
  hashParts(typeof path === 'string' ? path : Buffer.from(path), size).then(w.resolve, w.reject);
}

function startThread(): Worker | undefined {
  if (unavailable || !existsSync(fileURLToPath(WORKER))) return undefined;
  const worker = new Worker(WORKER);
  worker.unref();
  worker.on('message', (answer: PartHashAnswer) => {
    const w = waiting.get(answer.id);
    waiting.delete(answer.id);
    if (!waiting.size) worker.unref();
    if (w) 'error' in answer ? w.reject(new Error(answer.error)) : w.resolve(answer.parts);
  });
  // A thread that fails (cannot start, runs out of memory): every later job here. Whatever ended
  // it ('exit' follows 'error'), the jobs it had are made here, and none is sent to it again.
  worker.on('error', () => (unavailable = true));
  worker.on('exit', () => {
    if (thread === worker) thread = undefined;
    const left = [...waiting.values()];
    waiting.clear();
    left.forEach(hashHere);
  });
  return worker;
}

/** hashParts(path, size), on the part-hash thread where there is one; undefined below the multipart threshold. */
export function hashPartsAside(path: string | Buffer, size: number): Promise<string[] | undefined> {
  if (size < MULTIPART_MIN_BYTES) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const w: Waiting = { job: { id: nextId++, path, size }, resolve, reject };
    thread ??= startThread();
    if (!thread) return hashHere(w);
    waiting.set(w.job.id, w);
    thread.ref(); // alive while it has work
    thread.postMessage(w.job);
  });
}
