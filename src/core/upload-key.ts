// The key a new upload gets. The server picks it, never the client: a prefix, the date, a random
// id (so two uploads of "a.jpg" never overwrite each other) and the client's name made safe.
import { randomBytes } from 'node:crypto';
import type { ImageFormat } from './validate.js';

const EXTENSIONS: Record<ImageFormat, string[]> = {
  jpeg: ['.jpg', '.jpeg', '.jpe'],
  png: ['.png'],
  webp: ['.webp'],
  avif: ['.avif'],
  gif: ['.gif'],
  tiff: ['.tif', '.tiff'],
};

/** Most bytes kept of a client's file name (S3 keys may be 1024 bytes; leave room for prefixes). */
export const MAX_NAME_BYTES = 200;

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
 * the content (so the format is visible from the key). Spaces, unicode, '+', '%' are kept.
 */
export function sanitiseName(name: string, format: ImageFormat): string {
  let base = name.normalize('NFC').split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  base = base.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim().replace(/^\.+/, '');
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot).toLowerCase() : '';
  let stem = EXTENSIONS[format].includes(ext) ? base.slice(0, dot) : base;
  const finalExt = EXTENSIONS[format].includes(ext) ? ext : EXTENSIONS[format][0];
  stem = truncateUtf8(stem, MAX_NAME_BYTES - finalExt.length).trim() || 'image';
  return `${stem}${finalExt}`;
}

export function newUploadId(): string {
  // 80 random bits, base32 (lower-case, no padding): unguessable and key-safe.
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

export function uploadKey(name: string, format: ImageFormat, opts: { prefix?: string; now?: Date; id?: string } = {}): string {
  const now = opts.now ?? new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, '/');
  const prefix = (opts.prefix ?? 'uploads').replace(/^\/+|\/+$/g, '');
  return `${prefix}/${date}/${opts.id ?? newUploadId()}/${sanitiseName(name, format)}`;
}
