// Cheap structural checks fed chunk by chunk during the upload's hashing read, so a truncated or
// damaged file is caught before it is uploaded, without decoding it. Definite damage (a PNG CRC
// mismatch) is a verdict; a missing end marker is only a suspicion (some writers append data
// after a JPEG's end), which the caller settles by decoding.
import { crc32 } from 'node:zlib';
import type { ImageFormat } from './validate.js';

export type Integrity = { ok: true } | { ok: false; definite: boolean; reason: string };

export interface IntegrityCheck {
  update(chunk: Buffer): void;
  finish(): Integrity;
}

const OK: Integrity = { ok: true };

/** Keeps the last bytes seen, for end-marker checks. */
function tailKeeper(size: number) {
  let tail = Buffer.alloc(0);
  let total = 0;
  return {
    update(chunk: Buffer) {
      total += chunk.length;
      tail = Buffer.concat([tail, chunk.subarray(Math.max(0, chunk.length - size))]).subarray(-size);
    },
    get tail() {
      return tail;
    },
    get total() {
      return total;
    },
  };
}

function pngCheck(): IntegrityCheck {
  // Walk the chunks: length (4), type (4), data (length), CRC (4) over type + data.
  let pos = 0; // bytes consumed in total
  let state: 'signature' | 'header' | 'data' | 'crc' | 'after-end' = 'signature';
  let need = 8;
  let header = Buffer.alloc(0);
  let crcBytes = Buffer.alloc(0);
  let type = '';
  let crc = 0;
  let failure: string | undefined;
  let sawEnd = false;
  return {
    update(chunk) {
      let i = 0;
      while (i < chunk.length && !failure) {
        const take = Math.min(need, chunk.length - i);
        const part = chunk.subarray(i, i + take);
        i += take;
        pos += take;
        need -= take;
        if (state === 'signature') {
          if (need === 0) {
            state = 'header';
            need = 8;
          }
        } else if (state === 'header') {
          header = Buffer.concat([header, part]);
          if (need === 0) {
            const length = header.readUInt32BE(0);
            type = header.subarray(4, 8).toString('latin1');
            crc = crc32(header.subarray(4, 8));
            header = Buffer.alloc(0);
            state = length ? 'data' : 'crc';
            need = length || 4;
          }
        } else if (state === 'data') {
          crc = crc32(part, crc);
          if (need === 0) {
            state = 'crc';
            need = 4;
          }
        } else if (state === 'crc') {
          crcBytes = Buffer.concat([crcBytes, part]);
          if (need === 0) {
            if (crcBytes.readUInt32BE(0) !== crc >>> 0) failure = `damaged PNG: chunk ${JSON.stringify(type)} fails its CRC check`;
            crcBytes = Buffer.alloc(0);
            if (type === 'IEND') {
              sawEnd = true;
              state = 'after-end';
              need = Infinity;
            } else {
              state = 'header';
              need = 8;
            }
          }
        } else {
          need = Infinity; // bytes after IEND are ignored, as decoders do
        }
      }
    },
    finish() {
      if (failure) return { ok: false, definite: true, reason: failure };
      if (!sawEnd) return { ok: false, definite: true, reason: 'truncated PNG: the file ends before its IEND chunk' };
      return OK;
    },
  };
}

function endMarkerCheck(marker: number[], what: string): IntegrityCheck {
  const keeper = tailKeeper(marker.length);
  return {
    update: (chunk) => keeper.update(chunk),
    finish() {
      const t = keeper.tail;
      const ok = t.length === marker.length && marker.every((b, i) => t[i] === b);
      return ok ? OK : { ok: false, definite: false, reason: `${what} does not end with its end marker (truncated?)` };
    },
  };
}

function webpCheck(): IntegrityCheck {
  let head = Buffer.alloc(0);
  let total = 0;
  return {
    update(chunk) {
      if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
      total += chunk.length;
    },
    finish() {
      const declared = head.length === 8 ? head.readUInt32LE(4) + 8 : -1;
      if (declared > total) return { ok: false, definite: true, reason: `truncated WebP: ${total} of ${declared} bytes` };
      return OK;
    },
  };
}

/**
 * HEIC (ISO BMFF): walk the top-level boxes by their sizes; a file that ends inside a box (the
 * image data's mdat, usually) is truncated. Definite: a box's size is what its writer wrote.
 */
function boxWalkCheck(what: string): IntegrityCheck {
  let total = 0;
  let next = 0; // where the next top-level box starts
  let header = Buffer.alloc(0);
  let current = '';
  let failure: string | undefined;
  return {
    update(chunk) {
      const start = total;
      total += chunk.length;
      while (!failure && next < total) {
        const from = Math.max(next, start) - start;
        header = Buffer.concat([header, chunk.subarray(from, from + 16 - header.length)]);
        if (header.length < 8 || (header.readUInt32BE(0) === 1 && header.length < 16)) return;
        const size32 = header.readUInt32BE(0);
        current = header.subarray(4, 8).toString('latin1');
        const size = size32 === 1 ? Number(header.readBigUInt64BE(8)) : size32 === 0 ? Infinity : size32;
        if (size < (size32 === 1 ? 16 : 8)) failure = `damaged ${what}: box ${JSON.stringify(current)} has an impossible size (${size})`;
        next += size;
        header = Buffer.alloc(0);
      }
    },
    finish() {
      if (failure) return { ok: false, definite: true, reason: failure };
      if (header.length > 0 || (next > total && next !== Infinity)) {
        return { ok: false, definite: true, reason: `truncated ${what}: the file ends inside its ${JSON.stringify(current)} box (${total} bytes, ${next === Infinity ? '?' : next} expected)` };
      }
      return OK;
    },
  };
}

export function integrityCheck(format: ImageFormat): IntegrityCheck {
  switch (format) {
    case 'png':
      return pngCheck();
    case 'jpeg':
      return endMarkerCheck([0xff, 0xd9], 'JPEG');
    case 'gif':
      return endMarkerCheck([0x3b], 'GIF');
    case 'webp':
      return webpCheck();
    case 'heic':
      return boxWalkCheck('HEIC');
    default:
      return { update() {}, finish: () => OK };
  }
}
