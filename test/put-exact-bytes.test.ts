// putWithRetry sends exactly the bytes it signed, never more: a file that grows or shrinks after
// its size was taken fails at once with "file changed during upload", and a connection whose body
// was cut is closed, not handed to the next request. Against a real loopback node:http server that
// records every byte received, per connection (raw, as on the wire) and per request (the body).
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, truncateSync } from 'node:fs';
import { appendFile, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImgpipeError } from '../src/core/errors.js';
import { putWithRetry, type PutOptions } from '../src/s3/put.js';
import { tempDir } from './helpers/images.js';

const MiB = 1024 * 1024;
/** The request timeout given to every put: a changed file must fail well before it. */
const TIMEOUT_MS = 5_000;
/** Two attempts, no real backoff: a retried change would show as a second request. */
const RETRY = { attempts: 2, baseMs: 10, maxMs: 10 };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface SocketLog {
  id: number;
  /** Every byte that arrived on the connection, headers included. */
  raw: Buffer[];
  closed: boolean;
  whenClosed: Promise<void>;
  /** Parse errors (HPE_*): bytes that were not a request, e.g. a body longer than its Content-Length. */
  parseErrors: string[];
}

interface RequestLog {
  socket: number;
  url: string;
  contentLength: number;
  body: Buffer[];
  bytes: number;
  /** The whole declared body arrived. */
  complete: boolean;
  whenClosed: Promise<void>;
}

interface Recorder {
  url: string;
  sockets: SocketLog[];
  requests: RequestLog[];
  /** Bytes on the connection past the requests' headers and declared bodies (> 0: extra bytes were sent). */
  extraOnWire(socket: SocketLog): number;
  close(): Promise<void>;
}

/** A PUT sink: stores nothing, answers 200 once the declared body is in, records everything. */
async function startRecorder(): Promise<Recorder> {
  const sockets: SocketLog[] = [];
  const requests: RequestLog[] = [];
  const ids = new WeakMap<Socket, SocketLog>();
  const server = http.createServer({ keepAliveTimeout: 30_000 });

  server.on('connection', (socket: Socket) => {
    let onClose!: () => void;
    const log: SocketLog = { id: sockets.length, raw: [], closed: false, whenClosed: new Promise((r) => (onClose = r)), parseErrors: [] };
    sockets.push(log);
    ids.set(socket, log);
    socket.on('data', (chunk: Buffer) => log.raw.push(chunk));
    socket.on('close', () => {
      log.closed = true;
      onClose();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const log = ids.get(socket);
    // HPE_INVALID_EOF_STATE is a connection closed mid-body (a cut upload), not stray bytes.
    if (log && err.code?.startsWith('HPE_') && err.code !== 'HPE_INVALID_EOF_STATE') log.parseErrors.push(err.code);
    if (socket.writable && err.code?.startsWith('HPE_')) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let onClose!: () => void;
    const log: RequestLog = {
      socket: ids.get(req.socket)!.id,
      url: req.url ?? '',
      contentLength: Number(req.headers['content-length']),
      body: [],
      bytes: 0,
      complete: false,
      whenClosed: new Promise((r) => (onClose = r)),
    };
    requests.push(log);
    req.on('data', (chunk: Buffer) => {
      log.body.push(chunk);
      log.bytes += chunk.length;
    });
    req.on('end', () => {
      log.complete = true;
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    });
    req.on('error', () => {}); // the client cut the body: recorded as incomplete
    req.on('close', () => onClose());
  });

  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    requests,
    extraOnWire(socket) {
      const raw = Buffer.concat(socket.raw);
      let pos = 0;
      for (const r of requests.filter((q) => q.socket === socket.id)) {
        const end = raw.indexOf('\r\n\r\n', pos);
        if (end < 0) throw new Error(`socket ${socket.id}: no header block at ${pos}`);
        pos = end + 4 + r.contentLength;
      }
      return raw.length - pos;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

let server: Recorder;
let dir: string;
beforeEach(async () => {
  server = await startRecorder();
  dir = await tempDir('imgpipe-put-exact-');
});
afterEach(async () => {
  await server.close();
});

/** A file of random bytes; returns its path and contents. */
async function randomFile(name: string, size: number): Promise<{ path: string; data: Buffer }> {
  const p = path.join(dir, name);
  const data = randomBytes(size);
  await writeFile(p, data);
  return { path: p, data };
}

/** Signs like the presign Lambda does: Content-Length is the size that was checked. */
function put(p: string, size: number, extra: Partial<PutOptions> = {}) {
  const url = `${server.url}/bucket/${path.basename(p)}`;
  const sign = async () => ({ url, headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) } });
  return putWithRetry({ path: p, size, sign, timeoutMs: TIMEOUT_MS, retry: RETRY, ...extra });
}

/** Runs a put that must fail; returns the error and how long it took. */
async function failingPut(p: string, size: number, extra: Partial<PutOptions> = {}): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  const retried: string[] = [];
  const result = await put(p, size, { onRetry: (why) => retried.push(why), ...extra }).then(
    (retries) => ({ ok: true as const, retries }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  const ms = Date.now() - started;
  if (result.ok) throw new Error(`the put succeeded (${result.retries} retries) instead of failing; the server got ${JSON.stringify(summary())}`);
  expect.soft(retried, 'a changed file is not retried').toEqual([]);
  return { err: result.err, ms };
}

const summary = () => server.requests.map((r) => ({ socket: r.socket, contentLength: r.contentLength, bytes: r.bytes, complete: r.complete }));

/** Every connection so far: nothing sent past the declared bodies, and no stray bytes parsed as a request. */
function expectNoExtraBytes() {
  for (const s of server.sockets) {
    expect(server.extraOnWire(s), `bytes past the declared bodies on connection ${s.id}`).toBeLessThanOrEqual(0);
    expect(s.parseErrors, `parse errors on connection ${s.id}`).toEqual([]);
  }
}

/** After a cut body: each connection used so far is closed, and a new put goes out on a new one. */
async function expectNextPutOnFreshConnection() {
  const before = [...server.sockets];
  await Promise.all(before.map((s) => s.whenClosed));
  const next = await randomFile('next.bin', 64 * 1024);
  await put(next.path, next.data.length);
  const last = server.requests.at(-1)!;
  expect(last.complete).toBe(true);
  expect(before.map((s) => s.id)).not.toContain(last.socket);
  expect(sha256(Buffer.concat(last.body))).toBe(sha256(next.data));
  expect(server.extraOnWire(server.sockets[last.socket])).toBe(0);
}

/** Soft, so a failure also shows what went over the wire. */
function expectChanged(err: unknown) {
  expect.soft(err).toBeInstanceOf(ImgpipeError);
  expect.soft(err).toMatchObject({ name: 'PutError', message: expect.stringMatching(/^file changed during upload\b/) });
}

describe('put sends exactly the signed bytes', () => {
  it('a large file that grows during the upload fails at once, no byte past Content-Length, its connection not reused', async () => {
    const size = 6 * MiB + 123;
    const f = await randomFile('grows.bin', size);
    let grown = false;
    let counted = 0;
    const onBytes = (n: number) => {
      counted += n;
      if (!grown && n > 0) {
        grown = true; // after the first bytes went out
        appendFileSync(f.path, randomBytes(64 * 1024));
      }
    };
    const { err, ms } = await failingPut(f.path, size, { onBytes });
    expectChanged(err);
    expect.soft(ms).toBeLessThan(TIMEOUT_MS);
    expect(grown).toBe(true);
    expect(counted).toBe(0); // progress given back
    await Promise.all(server.requests.map((r) => r.whenClosed));
    expectNoExtraBytes();
    expect(server.requests.length).toBe(1); // cut mid-body, not retried
    for (const r of server.requests) {
      expect(r.bytes).toBeLessThanOrEqual(size);
      expect(r.complete).toBe(false); // cut before the last signed byte: nothing to store
    }
    await expectNextPutOnFreshConnection();
    expectNoExtraBytes();
  });

  it('a small file (one write) that grew after its size was taken fails at once and sends nothing extra', async () => {
    const size = 200 * 1024;
    const f = await randomFile('grew.bin', size);
    await appendFile(f.path, randomBytes(4096));
    const { err, ms } = await failingPut(f.path, size);
    expectChanged(err);
    expect.soft(ms).toBeLessThan(TIMEOUT_MS);
    await Promise.all(server.requests.map((r) => r.whenClosed));
    expectNoExtraBytes();
    expect(server.requests.filter((r) => r.complete)).toEqual([]); // nothing a server could store
    await expectNextPutOnFreshConnection();
  });

  it('a large file that grew before the PUT fails before any body is sent', async () => {
    const size = 5 * MiB;
    const f = await randomFile('grew-large.bin', size);
    await appendFile(f.path, Buffer.from('x'));
    const { err, ms } = await failingPut(f.path, size);
    expectChanged(err);
    expect.soft(ms).toBeLessThan(TIMEOUT_MS);
    await Promise.all(server.requests.map((r) => r.whenClosed));
    expectNoExtraBytes();
    expect(server.requests.filter((r) => r.complete)).toEqual([]);
  });

  it('a large file that shrinks during the upload fails at once, well before the request timeout, no hang', async () => {
    const size = 8 * MiB;
    const f = await randomFile('shrinks.bin', size);
    let shrunk = false;
    const onBytes = (n: number) => {
      if (!shrunk && n > 0) {
        shrunk = true;
        truncateSync(f.path, 4 * MiB);
      }
    };
    const { err, ms } = await failingPut(f.path, size, { onBytes });
    expectChanged(err);
    expect(shrunk).toBe(true);
    expect.soft(ms).toBeLessThan(TIMEOUT_MS);
    await Promise.all(server.requests.map((r) => r.whenClosed));
    expect(server.requests.length).toBe(1); // cut mid-body, not retried
    expect(server.requests[0].complete).toBe(false);
    expectNoExtraBytes();
    await expectNextPutOnFreshConnection();
  });

  it('a small file that shrank after its size was taken fails at once, no hang', async () => {
    const size = 300 * 1024;
    const f = await randomFile('shrank.bin', size);
    await truncate(f.path, size - 1);
    const { err, ms } = await failingPut(f.path, size);
    expectChanged(err);
    expect.soft(ms).toBeLessThan(TIMEOUT_MS);
    await Promise.all(server.requests.map((r) => r.whenClosed));
    expect(server.requests.filter((r) => r.complete)).toEqual([]);
    expectNoExtraBytes();
  });

  it('unchanged files, streamed (> 4 MiB) and in one write (≤ 4 MiB), arrive byte for byte on one reused connection', async () => {
    const large = await randomFile('large.bin', 6 * MiB + 7);
    const small = await randomFile('small.bin', 4 * MiB); // the largest one-write size
    const tiny = await randomFile('tiny.bin', 1);
    let counted = 0;
    for (const f of [large, small, tiny]) expect(await put(f.path, f.data.length, { onBytes: (n) => (counted += n) })).toBe(0);
    expect(counted).toBe(large.data.length + small.data.length + 1);
    expect(server.requests.map((r) => [r.url, r.contentLength, r.bytes, r.complete])).toEqual([
      ['/bucket/large.bin', large.data.length, large.data.length, true],
      ['/bucket/small.bin', small.data.length, small.data.length, true],
      ['/bucket/tiny.bin', 1, 1, true],
    ]);
    expect(server.requests.map((r) => sha256(Buffer.concat(r.body)))).toEqual([large, small, tiny].map((f) => sha256(f.data)));
    // Keep-alive works here: the same connection carried all three, with nothing between or after them.
    expect(new Set(server.requests.map((r) => r.socket)).size).toBe(1);
    expect(server.extraOnWire(server.sockets[server.requests[0].socket])).toBe(0);
    expectNoExtraBytes();
  });
});
