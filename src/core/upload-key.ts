// The key an upload gets. The server picks it, never the client, from the content: a prefix, the
// SHA-256 of the bytes (so the same bytes always land under one folder, whoever sends them and from
// wherever, and two different files named "a.jpg" never overwrite each other) and the client's
// name made safe, so keys stay readable.
import type { ImageFormat } from './validate.js';

const EXTENSIONS: Record<ImageFormat, string[]> = {
  jpeg: ['.jpg', '.jpeg', '.jpe'],
  png: ['.png'],
  webp: ['.webp'],
  avif: ['.avif'],
  gif: ['.gif'],
  tiff: ['.tif', '.tiff'],
  heic: ['.heic', '.heif'],
};

/** Most bytes kept of a client's file name (S3 keys may be 1024 bytes; leave room for prefixes). */
const MAX_NAME_BYTES = 200;

function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/**
 * The client's name, made safe as the last segment of a key: no folders (so no traversal), no
 * control characters, NFC, not empty, not dot-led, bounded length, and an extension that matches
 * the content (so the format is visible from the key), in the case it was written. Spaces,
 * unicode, '+', '%' are kept.
 */
function sanitiseName(name: string, format: ImageFormat): string {
  let base = name.normalize('NFC').split(/[/\\]/).pop() ?? '';
  base = base.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().replace(/^\.+/, '');
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot) : '';
  // An extension that fits the content is kept as written: IMG_0001.HEIC stays .HEIC in the key.
  const fits = EXTENSIONS[format].includes(ext.toLowerCase());
  let stem = fits ? base.slice(0, dot) : base;
  const finalExt = fits ? ext : EXTENSIONS[format][0];
  stem = truncateUtf8(stem, MAX_NAME_BYTES - finalExt.length).trim() || 'image';
  return `${stem}${finalExt}`;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case base32 of bytes, no padding: key-safe and case-proof. */
function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return bits ? out + BASE32[(value << (5 - bits)) & 31] : out;
}

/** The folder a content's key lives in: the prefix and the whole SHA-256 in base32 (52 characters). */
export function contentFolder(sha256Base64: string, prefix = 'uploads'): string {
  const digest = Buffer.from(sha256Base64, 'base64');
  if (digest.length !== 32) throw new Error('sha256 must be 32 bytes, base64');
  return `${prefix.replace(/^\/+|\/+$/g, '')}/${base32(digest)}/`;
}

/**
 * Whether bytes whose SHA-256 is `sha256Base64` are the ones a content key promises (the 52
 * base32 characters before its name); true for a key of another shape, which promises nothing.
 */
export function keepsContentPromise(key: string, sha256Base64: string): boolean {
  const promised = /(?:^|\/)([a-z2-7]{52})\/[^/]+$/.exec(key)?.[1];
  return promised === undefined || promised === base32(Buffer.from(sha256Base64, 'base64'));
}

export function uploadKey(name: string, format: ImageFormat, sha256Base64: string, opts: { prefix?: string } = {}): string {
  return `${contentFolder(sha256Base64, opts.prefix ?? 'uploads')}${sanitiseName(name, format)}`;
}
