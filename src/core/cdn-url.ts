// A variant's public URL: the CDN's base and the variant's destination key (keys.ts), one join
// for every reader (watch --json, --html, index.json), and its inverse for the local CDN. The
// resize handler does not know the CDN, so its records hold keys only; the URL is added when a
// record is read, here, and only where a CDN is known (config `cdn`, or the local stack's).
//   publicUrl('https://d1234.cloudfront.net', '320/5f0c1a2e/uploads/k3x9/a b.jpg')
//     → 'https://d1234.cloudfront.net/320/5f0c1a2e/uploads/k3x9/a%20b.jpg'
import { RECORD_PREFIX } from './keys.js';
import type { VariantRecord } from './record.js';

/** `<base>/<key>`, each segment of the key percent-encoded (S3, behind CloudFront, decodes them). */
export function publicUrl(base: string, key: string): string {
  return `${base.replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** A record (or anything with optional variants) with each variant's `url`, when there is a CDN. */
export function withPublicUrls<R extends object>(record: R, base: string | undefined): R {
  const variants = (record as { variants?: VariantRecord[] }).variants;
  if (!base || !Array.isArray(variants)) return record;
  return { ...record, variants: variants.map((v) => ({ ...v, url: publicUrl(base, v.key) })) };
}

/** Where the records live (`_imgpipe/`): never served through the CDN (the template's bucket policy denies it). */
const NOT_SERVED = RECORD_PREFIX.slice(0, RECORD_PREFIX.indexOf('/') + 1);

/** Whether the CDN serves this destination key: every variant, never a record (`_imgpipe/`). */
export function servedByCdn(key: string): boolean {
  return !key.startsWith(NOT_SERVED);
}

/**
 * The destination key a CDN request path names, or undefined when it names none: not decodable,
 * an empty, `.` or `..` segment, or a slash, backslash or control character inside a segment. The
 * query string is not part of the key.
 */
export function keyOfPublicPath(pathAndQuery: string): string | undefined {
  const pathname = pathAndQuery.split('?')[0];
  if (!pathname.startsWith('/') || pathname.length < 2) return undefined;
  const segments: string[] = [];
  for (const raw of pathname.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\u0000-\u001f\u007f]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments.join('/');
}
