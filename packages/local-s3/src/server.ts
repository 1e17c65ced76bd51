// The HTTP front: Host check, SigV4, effective headers, dispatch, and errors in S3's format.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { BODY_ENDED_EARLY, errorXml, S3Error } from './errors.js';
import type { ServerContext } from './http/context.js';
import { capConnections } from './http/connections.js';
import { answerPreflight, applyCors, type CorsRule } from './http/cors.js';
import { BROWSER_POST_REFUSED, route } from './http/router.js';
import { parseTarget, validateBucketName, validateKey } from './keys.js';
import { verifySigV4, type SigV4Config } from './sigv4.js';
import { parseQuery } from './uri.js';
import { LIMITS } from './limits.js';

export interface FrontOptions {
  server: ServerContext;
  credentials: Omit<SigV4Config, 'now' | 'region'>;
  /** Host header values accepted (host:port, lower case). Anything else is refused: DNS rebinding. */
  allowedHosts: () => Set<string>;
  /** Absent: no CORS (OPTIONS is refused, no Access-Control-* headers). */
  cors?: CorsRule;
  log: (line: string) => void;
  /** Open connections at most; past it the longest-idle one is closed. */
  maxConnections: number;
}

/** What node's parser reads at most before refusing (request line included): past S3's cap, so that
 *  the common case gets S3's own answer from `handle`, and no client makes the parser hold more. */
const PARSER_MAX_HEADER_BYTES = 16 * 1024;

/** Cookies are not counted: a browser sends loopback's cookies (other local apps') here, never to S3. */
function headerSectionBytes(req: http.IncomingMessage, rawQuery: string): number {
  let n = rawQuery.length;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== 'cookie') n += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
  }
  return n;
}

function randomRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function sendError(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, requestId: string, hostId: string, log: (l: string) => void): S3Error {
  const e = err instanceof S3Error ? err : new S3Error('InternalError');
  if (!(err instanceof S3Error)) log(`internal error: ${err instanceof Error ? err.stack : String(err)}`);
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return e;
  }
  const body = req.method === 'HEAD' ? '' : errorXml(e, requestId, hostId);
  const headers: http.OutgoingHttpHeaders = { 'x-amz-request-id': requestId, 'x-amz-id-2': hostId, 'content-length': Buffer.byteLength(body) };
  if (body) headers['content-type'] = 'application/xml';
  // A client waiting for 100-continue never sent its body: don't leave the connection mid-request.
  if (!req.complete && req.headers.expect?.toLowerCase() === '100-continue') headers.connection = 'close';
  res.writeHead(e.status, headers);
  res.end(body);
  if (!req.complete) req.resume();
  return e;
}

function toHeaderMap(req: http.IncomingMessage): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headersDistinct)) if (v) out[k.toLowerCase()] = v;
  return out;
}

async function handle(o: FrontOptions, req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): Promise<void> {
  const { server } = o;
  const method = (req.method ?? 'GET').toUpperCase();
  const url = req.url ?? '/';
  if (!url.startsWith('/')) throw new S3Error('InvalidURI', { URI: url });
  const host = (req.headers.host ?? '').toLowerCase();
  if (!o.allowedHosts().has(host)) {
    throw new S3Error('AccessDenied', `Host "${host}" is not this server's address; requests must name it (a guard against DNS rebinding).`);
  }
  const qi = url.indexOf('?');
  const rawPath = qi === -1 ? url : url.slice(0, qi);
  const rawQuery = qi === -1 ? '' : url.slice(qi + 1);
  if (headerSectionBytes(req, rawQuery) > LIMITS.headerSectionBytes) {
    throw new S3Error('RequestHeaderSectionTooLarge', { MaxSizeAllowed: LIMITS.headerSectionBytes });
  }
  // CORS after the Host check (a rebinding page learns nothing), before SigV4 (preflights are unsigned).
  if (method === 'OPTIONS') {
    if (!o.cors) throw new S3Error('AccessDenied', 'CORSResponse: CORS is not enabled on the local S3 server.');
    return answerPreflight(o.cors, req, res, rawPath);
  }
  if (o.cors) applyCors(o.cors, req, res, method);
  const target = parseTarget(rawPath);
  const params = new Map(parseQuery(rawQuery));
  // Browser form uploads come unsigned: say what is wrong rather than "access denied".
  if (method === 'POST' && target.bucket !== undefined && target.key === undefined && !params.has('delete')) {
    throw new S3Error('NotImplemented', BROWSER_POST_REFUSED);
  }
  const auth = verifySigV4({ method, rawPath, rawQuery, headers: toHeaderMap(req) }, { ...o.credentials, region: server.region, now: Date.now() });
  if (!auth) throw new S3Error('AccessDenied');
  if (target.bucket !== undefined) validateBucketName(target.bucket);
  if (target.key !== undefined) validateKey(target.key);
  // Effective request headers: what was sent plus, for pre-signed URLs, the hoisted x-amz-* params.
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headersDistinct)) if (v) headers.set(k.toLowerCase(), v.join(','));
  for (const [k, v] of auth.hoistedHeaders) {
    if (headers.has(k) && headers.get(k) !== v) throw new S3Error('InvalidRequest', `${k} is given both as a header and as a query parameter, with different values.`);
    headers.set(k, v);
  }
  const ctx = { req, res, method, target, params, headers, auth, expectsContinue, server };
  await route(ctx)(ctx);
}

function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, hostId: string): string | undefined {
  const inflight = (socket as unknown as { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inflight?.headersSent) {
    socket.destroy();
    return undefined;
  }
  const e =
    err.code === 'HPE_INVALID_EOF_STATE'
      ? new S3Error('IncompleteBody', BODY_ENDED_EARLY)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new S3Error('RequestHeaderSectionTooLarge')
        : new S3Error('BadRequest');
  const body = errorXml(e, randomRequestId(), hostId);
  socket.end(
    `HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/xml\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
  return e.code;
}

export function createFront(o: FrontOptions): http.Server {
  const hostId = o.server.hostId;
  const serve = (expectsContinue: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const requestId = randomRequestId();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);
    handle(o, req, res, expectsContinue).then(
      () => o.log(`${req.method} ${req.url} ${res.statusCode}`),
      (err: unknown) => {
        const e = sendError(req, res, err, requestId, hostId, o.log);
        o.log(`${req.method} ${req.url} ${e.status} ${e.code}`);
      },
    ).catch(() => res.destroy());
  };
  const server = http.createServer({ maxHeaderSize: PARSER_MAX_HEADER_BYTES });
  // Outlive the SDK's idle keep-alive sockets so a client never reuses one we are closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  capConnections(server, o.maxConnections);
  server.on('request', serve(false));
  server.on('checkContinue', serve(true));
  // Unparseable HTTP, or a connection that ends inside a body: answer in S3's format where the
  // socket still allows it (node would send a bare 400), then drop the connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = answerClientError(err, socket, hostId);
    if (code) o.log(`- (unparseable request) ${code}`);
  });
  return server;
}
