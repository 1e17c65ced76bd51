// ListObjects (V1) and ListObjectsV2 as pure functions: request parameters and the bucket's sorted
// keys in, one page out. Reads no file, so a listing costs the same descriptors at 10 or 100,000 objects.
import { S3Error, xmlEscape } from './errors.js';
import type { ObjectMeta } from './storage/records.js';
import { compareKeys, type SortedKeys } from './storage/sorted-keys.js';
import { uriEncode } from './uri.js';

export interface ListRequest {
  v2: boolean;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** List keys strictly after this one. */
  start: string;
  encodingType?: 'url';
  /** V2: the token as received, echoed back. */
  continuationToken?: string;
  startAfter?: string;
  fetchOwner: boolean;
  maxKeysRaw?: string;
}

export type ListItem = { key: string; meta: ObjectMeta } | { prefix: string };

export interface ListPage {
  items: ListItem[];
  truncated: boolean;
  /** The last key or common prefix listed: where the next page starts. */
  last: string;
}

function invalid(name: string, message: string, value?: string): S3Error {
  return new S3Error('InvalidArgument', message, value === undefined ? { ArgumentName: name } : { ArgumentName: name, ArgumentValue: value });
}

function parseMaxKeys(mk: string | undefined): number {
  if (mk === undefined) return 1000;
  if (!/^\d+$/.test(mk) || Number(mk) > 2147483647) throw invalid('max-keys', 'Provided max-keys not an integer or within integer range', mk);
  return Math.min(1000, Number(mk));
}

function encodeToken(bucket: string, last: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, k: last })).toString('base64');
}

function decodeToken(bucket: string, token: string): string {
  let decoded: { b?: unknown; k?: unknown } = {};
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as typeof decoded;
  } catch {
    /* below */
  }
  if (decoded.b !== bucket || typeof decoded.k !== 'string') throw invalid('continuation-token', 'The continuation token provided is incorrect');
  return decoded.k;
}

/** Read and check the query parameters of a GET Bucket (list) request. */
export function parseListRequest(bucket: string, params: Array<[string, string]>): ListRequest {
  const p = new Map(params);
  const v2 = p.get('list-type') === '2';
  if (p.has('list-type') && !v2) throw invalid('list-type', 'Invalid List Type specified in Request', p.get('list-type'));
  const encodingType = p.get('encoding-type');
  if (encodingType !== undefined && encodingType !== 'url') throw invalid('encoding-type', 'Invalid Encoding Method specified in Request', encodingType);
  const base = {
    v2,
    prefix: p.get('prefix') ?? '',
    delimiter: p.get('delimiter') ?? '',
    maxKeys: parseMaxKeys(p.get('max-keys')),
    maxKeysRaw: p.get('max-keys'),
    encodingType: encodingType as 'url' | undefined,
    fetchOwner: !v2 || p.get('fetch-owner') === 'true',
  };
  if (v2) {
    if (p.has('marker')) throw invalid('marker', 'Marker unsupported with REST.GET.BUCKET in list-type=2');
    const token = p.get('continuation-token');
    if (token !== undefined) return { ...base, start: decodeToken(bucket, token), continuationToken: token };
    return { ...base, start: p.get('start-after') ?? '', startAfter: p.get('start-after') };
  }
  if (p.has('continuation-token')) throw invalid('continuation-token', 'continuation-token only supported in REST.GET.BUCKET with list-type=2');
  if (p.has('start-after')) throw invalid('start-after', 'startAfter only supported in REST.GET.BUCKET with list-type=2');
  return { ...base, start: p.get('marker') ?? '' };
}

/** One page: keys after `start` under `prefix`, keys sharing a delimited prefix rolled into one entry. */
export function listPage(req: ListRequest, keys: Pick<SortedKeys, 'from'>, meta: (key: string) => ObjectMeta | undefined): ListPage {
  const { prefix, delimiter, start, maxKeys } = req;
  const items: ListItem[] = [];
  let truncated = false;
  let lastPrefix: string | undefined;
  // Keys under a prefix are one contiguous run: start at whichever of prefix and `start` comes later.
  const iter = compareKeys(prefix, start) > 0 ? keys.from(prefix, true) : keys.from(start, false);
  for (const key of iter) {
    if (!key.startsWith(prefix)) break;
    if (maxKeys === 0) break;
    const idx = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (idx !== -1) {
      const cp = key.slice(0, idx + delimiter.length);
      if (cp === lastPrefix) continue;
      // A common prefix at or before `start` was already listed, unless `start` lies strictly inside it.
      if (start && compareKeys(cp, start) <= 0 && !(start.startsWith(cp) && start !== cp)) continue;
      if (items.length >= maxKeys) {
        truncated = true;
        break;
      }
      items.push({ prefix: cp });
      lastPrefix = cp;
      continue;
    }
    const m = meta(key);
    if (!m) continue;
    if (items.length >= maxKeys) {
      truncated = true;
      break;
    }
    items.push({ key, meta: m });
  }
  const lastItem = items[items.length - 1];
  return { items, truncated, last: lastItem ? ('key' in lastItem ? lastItem.key : lastItem.prefix) : '' };
}

const OWNER = '<Owner><ID>imgpipe-local</ID><DisplayName>imgpipe-local</DisplayName></Owner>';

export function listXml(bucket: string, req: ListRequest, page: ListPage): string {
  const enc = (s: string): string => xmlEscape(req.encodingType === 'url' ? s.split('/').map(uriEncode).join('/') : s);
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">';
  xml += `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(req.prefix)}</Prefix>`;
  if (req.v2) {
    if (req.continuationToken !== undefined) xml += `<ContinuationToken>${xmlEscape(req.continuationToken)}</ContinuationToken>`;
    else if (req.startAfter !== undefined) xml += `<StartAfter>${enc(req.startAfter)}</StartAfter>`;
    xml += `<KeyCount>${page.items.length}</KeyCount>`;
  } else {
    xml += `<Marker>${enc(req.start)}</Marker>`;
    if (page.truncated && req.delimiter) xml += `<NextMarker>${enc(page.last)}</NextMarker>`;
  }
  xml += `<MaxKeys>${req.maxKeysRaw ?? 1000}</MaxKeys>`;
  if (req.delimiter) xml += `<Delimiter>${enc(req.delimiter)}</Delimiter>`;
  if (req.encodingType) xml += `<EncodingType>url</EncodingType>`;
  xml += `<IsTruncated>${page.truncated}</IsTruncated>`;
  if (req.v2 && page.truncated) xml += `<NextContinuationToken>${encodeToken(bucket, page.last)}</NextContinuationToken>`;
  for (const it of page.items) {
    if (!('key' in it)) continue;
    xml +=
      `<Contents><Key>${enc(it.key)}</Key><LastModified>${new Date(it.meta.lastModified).toISOString()}</LastModified>` +
      `<ETag>"${xmlEscape(it.meta.etag)}"</ETag><Size>${it.meta.size}</Size>` +
      `${req.fetchOwner ? OWNER : ''}<StorageClass>STANDARD</StorageClass></Contents>`;
  }
  for (const it of page.items) if (!('key' in it)) xml += `<CommonPrefixes><Prefix>${enc(it.prefix)}</Prefix></CommonPrefixes>`;
  return xml + '</ListBucketResult>';
}
