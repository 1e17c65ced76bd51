// The headers an object keeps (content type, caching, user metadata) and the ones a GET answers with.
import { S3Error } from '../errors.js';
import type { ObjectMeta } from '../storage/records.js';
import { LIMITS } from '../limits.js';

const KEPT_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** Characters an HTTP header value may hold: no CR, LF or other control character. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A value a client gave (a query parameter) that is to become a header: refused (400), not a 500. */
function headerValue(name: string, value: string): string {
  if (!HEADER_VALUE.test(value)) {
    throw new S3Error('InvalidArgument', `${name} contains characters that are not allowed in a header value.`, { ArgumentName: name, ArgumentValue: value });
  }
  return value;
}

/** What PutObject / CreateMultipartUpload say about the object to be, from the request headers. */
export function describedBy(headers: Map<string, string>, contentEncoding: string | undefined): Pick<ObjectMeta, 'contentType' | 'headers' | 'userMeta'> {
  const kept: Record<string, string> = {};
  const userMeta: Record<string, string> = {};
  for (const [k, v] of headers) {
    // Checked: a pre-signed URL's x-amz-meta-* parameters arrive decoded, and each GET repeats them.
    if (KEPT_HEADERS.includes(k) && k !== 'content-encoding') kept[k] = headerValue(k, v);
    else if (k.startsWith('x-amz-meta-')) userMeta[k.slice('x-amz-meta-'.length)] = headerValue(k, v);
  }
  if (contentEncoding) kept['content-encoding'] = contentEncoding;
  checkUserMetadata(userMeta);
  return { contentType: headers.get('content-type') ?? 'binary/octet-stream', headers: kept, userMeta };
}

/** Refuse user metadata over S3's 2 KB, before any body is read (each version is kept in the journal). */
function checkUserMetadata(userMeta: Record<string, string>): void {
  let size = 0;
  for (const [k, v] of Object.entries(userMeta)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > LIMITS.userMetadataBytes) {
    throw new S3Error('MetadataTooLarge', { Size: size, MaxSizeAllowed: LIMITS.userMetadataBytes });
  }
}

/** Response headers for GET/HEAD: stored ones, then response-* overrides of a signed request. */
export function responseHeaders(meta: ObjectMeta, params: Map<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {
    'content-type': meta.contentType,
    etag: `"${meta.etag}"`,
    'last-modified': new Date(meta.lastModified).toUTCString(),
    'accept-ranges': 'bytes',
    ...meta.headers,
  };
  for (const [k, v] of Object.entries(meta.userMeta)) out[`x-amz-meta-${k}`] = v;
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = params.get(param);
    if (v !== undefined) out[header] = headerValue(param, v);
  }
  return out;
}

/** bytes=a-b | a- | -n of `size`; undefined = the whole object (absent or unparseable, as S3 treats them). */
export function parseRange(value: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(value?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}
