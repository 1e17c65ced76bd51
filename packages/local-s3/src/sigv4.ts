// SigV4 verification of the Authorization header and of pre-signed query strings, as S3 does it.
// Hand-written on purpose: verifying the SDK's signatures with the SDK's own signer would prove nothing;
// the tests hold AWS's published examples.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error, type S3ErrorCode } from './errors.js';
import { parseQuery, uriDecode, uriEncode } from './uri.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;
/** S3's AccessDenied text for a request with no date it can read, header or pre-signed alike. */
const NO_DATE = 'AWS authentication requires a valid Date or x-amz-date header';
const PRESIGN_AUTH_PARAMS = new Set([
  'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-expires',
  'x-amz-signedheaders', 'x-amz-signature', 'x-amz-security-token', 'x-amz-content-sha256',
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

/** Constant-time, case-insensitive comparison of hex signatures (also used for aws-chunked chunk signatures). */
export function sameHex(a: string, b: string): boolean {
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

type AuthMode = AuthContext['mode'];
type QueryParam = (name: string) => string | undefined;

/** What the request claims, read from the Authorization header or the pre-signed query, not yet checked. */
interface ClaimedAuth { credential: string; signedHeadersRaw: string; signatureProvided: string; amzDate: string }

/** The five parts of `<akid>/<date>/<region>/<service>/aws4_request`, checked against the server. */
interface CredentialScope {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  term: string;
  /** X-Amz-Date as milliseconds since the epoch. */
  time: number;
}

function serverTime(now: number): string {
  return new Date(now).toISOString().replace(/\.\d+/, '');
}

/** Header or pre-signed, or null when anonymous; S3 refuses mixed and SigV2 auth before anything else. */
function authModeOf(authorization: string | undefined, query: Array<[string, string]>): AuthMode | null {
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
  return authorization ? 'header' : 'presigned';
}

function claimedHeaderAuth(req: SigV4Request, authorization: string, malformed: S3ErrorCode): ClaimedAuth {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(authorization);
  if (!m) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization });
  const parts = new Map<string, string>();
  for (const piece of m[1].split(',')) {
    const p = piece.trim();
    const eq = p.indexOf('=');
    if (eq > 0) parts.set(p.slice(0, eq), p.slice(eq + 1));
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts.get(name)) throw new S3Error(malformed, `The authorization header is malformed; missing ${name}.`);
  }
  const amzDate = single(req, 'x-amz-date');
  if (!amzDate) throw new S3Error('AccessDenied', NO_DATE);
  return { credential: parts.get('Credential')!, signedHeadersRaw: parts.get('SignedHeaders')!, signatureProvided: parts.get('Signature')!, amzDate };
}

function claimedQueryAuth(q: QueryParam, malformed: S3ErrorCode): ClaimedAuth {
  if (q('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new S3Error(malformed, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const missing = ['X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'].filter((n) => q(n) === undefined);
  if (missing.length) {
    throw new S3Error(
      malformed,
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  return { credential: q('X-Amz-Credential')!, signedHeadersRaw: q('X-Amz-SignedHeaders')!, signatureProvided: q('X-Amz-Signature')!, amzDate: q('X-Amz-Date')! };
}

/** Checks in S3's order, so a request with several faults gets the error S3 would give. */
function checkCredentialScope(claimed: ClaimedAuth, mode: AuthMode, cfg: SigV4Config, malformed: S3ErrorCode): CredentialScope {
  const { amzDate } = claimed;
  const cred = claimed.credential.split('/');
  if (cred.length !== 5) {
    throw new S3Error(malformed, `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKeyId, date, region, service, term] = cred;
  if (accessKeyId !== cfg.accessKeyId) {
    throw new S3Error('InvalidAccessKeyId', {
      AWSAccessKeyId: accessKeyId,
    });
  }
  const time = parseAmzDate(amzDate);
  if (Number.isNaN(time)) {
    throw mode === 'header'
      ? new S3Error('AccessDenied', NO_DATE)
      : new S3Error(malformed, `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
  }
  if (date !== amzDate.slice(0, 8)) {
    throw new S3Error(malformed, `Invalid credential date "${date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  if (region !== cfg.region) {
    throw new S3Error(malformed, `The authorization ${mode === 'header' ? 'header' : 'query parameters'} is malformed; the region '${region}' is wrong; expecting '${cfg.region}'`, {
      Region: cfg.region,
    });
  }
  if (service !== 's3' || term !== 'aws4_request') {
    throw new S3Error(malformed, `The authorization is malformed; incorrect service "${service}" or terminal "${term}". This endpoint belongs to "s3".`);
  }
  return { accessKeyId, date, region, service, term, time };
}

function parseSignedHeaders(raw: string, malformed: S3ErrorCode): string[] {
  const signedHeaders = raw.split(';');
  if (!signedHeaders.includes('host') || signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw new S3Error(malformed, 'SignedHeaders must be a ;-separated list of lower-case header names that includes host.');
  }
  return signedHeaders;
}

/** Header auth allows 15 minutes of clock skew either way. */
function checkClockSkew(time: number, amzDate: string, cfg: SigV4Config): void {
  if (Math.abs(cfg.now - time) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', {
      RequestTime: amzDate,
      ServerTime: serverTime(cfg.now),
      MaxAllowedSkewMilliseconds: MAX_SKEW_MS,
    });
  }
}

/** Pre-signed URLs carry their own lifetime (at most a week) and may not be used early. */
function checkPresignedExpiry(time: number, amzDate: string, q: QueryParam, cfg: SigV4Config, malformed: S3ErrorCode): void {
  const expiresRaw = q('X-Amz-Expires')!;
  if (!/^\d+$/.test(expiresRaw)) throw new S3Error(malformed, 'X-Amz-Expires should be a number');
  const expires = Number(expiresRaw);
  if (expires > MAX_PRESIGN_EXPIRES_S) {
    throw new S3Error(malformed, 'X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than 604800 seconds');
  }
  if (time - cfg.now > MAX_SKEW_MS) {
    throw new S3Error('AccessDenied', 'Request is not valid yet', { 'X-Amz-Date': amzDate, ServerTime: serverTime(cfg.now) });
  }
  if (cfg.now > time + expires * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expiresRaw,
      Expires: serverTime(time + expires * 1000),
      ServerTime: serverTime(cfg.now),
    });
  }
}

/** Every x-amz-* header sent must be covered by the signature. */
function checkAmzHeadersSigned(req: SigV4Request, signedHeaders: string[]): void {
  const unsigned = Object.keys(req.headers).filter((h) => h.startsWith('x-amz-') && !signedHeaders.includes(h));
  if (unsigned.length) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.sort().join(', '),
    });
  }
}

/** The payload hash the signature covers: required as a header for header auth, optional (unsigned) when pre-signed. */
function claimedPayloadHash(req: SigV4Request, mode: AuthMode, q: QueryParam): string {
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
  return payloadHash;
}

/** Recompute the signature and compare; returns the scope string and signing key the chunk signatures chain from. */
function checkSignature(
  req: SigV4Request, cfg: SigV4Config, mode: AuthMode, claimed: ClaimedAuth, cred: CredentialScope, signedHeaders: string[], payloadHash: string,
): { scope: string; signingKey: Buffer } {
  const canonicalRequest = canonicalRequestString(req, signedHeaders, payloadHash, mode === 'presigned' ? 'X-Amz-Signature' : undefined);
  const scope = `${cred.date}/${cred.region}/${cred.service}/${cred.term}`;
  const stringToSign = ['AWS4-HMAC-SHA256', claimed.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = signingKeyFor(cfg.secretAccessKey, cred.date, cred.region, cred.service);
  const expected = hmacHex(signingKey, stringToSign);
  if (!sameHex(expected, claimed.signatureProvided)) {
    throw new S3Error('SignatureDoesNotMatch', {
      AWSAccessKeyId: cred.accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: claimed.signatureProvided,
      CanonicalRequest: canonicalRequest,
    });
  }
  return { scope, signingKey };
}

/** x-amz-* query parameters of a pre-signed URL that stand for request headers (repeats joined with ','). */
function hoistedHeadersOf(query: Array<[string, string]>): Map<string, string> {
  const hoistedHeaders = new Map<string, string>();
  for (const [n, v] of query) {
    const lower = n.toLowerCase();
    if (lower.startsWith('x-amz-') && !PRESIGN_AUTH_PARAMS.has(lower)) {
      const prev = hoistedHeaders.get(lower);
      hoistedHeaders.set(lower, prev === undefined ? v : `${prev},${v}`);
    }
  }
  return hoistedHeaders;
}

/**
 * Verify a SigV4-signed request (Authorization header or pre-signed query) the way S3 does.
 * Returns null for an anonymous request (the caller decides); throws S3Error when refused.
 */
export function verifySigV4(req: SigV4Request, cfg: SigV4Config): AuthContext | null {
  const authorization = single(req, 'authorization');
  const query = parseQuery(req.rawQuery);
  const q: QueryParam = (name) => query.find(([n]) => n === name)?.[1];

  const mode = authModeOf(authorization, query);
  if (!mode) return null;
  const malformed = mode === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError';
  const claimed = mode === 'header' ? claimedHeaderAuth(req, authorization!, malformed) : claimedQueryAuth(q, malformed);
  const cred = checkCredentialScope(claimed, mode, cfg, malformed);
  const signedHeaders = parseSignedHeaders(claimed.signedHeadersRaw, malformed);
  if (mode === 'header') checkClockSkew(cred.time, claimed.amzDate, cfg);
  else checkPresignedExpiry(cred.time, claimed.amzDate, q, cfg, malformed);
  checkAmzHeadersSigned(req, signedHeaders);
  const payloadHash = claimedPayloadHash(req, mode, q);
  const { scope, signingKey } = checkSignature(req, cfg, mode, claimed, cred, signedHeaders, payloadHash);
  const hoistedHeaders = mode === 'presigned' ? hoistedHeadersOf(query) : new Map<string, string>();
  const signature = claimed.signatureProvided.toLowerCase();
  return { mode, accessKeyId: cred.accessKeyId, amzDate: claimed.amzDate, scope, signingKey, signature, payloadHash, signedHeaders, hoistedHeaders };
}

/** String to sign for one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previousSignature, EMPTY_SHA256, chunkSha256Hex].join('\n');
}

/** String to sign for the trailing headers of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, trailerSha256Hex: string): string {
  return ['AWS4-HMAC-SHA256-TRAILER', amzDate, scope, previousSignature, trailerSha256Hex].join('\n');
}
