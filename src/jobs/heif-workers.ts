// HEIC decodes for resize-local on threads of their own, as many as photos are resized at once:
// in one thread they queue behind one another (a 12 MP photo's decode is most of its resize), so
// on two cores a folder of HEICs took as long at --concurrency 2 as at 1. The Lambda never uses
// this: one vCPU, and one photo per invocation.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ImgpipeError } from '../core/errors.js';
import { HEIF_ERRORS, type DecodedHeif, type HeifHeader } from '../core/heif.js';
import { ImageError, type HeifCodec } from '../core/resize.js';

export interface HeifJob {
  data: Uint8Array;
  maxPixels: number;
  /** The header only (prepare's read): the main thread then never loads libheif at all. */
  headerOnly?: boolean;
}

// A thread decodes one job at a time, so an answer is its current job's: no ids.
export type HeifAnswer =
  | { header: HeifHeader }
  | { decoded: Omit<DecodedHeif, 'pixels'> & { pixels: Uint8Array } }
  | { error: { message: string; code?: string } };

export interface HeifWorkers extends HeifCodec {
  close(): Promise<void>;
}

interface Pending {
  job: HeifJob;
  resolve: (answer: HeifAnswer) => void;
  reject: (err: Error) => void;
}

// Built beside this file (dist/src/jobs/); run from the TypeScript sources there is none.
const WORKER = new URL('./heif-worker.js', import.meta.url);

/** The error the decode would have thrown in this thread: the codes core/resize.ts maps to a photo's verdict. */
function rebuilt({ message, code }: { message: string; code?: string }): Error {
  if (code === 'too-large') return new ImageError(message, 'too-large');
  if (code === HEIF_ERRORS.unavailable || code === HEIF_ERRORS.decode) return new ImgpipeError(message, code);
  return new Error(message); // anything else, as it would have reached the caller in this thread
}

/** A decoder thread and the decode it is doing. */
interface Slot {
  worker: Worker;
  current?: Pending;
}

/** A pool of `size` decoder threads, started as HEICs come; undefined where threads cannot help or run. */
export function heifWorkers(size: number): HeifWorkers | undefined {
  if (size < 2 || !existsSync(fileURLToPath(WORKER))) return undefined;
  const idle: Slot[] = [];
  const all = new Set<Slot>();
  const queue: Pending[] = [];
  let closed = false;

  const run = (slot: Slot, p: Pending) => {
    slot.current = p;
    slot.worker.postMessage(p.job);
  };
  const settle = (slot: Slot, then: (p: Pending) => void) => {
    const p = slot.current;
    slot.current = undefined;
    if (p) then(p);
  };
  const dispatch = () => {
    while (queue.length && !closed) {
      const slot = idle.pop() ?? (all.size < size ? start() : undefined);
      if (!slot) return;
      run(slot, queue.shift()!);
    }
  };

  function start(): Slot {
    const slot: Slot = { worker: new Worker(WORKER) };
    all.add(slot);
    slot.worker.on('message', (answer: HeifAnswer) => {
      settle(slot, (p) => ('error' in answer ? p.reject(rebuilt(answer.error)) : p.resolve(answer)));
      idle.push(slot);
      dispatch();
    });
    // A thread that dies (the decoder's memory, say) fails its photo as the installation's fault,
    // not the photo's; the next HEIC gets a fresh thread.
    slot.worker.on('error', (err) => settle(slot, (p) => p.reject(new ImgpipeError(`the HEIC decoder stopped: ${err.message}`, HEIF_ERRORS.unavailable))));
    slot.worker.on('exit', () => {
      all.delete(slot);
      const i = idle.indexOf(slot);
      if (i >= 0) idle.splice(i, 1);
      settle(slot, (p) => p.reject(new ImgpipeError('the HEIC decoder stopped', HEIF_ERRORS.unavailable)));
      dispatch();
    });
    return slot;
  }

  const ask = (data: Buffer, maxPixels: number, headerOnly: boolean): Promise<HeifAnswer> => {
    if (closed) return Promise.reject(new ImgpipeError('the HEIC decoders are closed', HEIF_ERRORS.unavailable));
    return new Promise<HeifAnswer>((resolve, reject) => {
      queue.push({ job: { data, maxPixels, ...(headerOnly ? { headerOnly } : {}) }, resolve, reject });
      dispatch();
    });
  };

  return {
    async header(data) {
      const answer = await ask(data, 0, true);
      if (!('header' in answer)) throw new ImgpipeError('the HEIC decoder answered no header', HEIF_ERRORS.unavailable);
      // A Buffer again (the thread sent its bytes as a plain Uint8Array).
      return { ...answer.header, ...(answer.header.icc ? { icc: Buffer.from(answer.header.icc) } : {}) };
    },
    async decode(data, maxPixels) {
      const answer = await ask(data, maxPixels, false);
      if (!('decoded' in answer)) throw new ImgpipeError('the HEIC decoder answered no image', HEIF_ERRORS.unavailable);
      const { pixels, icc, ...rest } = answer.decoded;
      return { ...rest, ...(icc ? { icc: Buffer.from(icc) } : {}), pixels: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
    },
    async close() {
      closed = true;
      await Promise.all([...all].map((s) => s.worker.terminate()));
    },
  };
}
