// The checks real S3 makes and the embedded s3rver does not (or makes wrongly):
// SigV4 verification (Authorization header and pre-signed query), aws-chunked
// decoding with chunk signatures and trailers, and verification of the body
// against x-amz-content-sha256, Content-MD5 and x-amz-checksum-*.
// Pure functions and small state machines; no I/O. Used by ./s3-server.ts.
import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';

// ---------------------------------------------------------------- errors ----

const STATUS: Record<string, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  EntityTooLarge: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidChunkSizeError: 403,
  InvalidDigest: 400,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedTrailerError: 400,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NotImplemented: 501,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
};

/** An error answered as S3 answers it: status, XML <Error> with Code, Message and detail elements. */
export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    message: string,
    readonly detail: Record<string, string | number> = {},
    status?: number,
  ) {
    super(message);
    this.name = 'S3Error';
    this.status = status ?? STATUS[code] ?? 400;
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '&#13;',
  );
}

export function errorXml(err: S3Error, requestId: string, hostId: string): string {
  const detail = Object.entries(err.detail)
    .map(([k, v]) => `<${k}>${xmlEscape(String(v))}</${k}>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>${detail}` +
    `<RequestId>${requestId}</RequestId><HostId>${xmlEscape(hostId)}</HostId></Error>`
  );
}

// ------------------------------------------------------- URI encoding ----

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (UTF-8). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Percent-decode one path segment or query component; invalid escapes/UTF-8 are a 400 InvalidURI. */
export function uriDecode(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, ' ') : s);
  } catch {
    throw new S3Error('InvalidURI', "Couldn't parse the specified URI.", { URI: s });
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

// --------------------------------------------------------------- SigV4 ----

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;
const PRESIGN_AUTH_PARAMS = new Set([
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-signedheaders',
  'x-amz-signature',
  'x-amz-security-token',
  'x-amz-content-sha256',
]);

export interface SigV4Config {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Milliseconds since the epoch; the server's clock. */
  now: number;
}

export interface SigV4Request {
  method: string;
  /** Path exactly as received (before '?'), still percent-encoded. */
  rawPath: string;
  /** Query string exactly as received (after '?'), still percent-encoded. */
  rawQuery: string;
  /** Lower-case header names to every value received (node's `req.headersDistinct`). */
  headers: Record<string, string[]>;
}

export interface AuthContext {
  mode: 'header' | 'presigned';
  accessKeyId: string;
  /** yyyyMMdd'T'HHmmss'Z' */
  amzDate: string;
  /** date/region/s3/aws4_request */
  scope: string;
  signingKey: Buffer;
  /** The verified request signature (the seed for aws-chunked chunk signatures). */
  signature: string;
  /** The payload hash the signature covers: 64 hex, UNSIGNED-PAYLOAD or STREAMING-*. */
  payloadHash: string;
  signedHeaders: string[];
  /** Pre-signed URLs only: x-amz-* query parameters that stand for request headers (e.g. x-amz-checksum-sha256). */
  hoistedHeaders: Map<string, string>;
}

const signingKeyCache = new Map<string, Buffer>();

export function signingKeyFor(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeyCache.get(id);
  if (!key) {
    const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    if (signingKeyCache.size > 64) signingKeyCache.clear();
    signingKeyCache.set(id, key);
  }
  return key;
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function parseAmzDate(s: string | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  if (!m) return NaN;
  const [, y, mo, d, h, mi, se] = m.map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  // Reject 20240231T... and friends.
  return back.getUTCDate() === d && back.getUTCMonth() === mo - 1 ? t : NaN;
}

function isoBasic(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** The canonical URI S3 expects: each path segment decoded then strictly re-encoded, no normalisation. */
export function canonicalUri(rawPath: string): string {
  return rawPath
    .split('/')
    .map((seg) => uriEncode(uriDecode(seg, false)))
    .join('/');
}

export function canonicalQuery(rawQuery: string, omit?: string): string {
  return parseQuery(rawQuery)
    .filter(([name]) => name !== omit)
    .map(([n, v]) => [uriEncode(n), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

export function canonicalHeaderValue(values: string[] | undefined): string {
  return (values ?? []).map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

export function canonicalRequestString(
  req: SigV4Request,
  signedHeaders: string[],
  payloadHash: string,
  omitQueryParam?: string,
): string {
  return [
    req.method,
    canonicalUri(req.rawPath),
    canonicalQuery(req.rawQuery, omitQueryParam),
    signedHeaders.map((h) => `${h}:${canonicalHeaderValue(req.headers[h])}\n`).join(''),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

function single(req: SigV4Request, name: string): string | undefined {
  const v = req.headers[name];
  return v && v.length ? v.join(',') : undefined;
}

/**
 * Verify a SigV4-signed request (Authorization header or pre-signed query) the way S3 does.
 * Returns null for an anonymous request (the caller decides); throws S3Error when refused.
 */
export function verifySigV4(req: SigV4Request, cfg: SigV4Config): AuthContext | null {
  const authorization = single(req, 'authorization');
  const query = parseQuery(req.rawQuery);
  const q = (name: string): string | undefined => query.find(([n]) => n === name)?.[1];
  const hasQueryAuth = query.some(([n]) => n === 'X-Amz-Algorithm' || n === 'X-Amz-Signature' || n === 'X-Amz-Credential');
  const hasV2Query = query.some(([n]) => n === 'Signature' || n === 'AWSAccessKeyId');

  if (!authorization && !hasQueryAuth && !hasV2Query) return null;
  if ([!!authorization, hasQueryAuth, hasV2Query].filter(Boolean).length > 1) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization ?? '' },
    );
  }
  if (hasV2Query || (authorization && !authorization.startsWith('AWS4-'))) {
    throw new S3Error(
      'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
    );
  }

  const mode: 'header' | 'presigned' = authorization ? 'header' : 'presigned';
  const malformed = mode === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  let credential: string;
  let signedHeadersRaw: string;
  let signatureProvided: string;
  let amzDate: string | undefined;

  if (mode === 'header') {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(authorization!);
    if (!m) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization! });
    const parts = new Map<string, string>();
    for (const piece of m[1].split(',')) {
      const p = piece.trim();
      const eq = p.indexOf('=');
      if (eq > 0) parts.set(p.slice(0, eq), p.slice(eq + 1));
    }
    for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
      if (!parts.get(name)) {
        throw new S3Error(malformed, `The authorization header is malformed; missing ${name}.`);
      }
    }
    credential = parts.get('Credential')!;
    signedHeadersRaw = parts.get('SignedHeaders')!;
    signatureProvided = parts.get('Signature')!;
    amzDate = single(req, 'x-amz-date');
    if (!amzDate) {
      throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    }
  } else {
    if (q('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') {
      throw new S3Error(malformed, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    const missing = ['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'].filter(
      (n) => q(n) === undefined,
    );
    if (missing.length) {
      throw new S3Error(
        malformed,
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    credential = q('X-Amz-Credential')!;
    signedHeadersRaw = q('X-Amz-SignedHeaders')!;
    signatureProvided = q('X-Amz-Signature')!;
    amzDate = q('X-Amz-Date')!;
  }

  const cred = credential.split('/');
  if (cred.length !== 5) {
    throw new S3Error(malformed, `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKeyId, credDate, credRegion, credService, credTerm] = cred;
  if (accessKeyId !== cfg.accessKeyId) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    });
  }
  const t = parseAmzDate(amzDate);
  if (Number.isNaN(t)) {
    throw mode === 'header'
      ? new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header')
      : new S3Error(malformed, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  }
  if (credDate !== amzDate.slice(0, 8)) {
    throw new S3Error(malformed, `Invalid credential date "${credDate}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  if (credRegion !== cfg.region) {
    throw new S3Error(malformed, `The authorization ${mode === 'header' ? 'header' : 'query parameters'} is malformed; the region '${credRegion}' is wrong; expecting '${cfg.region}'`, {
      Region: cfg.region,
    });
  }
  if (credService !== 's3' || credTerm !== 'aws4_request') {
    throw new S3Error(malformed, `The authorization is malformed; incorrect service "${credService}" or terminal "${credTerm}". This endpoint belongs to "s3".`);
  }
  const signedHeaders = signedHeadersRaw.split(';');
  if (!signedHeaders.includes('host') || signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw new S3Error(malformed, 'SignedHeaders must be a ;-separated list of lower-case header names that includes host.');
  }

  // Time: header auth allows 15 minutes of skew; pre-signed URLs expire.
  if (mode === 'header') {
    if (Math.abs(cfg.now - t) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: amzDate,
        ServerTime: new Date(cfg.now).toISOString().replace(/\.\d+/, ''),
        MaxAllowedSkewMilliseconds: MAX_SKEW_MS,
      });
    }
  } else {
    const expiresRaw = q('X-Amz-Expires')!;
    if (!/^\d+$/.test(expiresRaw)) {
      throw new S3Error(malformed, 'X-Amz-Expires should be a number');
    }
    const expires = Number(expiresRaw);
    if (expires > MAX_PRESIGN_EXPIRES_S) {
      throw new S3Error(malformed, 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds');
    }
    if (t - cfg.now > MAX_SKEW_MS) {
      throw new S3Error('AccessDenied', 'Request is not valid yet', {
        'X-Amz-Date': amzDate,
        ServerTime: new Date(cfg.now).toISOString().replace(/\.\d+/, ''),
      });
    }
    if (cfg.now > t + expires * 1000) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        'X-Amz-Expires': expiresRaw,
        Expires: new Date(t + expires * 1000).toISOString().replace(/\.\d+/, ''),
        ServerTime: new Date(cfg.now).toISOString().replace(/\.\d+/, ''),
      });
    }
  }

  // Every x-amz-* header sent must be covered by the signature.
  const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signedHeaders.includes(h));
  if (unsigned.length) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.sort().join(', '),
    });
  }

  let payloadHash: string;
  if (mode === 'header') {
    const h = single(req, 'x-amz-content-sha256');
    if (!h) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
    payloadHash = h;
  } else {
    payloadHash = q('X-Amz-Content-Sha256') ?? single(req, 'x-amz-content-sha256') ?? UNSIGNED_PAYLOAD;
  }
  if (!/^([0-9a-fA-F]{64}|UNSIGNED-PAYLOAD|STREAMING-UNSIGNED-PAYLOAD-TRAILER|STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER)?)$/.test(payloadHash)) {
    throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.', {
      ArgumentName: 'x-amz-content-sha256',
      ArgumentValue: payloadHash,
    });
  }

  if (mode === 'presigned' && payloadHash.startsWith('STREAMING-')) {
    throw new S3Error('InvalidRequest', 'Chunked (aws-chunked) uploads need an Authorization header, not a pre-signed URL.');
  }

  const canonicalRequest = canonicalRequestString(req, signedHeaders, payloadHash, mode === 'presigned' ? 'X-Amz-Signature' : undefined);
  const scope = `${credDate}/${credRegion}/${credService}/${credTerm}`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = signingKeyFor(cfg.secretAccessKey, credDate, credRegion, credService);
  const expected = hmacHex(signingKey, stringToSign);
  if (!sameHex(expected, signatureProvided)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId, StringToSign: stringToSign, SignatureProvided: signatureProvided, CanonicalRequest: canonicalRequest },
    );
  }

  const hoistedHeaders = new Map<string, string>();
  if (mode === 'presigned') {
    for (const [n, v] of query) {
      const lower = n.toLowerCase();
      if (lower.startsWith('x-amz-') && !PRESIGN_AUTH_PARAMS.has(lower)) {
        const prev = hoistedHeaders.get(lower);
        hoistedHeaders.set(lower, prev === undefined ? v : `${prev},${v}`);
      }
    }
  }
  return { mode, accessKeyId, amzDate, scope, signingKey, signature: signatureProvided.toLowerCase(), payloadHash, signedHeaders, hoistedHeaders };
}

/** String to sign for one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previousSignature, EMPTY_SHA256, chunkSha256Hex].join('\n');
}

/** String to sign for the trailing headers of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, trailerSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previousSignature, trailerSha256Hex].join('\n');
}

export { isoBasic as toAmzDate };

// ----------------------------------------------------------- checksums ----

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

export interface Hasher {
  update(data: Buffer): void;
  digest(): Buffer;
}

function crc32Table(poly: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
}
let CRC32_TABLE: Uint32Array | undefined;
let CRC32C_TABLE: Uint32Array | undefined;

class Crc32Hasher implements Hasher {
  private crc = 0xffffffff;
  constructor(private readonly table: Uint32Array) {}
  update(data: Buffer): void {
    const t = this.table;
    let c = this.crc;
    for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
    this.crc = c >>> 0;
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((this.crc ^ 0xffffffff) >>> 0);
    return b;
  }
}

type ZlibCrc32 = (data: Buffer, value?: number) => number;
class ZlibCrc32Hasher implements Hasher {
  private crc = 0;
  constructor(private readonly fn: ZlibCrc32) {}
  update(data: Buffer): void {
    this.crc = this.fn(data, this.crc);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.crc >>> 0);
    return b;
  }
}

// CRC-64/NVME: reflected, poly 0xAD93D23594C93659 (reflected 0x9A6C9329AC4BC9B5), init and xorout all ones.
// Kept as two 32-bit halves to stay off BigInt in the byte loop.
let CRC64_HI: Uint32Array | undefined;
let CRC64_LO: Uint32Array | undefined;
function crc64Tables(): [Uint32Array, Uint32Array] {
  if (!CRC64_HI || !CRC64_LO) {
    const POLY_HI = 0x9a6c9329;
    const POLY_LO = 0xac4bc9b5;
    CRC64_HI = new Uint32Array(256);
    CRC64_LO = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let hi = 0;
      let lo = i;
      for (let k = 0; k < 8; k++) {
        const carry = lo & 1;
        lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
        hi = hi >>> 1;
        if (carry) {
          lo = (lo ^ POLY_LO) >>> 0;
          hi = (hi ^ POLY_HI) >>> 0;
        }
      }
      CRC64_HI[i] = hi;
      CRC64_LO[i] = lo;
    }
  }
  return [CRC64_HI, CRC64_LO];
}

class Crc64NvmeHasher implements Hasher {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(data: Buffer): void {
    const [TH, TL] = crc64Tables();
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ TL[idx]) >>> 0;
      hi = ((hi >>> 8) ^ TH[idx]) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  digest(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE((this.hi ^ 0xffffffff) >>> 0, 0);
    b.writeUInt32BE((this.lo ^ 0xffffffff) >>> 0, 4);
    return b;
  }
}

class NodeHasher implements Hasher {
  private readonly h: Hash;
  constructor(alg: string) {
    this.h = createHash(alg);
  }
  update(data: Buffer): void {
    this.h.update(data);
  }
  digest(): Buffer {
    return this.h.digest();
  }
}

export function createChecksum(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'SHA256':
      return new NodeHasher('sha256');
    case 'SHA1':
      return new NodeHasher('sha1');
    case 'CRC32': {
      const fn = (zlib as unknown as { crc32?: ZlibCrc32 }).crc32;
      return fn ? new ZlibCrc32Hasher(fn) : new Crc32Hasher((CRC32_TABLE ??= crc32Table(0xedb88320)));
    }
    case 'CRC32C':
      return new Crc32Hasher((CRC32C_TABLE ??= crc32Table(0x82f63b78)));
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
  }
}

/** Base64 checksum of a whole buffer (tests and callers that have the bytes in hand). */
export function checksumOf(alg: ChecksumAlgorithm, data: Buffer): string {
  const h = createChecksum(alg);
  h.update(data);
  return h.digest().toString('base64');
}

export function checksumAlgorithmOfHeader(name: string): ChecksumAlgorithm | undefined {
  const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name.toLowerCase());
  return m ? (m[1].toUpperCase() as ChecksumAlgorithm) : undefined;
}

function validChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === DIGEST_BYTES[alg] && bytes.toString('base64') === value;
}

// ------------------------------------------------------ aws-chunked ----

const CRLF = Buffer.from('\r\n');
const MAX_LINE = 16 * 1024;

export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/**
 * Streaming decoder for `Content-Encoding: aws-chunked` bodies:
 *   hex-size[;chunk-signature=sig]\r\n data \r\n ... 0[;chunk-signature=sig]\r\n [trailer-lines\r\n] \r\n
 * Verifies chunk signatures (signed variants) and collects trailing headers.
 */
export class AwsChunkedDecoder {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private line: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private currentSize = -1;
  private previousSize = -1;
  private currentSig = '';
  private chunkHash: Hash | undefined;
  private crlfSeen = 0;
  private prevSig: string;
  private readonly trailerLines: Array<[string, string]> = [];
  readonly trailers = new Map<string, string>();
  decodedLength = 0;

  constructor(
    private readonly signed: boolean,
    private readonly withTrailer: boolean,
    private readonly signing?: ChunkSigning,
  ) {
    this.prevSig = signing?.seedSignature ?? '';
  }

  /** Feed encoded bytes; calls `out` with decoded payload bytes. Throws S3Error on malformed input. */
  push(buf: Buffer, out: (data: Buffer) => void): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'size':
        case 'trailer': {
          const idx = buf.indexOf(CRLF, pos);
          // A CRLF split across pushes: line ends with \r and this buffer starts with \n.
          if (this.line.length && this.line[this.line.length - 1] === 0x0d && buf[pos] === 0x0a) {
            const l = this.line.subarray(0, this.line.length - 1).toString('latin1');
            this.line = Buffer.alloc(0);
            pos += 1;
            this.onLine(l);
            break;
          }
          if (idx === -1) {
            this.line = Buffer.concat([this.line, buf.subarray(pos)]);
            pos = buf.length;
            if (this.line.length > MAX_LINE) throw incomplete();
            break;
          }
          const l = Buffer.concat([this.line, buf.subarray(pos, idx)]).toString('latin1');
          this.line = Buffer.alloc(0);
          pos = idx + 2;
          this.onLine(l);
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - pos);
          const piece = buf.subarray(pos, pos + n);
          this.chunkHash?.update(piece);
          this.decodedLength += n;
          this.remaining -= n;
          pos += n;
          if (n) out(piece);
          if (this.remaining === 0) {
            this.state = 'data-crlf';
            this.crlfSeen = 0;
          }
          break;
        }
        case 'data-crlf': {
          const expect = CRLF[this.crlfSeen];
          if (buf[pos] !== expect) throw incomplete();
          pos += 1;
          this.crlfSeen += 1;
          if (this.crlfSeen === 2) {
            this.verifyChunk();
            this.state = 'size';
          }
          break;
        }
        case 'done':
          throw incomplete();
      }
    }
  }

  /** Call after the last byte; throws unless the terminating chunk (and trailer) arrived. */
  finish(): void {
    if (this.state !== 'done') throw incomplete();
  }

  private onLine(l: string): void {
    if (this.state === 'size') {
      const [sizeHex, ...ext] = l.split(';');
      if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) throw incomplete();
      const size = parseInt(sizeHex, 16);
      if (this.signed) {
        const sig = /^chunk-signature=([0-9a-f]{64})$/.exec(ext.join(';'));
        if (!sig) throw incomplete();
        this.currentSig = sig[1];
        // S3: every chunk but the last data chunk must be at least 8 KiB.
        if (size > 0 && this.previousSize >= 0 && this.previousSize < 8192) {
          throw new S3Error('InvalidChunkSizeError', 'Only the last chunk is allowed to have a size less than 8192 bytes', {
            BadChunkSize: this.previousSize,
          });
        }
        this.chunkHash = createHash('sha256');
      }
      this.previousSize = size;
      this.currentSize = size;
      if (size === 0) {
        this.verifyChunk();
        this.state = 'trailer';
      } else {
        this.remaining = size;
        this.state = 'data';
      }
      return;
    }
    // trailer section (also the bare final CRLF when there is no trailer)
    if (l === '') {
      this.finishTrailer();
      this.state = 'done';
      return;
    }
    if (!this.withTrailer) throw incomplete();
    const colon = l.indexOf(':');
    if (colon <= 0) throw new S3Error('MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
    const name = l.slice(0, colon).trim().toLowerCase();
    const value = l.slice(colon + 1).trim();
    this.trailerLines.push([name, value]);
  }

  private verifyChunk(): void {
    if (!this.signed || !this.signing) return;
    const hash = (this.chunkHash ?? createHash('sha256')).digest('hex');
    this.chunkHash = undefined;
    const expected = hmacHex(this.signing.signingKey, chunkStringToSign(this.signing.amzDate, this.signing.scope, this.prevSig, hash));
    if (!sameHex(expected, this.currentSig)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        { ChunkSize: this.currentSize },
      );
    }
    this.prevSig = expected;
  }

  private finishTrailer(): void {
    let trailerSig: string | undefined;
    for (const [name, value] of this.trailerLines) {
      if (name === 'x-amz-trailer-signature') trailerSig = value;
      else this.trailers.set(name, value);
    }
    if (this.signed && this.withTrailer && this.signing) {
      if (!trailerSig) throw new S3Error('MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
      const canonical = this.trailerLines
        .filter(([n]) => n !== 'x-amz-trailer-signature')
        .map(([n, v]) => `${n}:${v}\n`)
        .join('');
      const expected = hmacHex(
        this.signing.signingKey,
        trailerStringToSign(this.signing.amzDate, this.signing.scope, this.prevSig, sha256Hex(canonical)),
      );
      if (!sameHex(expected, trailerSig)) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        );
      }
    }
  }
}

function incomplete(): S3Error {
  return new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
}

// --------------------------------------------------- body verification ----

export interface BodyPlan {
  /** aws-chunked framing (x-amz-content-sha256: STREAMING-*). */
  chunked: boolean;
  /** Bytes the decoded body must have (Content-Length, or x-amz-decoded-content-length when chunked). */
  expectedLength: number | undefined;
  /** The declared checksum, if any; `value` is undefined when it arrives in the trailer. */
  checksum?: { algorithm: ChecksumAlgorithm; header: string; value: string | undefined };
  contentMd5?: Buffer;
  /** Hex x-amz-content-sha256 to compare with, if the payload is signed. */
  payloadSha256?: string;
  /** Content-Encoding to keep once aws-chunked is removed (undefined: drop the header). */
  contentEncoding?: string;
}

export interface BodyResult {
  length: number;
  /** Checksum header and base64 value that was verified (echoed back like S3 does). */
  checksum?: { header: string; value: string };
}

/**
 * Work out, from the verified headers, what the body must look like. Throws for what S3 refuses before
 * reading a byte: missing lengths, malformed or conflicting checksum declarations, bad Content-MD5.
 * `headers` maps lower-case names to a single value and already includes hoisted pre-signed params.
 */
export function planBody(
  method: string,
  headers: Map<string, string>,
  auth: AuthContext,
  opts: { requireLength: boolean; maxBytes: number },
): BodyPlan {
  const payloadHash = auth.payloadHash;
  const chunked = payloadHash.startsWith('STREAMING-');
  const encodings = (headers.get('content-encoding') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const hasAwsChunked = encodings.some((e) => e.toLowerCase() === 'aws-chunked');
  if (hasAwsChunked && !chunked) {
    throw new S3Error('InvalidRequest', 'Content-Encoding aws-chunked requires a STREAMING-* x-amz-content-sha256.');
  }
  const rest = encodings.filter((e) => e.toLowerCase() !== 'aws-chunked');
  const contentEncoding = rest.length ? rest.join(',') : undefined;

  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  let expectedLength: number | undefined;
  if (chunked) {
    const dl = headers.get('x-amz-decoded-content-length');
    if (dl === undefined) {
      throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    }
    if (!/^\d+$/.test(dl)) throw new S3Error('InvalidArgument', 'x-amz-decoded-content-length is not a valid length', { ArgumentName: 'x-amz-decoded-content-length', ArgumentValue: dl });
    expectedLength = Number(dl);
  } else if (cl !== undefined) {
    expectedLength = Number(cl);
  } else if (te !== undefined) {
    // A body of unannounced length (Transfer-Encoding: chunked): S3 wants Content-Length for uploads.
    if (opts.requireLength || method === 'PUT' || method === 'POST') {
      throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    }
  } else {
    if (opts.requireLength) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    expectedLength = 0;
  }
  if (expectedLength !== undefined && expectedLength > opts.maxBytes) {
    throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: expectedLength,
      MaxSizeAllowed: opts.maxBytes,
    });
  }

  // Checksums: one x-amz-checksum-<alg> header (or hoisted query param), or one announced trailer.
  const declared: Array<{ algorithm: ChecksumAlgorithm; header: string; value: string | undefined }> = [];
  for (const [name, value] of headers) {
    const alg = checksumAlgorithmOfHeader(name);
    if (alg) declared.push({ algorithm: alg, header: name, value });
  }
  const trailer = headers.get('x-amz-trailer');
  if (trailer !== undefined) {
    if (payloadHash !== STREAMING_UNSIGNED_TRAILER && payloadHash !== STREAMING_SIGNED_TRAILER) {
      throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
    }
    const name = trailer.trim().toLowerCase();
    const alg = checksumAlgorithmOfHeader(name);
    if (!alg) throw new S3Error('InvalidRequest', 'The value specified in the x-amz-trailer header is not supported');
    declared.push({ algorithm: alg, header: name, value: undefined });
  } else if (payloadHash === STREAMING_UNSIGNED_TRAILER || payloadHash === STREAMING_SIGNED_TRAILER) {
    throw new S3Error('InvalidRequest', 'x-amz-trailer is required with ' + payloadHash);
  }
  if (declared.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  const checksum = declared[0];
  if (checksum?.value !== undefined && !validChecksumValue(checksum.algorithm, checksum.value)) {
    throw new S3Error('InvalidRequest', `Value for ${checksum.header} header is invalid.`);
  }
  const sdkAlg = headers.get('x-amz-sdk-checksum-algorithm');
  if (sdkAlg !== undefined) {
    const alg = sdkAlg.toUpperCase() as ChecksumAlgorithm;
    if (!CHECKSUM_ALGORITHMS.includes(alg)) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    if (!checksum) {
      throw new S3Error(
        'InvalidRequest',
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    }
    if (checksum.algorithm !== alg) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
  }

  let contentMd5: Buffer | undefined;
  const md5 = headers.get('content-md5');
  if (md5 !== undefined) {
    const bytes = Buffer.from(md5, 'base64');
    if (bytes.length !== 16 || bytes.toString('base64') !== md5) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', { 'Content-MD5': md5 });
    }
    contentMd5 = bytes;
  }

  return {
    chunked,
    expectedLength,
    checksum,
    contentMd5,
    payloadSha256: /^[0-9a-fA-F]{64}$/.test(payloadHash) ? payloadHash.toLowerCase() : undefined,
    contentEncoding,
  };
}

/** Runs a request body through framing, length, digest and checksum checks. Decoded bytes go to `sink`. */
export class BodyVerifier {
  private readonly decoder?: AwsChunkedDecoder;
  private readonly sha256 = createHash('sha256');
  private readonly md5?: Hash;
  private readonly checksum?: Hasher;
  private received = 0;

  constructor(
    private readonly plan: BodyPlan,
    auth: AuthContext,
    private readonly maxBytes: number,
  ) {
    if (plan.chunked) {
      const signed = auth.payloadHash === STREAMING_SIGNED || auth.payloadHash === STREAMING_SIGNED_TRAILER;
      const withTrailer = auth.payloadHash === STREAMING_SIGNED_TRAILER || auth.payloadHash === STREAMING_UNSIGNED_TRAILER;
      this.decoder = new AwsChunkedDecoder(
        signed,
        withTrailer,
        signed ? { signingKey: auth.signingKey, amzDate: auth.amzDate, scope: auth.scope, seedSignature: auth.signature } : undefined,
      );
    }
    if (plan.contentMd5) this.md5 = createHash('md5');
    if (plan.checksum) this.checksum = createChecksum(plan.checksum.algorithm);
  }

  /** Feed raw request bytes; returns the decoded payload pieces to store. */
  push(raw: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const take = (d: Buffer): void => {
      this.received += d.length;
      if (this.received > this.maxBytes) {
        throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: this.maxBytes });
      }
      if (this.plan.expectedLength !== undefined && this.received > this.plan.expectedLength) {
        throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
      }
      this.sha256.update(d);
      this.md5?.update(d);
      this.checksum?.update(d);
      out.push(d);
    };
    if (this.decoder) this.decoder.push(raw, take);
    else take(raw);
    return out;
  }

  /** After the last byte: every check that needs the whole body. Throws S3Error on mismatch. */
  finish(): BodyResult {
    this.decoder?.finish();
    const plan = this.plan;
    if (plan.expectedLength !== undefined && this.received !== plan.expectedLength) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
    const sha = this.sha256.digest('hex');
    if (plan.payloadSha256 !== undefined && sha !== plan.payloadSha256) {
      throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
        ClientComputedContentSHA256: plan.payloadSha256,
        S3ComputedContentSHA256: sha,
      });
    }
    if (plan.contentMd5 && this.md5) {
      const got = this.md5.digest();
      if (!got.equals(plan.contentMd5)) {
        throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.', {
          ExpectedDigest: plan.contentMd5.toString('hex'),
          CalculatedDigest: got.toString('base64'),
        });
      }
    }
    let verified: BodyResult['checksum'];
    if (plan.checksum && this.checksum) {
      let expected = plan.checksum.value;
      if (expected === undefined) {
        expected = this.decoder?.trailers.get(plan.checksum.header);
        if (expected === undefined) {
          throw new S3Error('MalformedTrailerError', 'The request contained trailing data that was not well-formed or did not conform to our published schema.');
        }
        if (!validChecksumValue(plan.checksum.algorithm, expected)) {
          throw new S3Error('InvalidRequest', `Value for ${plan.checksum.header} trailing header is invalid.`);
        }
      }
      const got = this.checksum.digest().toString('base64');
      if (got !== expected) {
        throw new S3Error('BadDigest', `The ${plan.checksum.algorithm} you specified did not match the calculated checksum.`);
      }
      verified = { header: plan.checksum.header, value: got };
    }
    return { length: this.received, checksum: verified };
  }
}
