// Cheap structural checks fed chunk by chunk during the upload's hashing read, so a truncated or
// damaged file is caught before it is uploaded, without decoding it. Definite damage (a PNG CRC
// mismatch) is a verdict; a missing end marker is only a suspicion (some writers append data
// after a JPEG's end), which the caller settles by decoding. Plain bytes only (no Buffer, no
// node:zlib), so the upload page runs the very same checks before it sends a file.
import type { ImageFormat } from './validate.js';

/** CRC-32 of `data`, continuing from `previous`: Node passes zlib's; the page uses `crc32Bytes`. */
export type Crc32 = (data: Uint8Array, previous?: number) => number;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The PNG/zlib CRC-32, table-driven; what `zlib.crc32` computes, for where zlib is absent. */
const crc32Bytes: Crc32 = (data, previous = 0) => {
  let c = ~previous;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
};

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};
const u32be = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const u32le = (b: Uint8Array, at: number): number => ((b[at + 3] << 24) | (b[at + 2] << 16) | (b[at + 1] << 8) | b[at]) >>> 0;
const fourcc = (b: Uint8Array, at: number): string => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
const EMPTY = new Uint8Array(0);

export type Integrity = { ok: true } | { ok: false; definite: boolean; reason: string };

export interface IntegrityCheck {
  update(chunk: Uint8Array): void;
  finish(): Integrity;
}

const OK: Integrity = { ok: true };

/** Keeps the last bytes seen, for end-marker checks. */
function tailKeeper(size: number) {
  let tail: Uint8Array = EMPTY;
  let total = 0;
  return {
    update(chunk: Uint8Array) {
      total += chunk.length;
      tail = concat(tail, chunk.subarray(Math.max(0, chunk.length - size))).slice(-size);
    },
    get tail() {
      return tail;
    },
    get total() {
      return total;
    },
  };
}

function pngCheck(crc32: Crc32): IntegrityCheck {
  // Walk the chunks: length (4), type (4), data (length), CRC (4) over type + data.
  let pos = 0; // bytes consumed in total
  let state: 'signature' | 'header' | 'data' | 'crc' | 'after-end' = 'signature';
  let need = 8;
  let header: Uint8Array = EMPTY;
  let crcBytes: Uint8Array = EMPTY;
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
          header = concat(header, part);
          if (need === 0) {
            const length = u32be(header, 0);
            type = fourcc(header, 4);
            crc = crc32(header.subarray(4, 8));
            header = EMPTY;
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
          crcBytes = concat(crcBytes, part);
          if (need === 0) {
            if (u32be(crcBytes, 0) !== crc >>> 0) failure = `damaged PNG: chunk ${JSON.stringify(type)} fails its CRC check`;
            crcBytes = EMPTY;
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
  let head: Uint8Array = EMPTY;
  let total = 0;
  return {
    update(chunk) {
      if (head.length < 8) head = concat(head, chunk.subarray(0, 8 - head.length));
      total += chunk.length;
    },
    finish() {
      const declared = head.length === 8 ? u32le(head, 4) + 8 : -1;
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
  let header: Uint8Array = EMPTY;
  let current = '';
  let failure: string | undefined;
  return {
    update(chunk) {
      const start = total;
      total += chunk.length;
      while (!failure && next < total) {
        const from = Math.max(next, start) - start;
        header = concat(header, chunk.slice(from, from + 16 - header.length));
        if (header.length < 8 || (u32be(header, 0) === 1 && header.length < 16)) return;
        const size32 = u32be(header, 0);
        current = fourcc(header, 4);
        const size = size32 === 1 ? u32be(header, 8) * 2 ** 32 + u32be(header, 12) : size32 === 0 ? Infinity : size32;
        if (size < (size32 === 1 ? 16 : 8)) failure = `damaged ${what}: box ${JSON.stringify(current)} has an impossible size (${size})`;
        next += size;
        header = EMPTY;
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

export function integrityCheck(format: ImageFormat, crc32: Crc32 = crc32Bytes): IntegrityCheck {
  switch (format) {
    case 'png':
      return pngCheck(crc32);
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
