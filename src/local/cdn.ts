// The local stack's CDN: the destination bucket's variants over plain HTTP, read-only and with no
// credentials, as the deployed CloudFront distribution serves them (infra/template.yaml): GET and
// HEAD only, `<base>/<variant key>`, the object's own Content-Type, Cache-Control and ETag, and
// nothing under `_imgpipe/` (the records) nor anything of the source bucket.
//
// It listens on a port of its own (`dev --cdn-port`) rather than under a path of the API: a
// CloudFront URL is `<base>/<key>` with nothing before the key, the distribution is another origin
// than the API (as a page sees it), and a prefix on the API would share its routes (/uploads,
// /health). It reads the bucket through the S3 server with the stack's own keys, as the
// distribution's Origin Access Control signs its reads; the bucket itself stays private.
//
// Refusals answer as the deployed one does: another method is CloudFront's 403 (the distribution
// allows GET and HEAD), a record or a key that is not there is S3's 403 to a reader without
// s3:ListBucket, and a path that names no key (`..`, an empty segment, bad escapes) is a 400.
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { keyOfPublicPath, servedByCdn } from '../core/cdn-url.js';
import { httpStatus } from '../s3/get-record.js';
import { apiHosts } from './api-guard.js';

export interface CdnOptions {
  s3: S3Client;
  bucket: string;
  log: (line: Record<string, unknown>) => void;
}

function refuse(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...extra }).end(`${code}: ${message}\n`);
}

/** Whether the client's If-None-Match names this ETag (or `*`), as RFC 9110 compares them (weakly). */
function notModified(req: IncomingMessage, etag: string | undefined): boolean {
  const asked = req.headers['if-none-match'];
  if (!asked || !etag) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return asked.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

function objectHeaders(obj: GetObjectCommandOutput): Record<string, string> {
  const headers: Record<string, string> = {};
  if (obj.ContentType) headers['content-type'] = obj.ContentType;
  if (obj.CacheControl) headers['cache-control'] = obj.CacheControl;
  if (obj.ETag) headers.etag = obj.ETag;
  if (obj.LastModified) headers['last-modified'] = obj.LastModified.toUTCString();
  return headers;
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: CdnOptions, port: number): Promise<void> {
  req.resume(); // a body is never read: GET and HEAD have none worth reading
  // The Host must name this server: a page elsewhere cannot read local photos through DNS rebinding.
  if (!apiHosts(port).has((req.headers.host ?? '').toLowerCase())) return refuse(res, 403, 'ForbiddenHost', 'requests must name this server by its loopback address');
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 403, 'MethodNotAllowed', 'this CDN serves GET and HEAD only', { allow: 'GET, HEAD' });
  const key = keyOfPublicPath(req.url ?? '/');
  if (key === undefined) return refuse(res, 400, 'InvalidURI', 'the path names no variant key');
  if (!servedByCdn(key)) return refuse(res, 403, 'AccessDenied', 'records are not served through the CDN');
  let obj: GetObjectCommandOutput;
  try {
    obj = await opts.s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404 || status === 403) return refuse(res, 403, 'AccessDenied', 'no such variant');
    throw err;
  }
  const body = obj.Body as Readable | undefined;
  const headers = objectHeaders(obj);
  if (notModified(req, obj.ETag)) {
    body?.destroy();
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, ...(obj.ContentLength !== undefined && { 'content-length': String(obj.ContentLength) }) });
  if (req.method === 'HEAD' || !body) {
    body?.destroy();
    res.end();
    return;
  }
  await pipeline(body, res);
}

export function createCdnServer(opts: CdnOptions): Server {
  const server: Server = createServer((req, res) => {
    serve(req, res, opts, (server.address() as AddressInfo).port).catch((err: Error) => {
      // A client that went away mid-body is not the CDN's failure.
      if (res.destroyed || (err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
      opts.log({ level: 'error', msg: 'local CDN failure', error: err.message });
      if (!res.headersSent) refuse(res, 502, 'BadGateway', 'the destination bucket could not be read');
      else res.destroy();
    });
  });
  return server;
}
