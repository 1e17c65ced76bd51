// CORS, as S3 applies a bucket's CORS rules, for one server-wide rule: preflights answered before
// SigV4 (browsers never sign them), and Access-Control-* headers on actual answers to an allowed
// origin, errors included. A foreign origin gets no CORS headers; its request is still processed
// (CORS is a browser rule, not access control).
import type http from 'node:http';
import { S3Error } from '../errors.js';
import { parseTarget } from '../keys.js';

export interface CorsOptions {
  /** Exact origins ('http://127.0.0.1:4567'), or '*' for any; a function is re-read per request. */
  origins: string[] | (() => string[]);
  /** Default ['GET', 'HEAD', 'PUT']. */
  methods?: string[];
  /** Request headers a preflight may ask for (case-insensitive). Default: what a browser PUT to a pre-signed URL sends. */
  allowedHeaders?: string[];
  /** Response headers page scripts may read. Default ['etag', 'x-amz-checksum-sha256', 'x-amz-request-id']. */
  exposeHeaders?: string[];
  /** How long a browser may cache a preflight answer. Default 600. */
  maxAgeSeconds?: number;
}

/** CorsOptions with the defaults filled in and the lists normalised. */
export interface CorsRule {
  origins: () => string[];
  methods: Set<string>;
  allowedHeaders: Set<string>;
  exposeHeaders: string[];
  maxAgeSeconds: number;
}

export const CORS_DEFAULTS = {
  methods: ['GET', 'HEAD', 'PUT'],
  allowedHeaders: ['content-type', 'x-amz-checksum-sha256', 'x-amz-content-sha256', 'x-amz-date', 'authorization'],
  exposeHeaders: ['etag', 'x-amz-checksum-sha256', 'x-amz-request-id'],
  maxAgeSeconds: 600,
} as const;

const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/(\[[0-9a-f:.]+\]|[a-z0-9._~%-]+)(:\d{1,5})?$/i;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

function checkList(what: string, list: readonly string[], valid: (s: string) => boolean): void {
  if (!Array.isArray(list)) throw new Error(`startLocalS3: cors.${what} must be an array`);
  for (const s of list) if (typeof s !== 'string' || !valid(s)) throw new Error(`startLocalS3: invalid cors.${what} entry ${JSON.stringify(s)}`);
}

/** An origin entry: '*', 'null', or scheme://host[:port] with nothing after it (no trailing slash). */
function validOrigin(s: string): boolean {
  return s === '*' || s === 'null' || ORIGIN.test(s);
}

export function corsRule(o: CorsOptions): CorsRule {
  const { origins } = o;
  if (typeof origins !== 'function') checkList('origins', origins, validOrigin);
  const methods = o.methods ?? CORS_DEFAULTS.methods;
  const allowedHeaders = o.allowedHeaders ?? CORS_DEFAULTS.allowedHeaders;
  const exposeHeaders = o.exposeHeaders ?? CORS_DEFAULTS.exposeHeaders;
  checkList('methods', methods, (s) => TOKEN.test(s));
  checkList('allowedHeaders', allowedHeaders, (s) => TOKEN.test(s));
  checkList('exposeHeaders', exposeHeaders, (s) => TOKEN.test(s));
  const maxAgeSeconds = o.maxAgeSeconds ?? CORS_DEFAULTS.maxAgeSeconds;
  if (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds < 0) throw new Error('startLocalS3: cors.maxAgeSeconds must be a non-negative integer');
  return {
    origins: typeof origins === 'function' ? origins : () => origins,
    methods: new Set(methods.map((m) => m.toUpperCase())),
    allowedHeaders: new Set(allowedHeaders.map((h) => h.toLowerCase())),
    exposeHeaders: [...exposeHeaders],
    maxAgeSeconds,
  };
}

function originAllowed(rule: CorsRule, origin: string): boolean {
  const list = rule.origins();
  return list.includes(origin) || list.includes('*');
}

function single(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headersDistinct[name];
  return v ? v.join(', ') : undefined;
}

/**
 * On an actual (non-preflight) request from an allowed origin, with an allowed method: the headers
 * every answer carries, set now so that success and error answers alike get them. Vary: Origin goes
 * on every answer, so a browser never reuses a cached answer made for another origin (or none).
 */
export function applyCors(rule: CorsRule, req: http.IncomingMessage, res: http.ServerResponse, method: string): void {
  res.setHeader('vary', 'Origin');
  const origin = single(req, 'origin');
  if (origin === undefined || !rule.methods.has(method) || !originAllowed(rule, origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  if (rule.exposeHeaders.length) res.setHeader('access-control-expose-headers', rule.exposeHeaders.join(', '));
}

function resourceType(rawPath: string): string {
  try {
    const t = parseTarget(rawPath);
    return t.bucket === undefined ? 'SERVICE' : t.key === undefined ? 'BUCKET' : 'OBJECT';
  } catch {
    return 'OBJECT';
  }
}

/** Answer an OPTIONS request: 200 with the grant, or S3's 403 AccessForbidden (thrown). */
export function answerPreflight(rule: CorsRule, req: http.IncomingMessage, res: http.ServerResponse, rawPath: string): void {
  const origin = single(req, 'origin');
  if (origin === undefined) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  const requested = single(req, 'access-control-request-method');
  if (requested === undefined) throw new S3Error('BadRequest', 'Invalid Access-Control-Request-Method: null');
  const headers = (single(req, 'access-control-request-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  const ok = originAllowed(rule, origin) && rule.methods.has(requested.toUpperCase()) && headers.every((h) => rule.allowedHeaders.has(h));
  if (!ok) throw new S3Error('AccessForbidden', { Method: requested, ResourceType: resourceType(rawPath) });
  const out: http.OutgoingHttpHeaders = {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': [...rule.methods].join(', '),
    'access-control-max-age': String(rule.maxAgeSeconds),
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'content-length': 0,
  };
  if (headers.length) out['access-control-allow-headers'] = headers.join(', ');
  if (rule.exposeHeaders.length) out['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  res.writeHead(200, out);
  res.end();
  if (!req.complete) req.resume();
}
