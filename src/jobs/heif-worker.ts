// One HEIC decoder thread of resize-local's pool (./heif-workers.ts). libheif's WebAssembly runs
// on the thread that calls it and one decode at a time (core/heif.ts), so two photos decode at
// once only in threads of their own.
import { parentPort } from 'node:worker_threads';
import { decodeHeif, readHeifHeader } from '../core/heif.js';
import { pixelLimitReason } from '../core/validate.js';
import type { HeifAnswer, HeifJob } from './heif-workers.js';

const port = parentPort!;

port.on('message', async ({ data, maxPixels, headerOnly }: HeifJob) => {
  let answer: HeifAnswer;
  const transfer: ArrayBuffer[] = [];
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength); // a view, not a copy
  try {
    if (headerOnly) {
      port.postMessage({ header: await readHeifHeader(bytes) } satisfies HeifAnswer);
      return;
    }
    // The in-thread decoder's check (core/resize.ts), its refusal sent by code: ImageError lives
    // beside sharp, which this thread does not load.
    const decoded = await decodeHeif(bytes, (header) => {
      const tooLarge = pixelLimitReason(header.width, header.height, maxPixels);
      if (tooLarge) throw Object.assign(new Error(tooLarge), { code: 'too-large' });
    });
    const { pixels } = decoded;
    // Moved, not copied, when the pixels own their memory (a small image may sit in Node's pool).
    if (pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength) transfer.push(pixels.buffer as ArrayBuffer);
    answer = { decoded: { ...decoded, pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) } };
  } catch (err) {
    answer = { error: { message: (err as Error).message, code: (err as { code?: string }).code } };
  }
  port.postMessage(answer, transfer);
});
