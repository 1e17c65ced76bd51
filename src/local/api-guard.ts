// What the local API refuses before any route sees a request. A page on another site can reach
// 127.0.0.1 from the user's browser: through DNS rebinding (its own name, resolving to loopback,
// so the browser sends `Host: evil.example:9467` and lets the page read the answers: /spec,
// presign answers, /variants), or with a "simple" cross-origin POST (text/plain, no preflight).
// So: the Host must name this server (as the S3 port requires, packages/local-s3), and a POST
// body must be `application/json`, which a browser sends cross-origin only after a CORS
// preflight that this API never grants.
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: 403 | 415;
  code: string;
  message: string;
}

/** The Host values that name the API on `port`: the loopback addresses it is reached by. */
export function apiHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Why `req` is refused, or undefined when it may go on. */
export function refuseRequest(req: IncomingMessage, hosts: Set<string>): Refusal | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!hosts.has(host)) {
    return { status: 403, code: 'ForbiddenHost', message: `Host "${host}" is not this server's address; requests must name it (a guard against DNS rebinding)` };
  }
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') {
      return { status: 415, code: 'UnsupportedMediaType', message: `a POST body must be sent as content-type: application/json${type ? `, not ${type}` : ''}` };
    }
  }
  return undefined;
}
