// Input validation by magic bytes, never by extension: a file is what its first bytes say.
// Accepted: what sharp's prebuilt binaries decode, plus HEIC/HEIF (decoded in heif.ts).

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif' | 'tiff' | 'heic';

export const CONTENT_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  tiff: 'image/tiff',
  heic: 'image/heic',
};

/**
 * Largest input the pipeline takes: the resize reads an object whole (it decodes twice), so this is
 * its buffered-input cap, and the presign API's size limit.
 */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** How many leading bytes `sniff` needs to decide. */
export const SNIFF_BYTES = 64;

export type Sniffed = { ok: true; format: ImageFormat; contentType: string } | { ok: false; reason: string };

const ascii = (b: Uint8Array, start: number, end: number) => String.fromCharCode(...b.subarray(start, end));
const startsWith = (b: Uint8Array, bytes: number[], at = 0) => bytes.every((x, i) => b[at + i] === x);

const accept = (format: ImageFormat): Sniffed => ({ ok: true, format, contentType: CONTENT_TYPES[format] });
const refuse = (reason: string): Sniffed => ({ ok: false, reason });

function sniffIsoBmff(head: Uint8Array): Sniffed | undefined {
  if (head.length < 12 || ascii(head, 4, 8) !== 'ftyp') return undefined;
  const boxSize = Math.min(head.length, (head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]);
  const brands: string[] = [ascii(head, 8, 12)];
  for (let i = 16; i + 4 <= boxSize; i += 4) brands.push(ascii(head, i, i + 4));
  if (brands.some((b) => b === 'avif' || b === 'avis')) return accept('avif');
  // HEIF images (HEVC-coded HEIC, iPhones) and image sequences: the primary image is decoded.
  if (brands.some((b) => ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(b))) return accept('heic');
  return refuse(`ISO media file (brand "${brands[0].trim()}"), not an image`);
}

function describeText(head: Uint8Array): string | undefined {
  let text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) {
    return 'SVG is not accepted (vector images may fetch external resources); rasterise it first';
  }
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head') || text.startsWith('<body')) {
    return 'an HTML document, not an image';
  }
  if (text.startsWith('<?xml') || text.startsWith('<')) return 'an XML/markup document, not an image';
  text = text.slice(0, 32);
  if (text.startsWith('%pdf')) return 'a PDF document, not an image';
  // Printable bytes only: call it text rather than "unknown".
  if (head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127) )) return 'a text file, not an image';
  return undefined;
}

/** Decide from the first bytes of a file (at least `SNIFF_BYTES` when the file has them). */
export function sniff(head: Uint8Array): Sniffed {
  if (head.length === 0) return refuse('empty file (0 bytes)');
  if (startsWith(head, [0xff, 0xd8, 0xff])) return accept('jpeg');
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return accept('png');
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return accept('gif');
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return accept('webp');
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return accept('tiff');
  const iso = sniffIsoBmff(head);
  if (iso) return iso;
  if (startsWith(head, [0x42, 0x4d])) return refuse('BMP is not supported; convert it to PNG or JPEG');
  return refuse(describeText(head) ?? 'not a supported image (JPEG, PNG, WebP, AVIF, GIF, TIFF or HEIC) by its magic bytes');
}

/** The decompression-bomb guard, from the header's size alone (the CLI, the Lambda and the page say the same). */
export function pixelLimitReason(width: number, height: number, maxInputPixels: number): string | undefined {
  const pixels = width * height;
  if (pixels <= maxInputPixels) return undefined;
  return `image is ${width}×${height} (${(pixels / 1e6).toFixed(1)} MP), over the ${(maxInputPixels / 1e6).toFixed(0)} MP limit (decompression bomb guard)`;
}

/**
 * The page's end-marker check (the CLI decodes to settle a missing marker; a browser cannot be
 * trusted to refuse a truncated image, it paints what it has). `tail`: the file's last bytes;
 * a JPEG passes when its end-of-image marker is in them (writers may append a trailer after it).
 */
export function endMarkerReason(format: ImageFormat, tail: Uint8Array): string | undefined {
  if (format === 'jpeg') {
    for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return undefined;
    return 'corrupt or truncated image: JPEG does not end with its end marker';
  }
  if (format === 'gif' && tail[tail.length - 1] !== 0x3b) return 'corrupt or truncated image: GIF does not end with its end marker';
  return undefined;
}
