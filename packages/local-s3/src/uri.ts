// Percent-encoding as SigV4 and S3 read it.
import { S3Error } from './errors.js';

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (UTF-8). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Percent-decode one path segment or query component; invalid escapes/UTF-8 are a 400 InvalidURI. */
export function uriDecode(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
  } catch {
    throw new S3Error('InvalidURI', { URI: s });
  }
}

/** Decoded query parameters in order; `+` is a space, as S3 reads query strings. */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq === -1 ? part : part.slice(0, eq);
    const value = eq === -1 ? '' : part.slice(eq + 1);
    out.push([uriDecode(name, true), uriDecode(value, true)]);
  }
  return out;
}

