// A fault-injecting HTTP proxy for the tests, put in front of the local S3 server (the endpoint
// written into pre-signed URLs) and of the presign API. Plain node:http, streaming.
//
// Faults, per request that `match`es, drawn from a seeded PRNG (the sequence of decisions is fixed
// by the seed; which request gets which decision follows arrival order), or scripted for the first
// matched requests:
//   status500      answers 500 (S3: <Error><Code>InternalError</Code>…; API: {"error":{…}})
//   status503      answers 503 SlowDown
//   resetRequest   forwards half of the request body upstream, then resets both connections
//                  (upstream sees a truncated body and must store nothing)
//   resetResponse  forwards the whole request, then drops the client connection before the answer
//                  is complete (upstream has done the work: an S3 PUT is stored)
//   stall          reads the request and never answers, until the client gives up
//   stallResponse  forwards the whole request, then holds the answer until the client gives up
//   trickle        forwards the request body in small slices with pauses (not a failure)
// The Host header is forwarded unchanged to S3: it is part of the SigV4 signature of a pre-signed
// URL. To the API it names the API, as a client reaching it directly would.
//
// It counts requests per method and path, the faults it injected, the 2xx answers upstream gave
// (for a PUT: the object was stored), and the 2xx answers delivered whole to the client.
//
// `hold()` makes every request keep back the last byte of its body (so upstream cannot complete
// it) and resolves once no request is between "body complete" and "answer delivered": after it,
// what upstream has stored is exactly what the client has been told, which lets a test signal a
// child mid-batch without a race. (A request without a body is held whole: do not hold() a proxy
// that must keep answering, e.g. the API's health check.)
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { STATE_FILE, writeDevState } from '../../src/local/state.js';
import { cliEnv } from './cli.js';

export const FAILING_FAULTS = ['status500', 'status503', 'resetRequest', 'resetResponse', 'stall', 'stallResponse'] as const;
export type FailingFault = (typeof FAILING_FAULTS)[number];
export type Fault = FailingFault | 'trickle';
export const FAULTS: readonly Fault[] = [...FAILING_FAULTS, 'trickle'];

/** Probability of each fault per matched request (their sum at most 1). */
export type FaultRates = Partial<Record<Fault, number>>;

export interface FaultProxyOptions {
  /** Upstream base URL, e.g. http://127.0.0.1:PORT; a function when it is only known later. */
  target: string | (() => string);
  /** Shape of the error bodies: S3 XML, or the presign API's JSON. */
  flavor: 's3' | 'api';
  seed?: number;
  rates?: FaultRates;
  /** Faults for the first matched requests, in arrival order, before `rates` apply ('none': pass). */
  script?: (Fault | 'none')[];
  /** Which requests may get a fault (default: every request). */
  match?: (req: { method: string; path: string }) => boolean;
  /** After this many faults in a row on one method+path, the next request passes (default: no cap). */
  maxConsecutive?: number;
  /** Slice size and pause of `trickle`. */
  trickle?: { bytes: number; everyMs: number };
  /** A stalled request the client has not given up on is cut after this long (default 120 s). */
  stallMaxMs?: number;
}

export interface FaultDecision {
  seq: number;
  method: string;
  path: string;
  fault: Fault | 'none';
}

export interface FaultProxy {
  url: string;
  /** Arrivals per "METHOD /path" (path without the query string). */
  requests: Map<string, number>;
  /** 2xx answers upstream gave, per "METHOD /path": for a PUT, the object was stored. */
  upstreamOk: Map<string, number>;
  /** 2xx answers delivered whole to the client, per "METHOD /path". */
  delivered: Map<string, number>;
  /** Request body bytes forwarded upstream, per "METHOD /path" (every attempt, cut ones included). */
  bytesUp: Map<string, number>;
  /** Faults injected, by kind. */
  faults: Record<Fault, number>;
  /** Every matched request's decision, in arrival order. */
  decisions: FaultDecision[];
  /** Requests whose client went away before the answer was complete, not because of a fault here. */
  clientAborts: number;
  /** Upstream requests cut off before their body was complete (client gone, or resetRequest). */
  upstreamCut: number;
  /** Stalled requests the client gave up on / that were cut after stallMaxMs. */
  stallsAbandoned: number;
  stallsExpired: number;
  /** Requests keeping back their last byte because of hold(). */
  readonly held: number;
  /** Requests not finished on both sides (client connection, and the upstream request if any). */
  readonly active: number;
  /** Sum of a per-path map's counts for one method. */
  total(map: Map<string, number>, method: string): number;
  /** Faults that fail a request (every kind but trickle). */
  failures(): number;
  /** Change rates, script, trickle or the match at run time. */
  configure(opts: Partial<Pick<FaultProxyOptions, 'rates' | 'script' | 'match' | 'maxConsecutive' | 'trickle'>>): void;
  /** Resolves when `predicate` holds (checked on every change); rejects after timeoutMs. */
  waitFor(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  hold(): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function errorBody(flavor: 's3' | 'api', status: 500 | 503, requestId: string): { type: string; body: string } {
  const [code, message] = status === 503 ? ['SlowDown', 'Please reduce your request rate.'] : ['InternalError', 'We encountered an internal error. Please try again.'];
  if (flavor === 'api') return { type: 'application/json', body: JSON.stringify({ error: { code, message } }) };
  return {
    type: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`,
  };
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const opts = { ...options };
  const random = prng(opts.seed ?? 1);
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const changed = () => changes.emit('change');
  // A fresh upstream connection per request: a reused idle one could be closed by the server just
  // as a request goes out, and that failure would look like a fault nobody injected.
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  let seq = 0;
  let scripted = 0;
  let frozen = false;
  let closed = false;
  let held = 0;
  let completing = 0;
  let active = 0;
  const consecutive = new Map<string, number>();
  const stallTimers = new Set<NodeJS.Timeout>();

  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const target = () => new URL(typeof opts.target === 'function' ? opts.target() : opts.target);

  const proxy = {
    url: '',
    requests: new Map<string, number>(),
    upstreamOk: new Map<string, number>(),
    delivered: new Map<string, number>(),
    bytesUp: new Map<string, number>(),
    faults: Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>,
    decisions: [] as FaultDecision[],
    clientAborts: 0,
    upstreamCut: 0,
    stallsAbandoned: 0,
    stallsExpired: 0,
  };

  function decide(method: string, path: string): Fault | 'none' {
    if (opts.match && !opts.match({ method, path })) return 'none';
    const key = `${method} ${path}`;
    let fault: Fault | 'none' = 'none';
    if (opts.script && scripted < opts.script.length) {
      fault = opts.script[scripted++];
    } else {
      // Always draw, so the sequence of draws does not depend on the cap below.
      let r = random();
      for (const f of FAULTS) {
        const p = opts.rates?.[f] ?? 0;
        if (r < p) {
          fault = f;
          break;
        }
        r -= p;
      }
      const failing = fault !== 'none' && fault !== 'trickle';
      if (failing && (consecutive.get(key) ?? 0) >= (opts.maxConsecutive ?? Infinity)) fault = 'none';
    }
    if (fault !== 'none' && fault !== 'trickle') bump(consecutive, key);
    else consecutive.delete(key);
    if (fault !== 'none') proxy.faults[fault]++;
    proxy.decisions.push({ seq: seq++, method, path, fault });
    return fault;
  }

  /** Resolves when hold() is off or the client has gone. */
  function gate(clientGone: () => boolean): Promise<void> {
    if (!frozen || clientGone()) return Promise.resolve();
    held++;
    changed();
    return new Promise((resolve) => {
      const check = () => {
        if (frozen && !clientGone()) return;
        changes.off('change', check);
        held--;
        resolve();
        changed();
      };
      changes.on('change', check);
    });
  }

  const server = http.createServer((req, res) => {
    active++;
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = (req.url ?? '/').split('?')[0];
    const key = `${method} ${pathname}`;
    bump(proxy.requests, key);
    const fault = decide(method, pathname);
    const requestId = `FP${seq}`;
    let clientGone = false;
    let done = false;
    let upstreamSettled = true;
    const settle = () => {
      if (done || !clientGone || !upstreamSettled) return;
      done = true;
      active--;
      changed();
    };
    let injected = false; // the proxy itself ends this exchange early (reset/stall): not a client abort
    let isCompleting = false;
    let upstreamReq: http.ClientRequest | undefined;
    let bodyComplete = false;
    let stalled = false; // a stall: the client giving up on it is expected, not an abort
    let ures: http.IncomingMessage | undefined;

    const setCompleting = (v: boolean) => {
      if (v === isCompleting) return;
      isCompleting = v;
      completing += v ? 1 : -1;
      changed();
    };
    res.on('close', () => {
      clientGone = true;
      if (stalled && !injected) proxy.stallsAbandoned++;
      else if (!res.writableFinished && !injected) proxy.clientAborts++;
      if (upstreamReq && !bodyComplete && !upstreamReq.destroyed) {
        proxy.upstreamCut++;
        bodyComplete = true;
        upstreamReq.destroy();
      }
      if (ures && !ures.complete) ures.destroy();
      setCompleting(false);
      settle();
      changed();
    });
    const reset = () => {
      injected = true;
      req.socket.destroy();
    };
    const stall = () => {
      stalled = true;
      const timer = setTimeout(() => {
        stallTimers.delete(timer);
        if (clientGone) return;
        proxy.stallsExpired++;
        reset();
      }, opts.stallMaxMs ?? 120_000);
      stallTimers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        stallTimers.delete(timer);
      });
    };

    // ---- faults that never reach upstream
    if (fault === 'status500' || fault === 'status503') {
      const status = fault === 'status500' ? 500 : 503;
      const { type, body } = errorBody(opts.flavor, status, requestId);
      req.resume();
      req.on('end', () => {
        if (!clientGone) res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId }).end(body);
      });
      return;
    }
    if (fault === 'stall') {
      req.resume();
      stall();
      return;
    }

    // ---- forward
    const t = target();
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v; // host kept as is
    // Except for the API, which signs nothing and answers only requests naming it (src/local/api-guard.ts).
    if (opts.flavor === 'api') headers.host = t.host;
    const length = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
    upstreamReq = http.request({ host: t.hostname, port: t.port, method, path: req.url, headers, agent });
    const up = upstreamReq;
    upstreamSettled = false;
    up.on('close', () => {
      upstreamSettled = true;
      settle();
    });
    up.on('error', () => {
      if (injected || bodyComplete && clientGone) return;
      if (!clientGone && !res.headersSent) {
        const { type, body } = errorBody(opts.flavor, 500, requestId);
        // An upstream failure is not a fault of ours: make it visible as a 502.
        res.writeHead(502, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
      } else if (!clientGone) res.destroy();
    });

    up.on('response', async (response) => {
      ures = response;
      const status = response.statusCode ?? 502;
      if (status >= 200 && status < 300) {
        bump(proxy.upstreamOk, key);
        changed();
      }
      if (fault === 'resetResponse') {
        const chunks: Buffer[] = [];
        for await (const c of response) chunks.push(c as Buffer);
        const body = Buffer.concat(chunks);
        if (body.length > 1 && !clientGone) {
          // Half an answer, then the connection drops.
          const h: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(response.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) h[k] = v;
          h['content-length'] = body.length;
          res.writeHead(status, h);
          res.write(body.subarray(0, body.length >> 1));
          await sleep(20);
        }
        reset();
        return;
      }
      if (fault === 'stallResponse') {
        response.resume();
        stall();
        return;
      }
      const h: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(response.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) h[k] = v;
      if (clientGone) return void response.resume();
      res.writeHead(status, h);
      res.on('finish', () => {
        if (status >= 200 && status < 300) bump(proxy.delivered, key);
        changed();
      });
      response.pipe(res);
    });

    // The request body: sliced and paced for trickle, cut for resetRequest, last byte held on hold().
    void (async () => {
      const trickle = fault === 'trickle' ? (opts.trickle ?? { bytes: 4096, everyMs: 50 }) : undefined;
      const cutAt = fault === 'resetRequest' ? Math.floor((length ?? 2) / 2) : Infinity;
      let sent = 0;
      // Past here upstream can complete the request: wait out hold(), then count it as completing
      // in the same tick (so hold() never misses a request that slipped through).
      const pass = async () => {
        while (frozen && !clientGone && !closed) await gate(() => clientGone || closed);
        if (clientGone || closed) throw new Error('client gone');
        setCompleting(true);
      };
      const write = async (b: Buffer) => {
        if (!b.length) return;
        sent += b.length;
        proxy.bytesUp.set(key, (proxy.bytesUp.get(key) ?? 0) + b.length);
        if (!up.write(b)) await once(up, 'drain');
      };
      try {
        for await (const chunk of req) {
          let data = chunk as Buffer;
          while (data.length) {
            let slice = trickle ? data.subarray(0, trickle.bytes) : data;
            data = data.subarray(slice.length);
            if (sent + slice.length >= cutAt) {
              await write(slice.subarray(0, cutAt - sent));
              await sleep(10); // let upstream see the part it got
              proxy.upstreamCut++;
              bodyComplete = true; // counted here, not again on close
              up.destroy();
              reset();
              return;
            }
            if (length !== undefined && sent + slice.length === length) {
              await write(slice.subarray(0, slice.length - 1));
              slice = slice.subarray(slice.length - 1);
              await pass();
            }
            await write(slice);
            if (trickle && (data.length || sent < (length ?? Infinity))) await sleep(trickle.everyMs);
          }
        }
        if (!length) await pass();
        if (clientGone) throw new Error('client gone');
        bodyComplete = true;
        up.end();
      } catch {
        if (!bodyComplete && !up.destroyed) {
          proxy.upstreamCut++;
          bodyComplete = true;
          up.destroy();
        }
      }
    })();
  });
  // Outlive the clients' idle keep-alive sockets, so no request races a closing connection.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const describe = () =>
    JSON.stringify({
      held,
      completing,
      active,
      frozen,
      requests: [...proxy.requests.values()].reduce((a, b) => a + b, 0),
      upstreamOk: [...proxy.upstreamOk.values()].reduce((a, b) => a + b, 0),
      delivered: [...proxy.delivered.values()].reduce((a, b) => a + b, 0),
      faults: Object.fromEntries(Object.entries(proxy.faults).filter(([, n]) => n)),
      clientAborts: proxy.clientAborts,
      upstreamCut: proxy.upstreamCut,
    });

  // (Getters by defineProperties: Object.assign would copy their values once.)
  Object.defineProperties(proxy, {
    held: { get: () => held, enumerable: true },
    active: { get: () => active, enumerable: true },
  });
  return Object.assign(proxy as typeof proxy & { readonly held: number; readonly active: number }, {
    total(map: Map<string, number>, m: string) {
      let n = 0;
      for (const [k, v] of map) if (k.startsWith(`${m} `)) n += v;
      return n;
    },
    failures() {
      return FAILING_FAULTS.reduce((n, f) => n + proxy.faults[f], 0);
    },
    configure(next: Partial<FaultProxyOptions>) {
      if ('script' in next) scripted = 0;
      Object.assign(opts, next);
    },
    waitFor(predicate: () => boolean, what: string, timeoutMs = 50_000) {
      return new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          changes.off('change', check);
          reject(new Error(`fault proxy: gave up waiting for ${what}; ${describe()}`));
        }, timeoutMs);
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          changes.off('change', check);
          resolve();
        };
        changes.on('change', check);
      });
    },
    async hold() {
      frozen = true;
      changed();
      if (completing === 0) return;
      await new Promise<void>((resolve) => {
        const check = () => {
          if (completing !== 0) return;
          changes.off('change', check);
          resolve();
        };
        changes.on('change', check);
      });
    },
    release() {
      frozen = false;
      changed();
    },
    async close() {
      closed = true; // held requests are cut, never completed
      changed();
      for (const t of stallTimers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  });
}

// ------------------------------------------------ fixtures of the fault tests ----
// (Kept here, beside the proxy, so faults.test.ts and interrupt.test.ts share them.)

/** `n` distinct real JPEGs (noise, so they do not compress: ~20-50 KB each), named img-000.jpg…. */
export async function writeNoiseJpegs(dir: string, n: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i += 8) {
    const chunk = Array.from({ length: Math.min(8, n - i) }, (_, j) => i + j);
    await Promise.all(
      chunk.map(async (k) => {
        const [width, height] = [200 + ((k * 37) % 120), 150 + ((k * 53) % 90)];
        const bytes = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
          .jpeg({ quality: 90 })
          .toBuffer();
        const file = path.join(dir, `img-${String(k).padStart(3, '0')}.jpg`);
        await writeFile(file, bytes);
        files[k] = file;
      }),
    );
  }
  return files;
}

/** Write `.imgpipe/dev.json` in `cwd` so `--local` uses this stack, its API reached at `apiUrl`. */
export async function adoptVia(
  stack: { s3Endpoint: string; region: string; sourceBucket: string; destBucket: string; dir: string; credentials: { accessKeyId: string; secretAccessKey: string } },
  cwd: string,
  apiUrl: string,
): Promise<void> {
  await writeDevState(
    { pid: process.pid, apiUrl, s3Endpoint: stack.s3Endpoint, region: stack.region, sourceBucket: stack.sourceBucket, destBucket: stack.destBucket, dataDir: stack.dir, credentials: stack.credentials },
    path.join(cwd, STATE_FILE),
  );
}

export interface Spawned {
  child: ChildProcess;
  /** Resolves when the child has exited; peakRssKb: the highest VmHWM read from /proc (0 if none). */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; peakRssKb: number }>;
}

/** Run the built CLI as a separate process, like runCli, but hand out the child (to signal it). */
export function spawnCli(bin: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Spawned {
  const child = spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakRssKb = 0;
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakRssKb = Math.max(peakRssKb, Number(m[1]));
    } catch {
      /* gone, or no /proc */
    }
  }, 50);
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const done = new Promise<Awaited<Spawned['done']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, peakRssKb });
    });
  });
  return { child, done };
}
