// bench/wan-proxy.mjs — a userspace TCP proxy that makes a loopback server look like it is across
// a WAN (the kernel here has no netem). node:net only.
//
//   startWanProxy({ target: { host, port }, rttMs, upMbit, windowBytes }) → { port, close(), bytesUp }
//
// - Latency: every chunk, in each direction, is delivered rttMs/2 after it arrived (one timer per
//   direction per connection, order kept; delays are not serialized, so latency does not limit
//   throughput by itself).
// - Uplink cap: client→server bytes are paced to upMbit Mbit/s, shared by ALL connections: one
//   virtual clock (`linkFreeAt`) — a chunk leaves when the link has finished sending everything
//   queued before it, from any connection (a FIFO link / token bucket with no burst), then it
//   travels rttMs/2. upMbit 0 = uncapped.
// - Backpressure: per connection and direction, once more than windowBytes (default 4 MiB) are
//   held in the proxy (queued or in the destination socket's buffer) the source socket is paused,
//   resumed below half. That bounds each connection's bytes in flight: a connection moves at most
//   about windowBytes per rttMs/2 (4 MiB / 20 ms ≈ 200 MB/s), above what this machine can hash.
// - Not modelled: loss, TCP slow start / congestion control (the loopback TCP underneath has none
//   of the WAN's RTT), a separate downlink cap.
//
// bytesUp: client→server bytes delivered to the target so far (all connections).
// Also runnable in a worker thread (startWanProxyWorker), to keep its event loop off the caller's.
import net from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export async function startWanProxy({ target, rttMs = 40, upMbit = 0, windowBytes = 4 * 1024 * 1024 }) {
  const oneWay = rttMs / 2;
  const bytesPerMs = upMbit > 0 ? (upMbit * 1e6) / 8 / 1000 : 0;
  let linkFreeAt = 0; // ms (performance.now clock): when the shared uplink has sent all it was given
  let bytesUp = 0;
  const sockets = new Set();
  const now = () => performance.now();

  // One direction of one connection: chunks with their delivery times, in order.
  function pipeDelayed(src, dst, paced) {
    const q = []; // { at, buf } | { at, end: true }
    let held = 0; // bytes queued here, not yet written to dst
    let timer = null;
    let paused = false;
    const high = windowBytes;
    const low = windowBytes / 2;
    const inFlight = () => held + dst.writableLength;
    const maybeResume = () => {
      if (paused && inFlight() <= low && !src.destroyed) { paused = false; src.resume(); }
    };
    const flush = () => {
      timer = null;
      const t = now();
      while (q.length && q[0].at <= t + 0.5) {
        const item = q.shift();
        if (item.end) { dst.end(); continue; }
        held -= item.buf.length;
        if (paced) bytesUp += item.buf.length;
        if (!dst.destroyed) dst.write(item.buf);
      }
      if (q.length) timer = setTimeout(flush, Math.max(0, q[0].at - now()));
      maybeResume();
    };
    const schedule = () => { if (!timer && q.length) timer = setTimeout(flush, Math.max(0, q[0].at - now())); };
    dst.on('drain', maybeResume);
    src.on('data', (buf) => {
      let at = now();
      if (paced && bytesPerMs > 0) {
        linkFreeAt = Math.max(linkFreeAt, at) + buf.length / bytesPerMs;
        at = linkFreeAt;
      }
      q.push({ at: at + oneWay, buf });
      held += buf.length;
      schedule();
      if (!paused && inFlight() > high) { paused = true; src.pause(); }
    });
    src.on('end', () => {
      // After everything queued before it (a paced chunk may be due later than now + oneWay).
      const last = q.length ? q[q.length - 1].at : 0;
      q.push({ at: Math.max(now() + oneWay, last), end: true });
      schedule();
    });
    return () => { if (timer) clearTimeout(timer); timer = null; q.length = 0; };
  }

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    sockets.add(client);
    sockets.add(upstream);
    const stopUp = pipeDelayed(client, upstream, true);
    const stopDown = pipeDelayed(upstream, client, false);
    const kill = () => {
      stopUp();
      stopDown();
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', kill);
    upstream.on('error', kill);
    // Both halves closed: done. (A one-sided close without error is a half-close, kept.)
    let closed = 0;
    const onClose = () => { if (++closed === 2) kill(); };
    client.on('close', onClose);
    upstream.on('close', onClose);
  });
  await new Promise((res, rej) => { server.once('error', rej); server.listen(0, '127.0.0.1', res); });
  return {
    port: server.address().port,
    get bytesUp() { return bytesUp; },
    close: () => new Promise((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    }),
  };
}

// The same proxy in a worker thread: { port, close(), bytesUp(): Promise<number> }.
export async function startWanProxyWorker(opts) {
  const w = new Worker(new URL(import.meta.url), { workerData: { wanProxy: opts } });
  const ask = (msg) => new Promise((res, rej) => {
    // Both listeners go when either fires: a trace asks many times a run (no listener left behind).
    const onMsg = (m) => { if (m.re === msg) { w.off('message', onMsg); w.off('error', onErr); res(m); } };
    const onErr = (err) => { w.off('message', onMsg); rej(err); };
    w.on('message', onMsg);
    w.once('error', onErr);
    w.postMessage(msg);
  });
  const { port } = await ask('port');
  return {
    port,
    bytesUp: async () => (await ask('bytes')).bytesUp,
    close: async () => { await ask('close'); await w.terminate(); },
  };
}

if (!isMainThread && workerData?.wanProxy) {
  const p = await startWanProxy(workerData.wanProxy);
  parentPort.on('message', async (m) => {
    if (m === 'port') parentPort.postMessage({ re: m, port: p.port });
    else if (m === 'bytes') parentPort.postMessage({ re: m, bytesUp: p.bytesUp });
    else if (m === 'close') { await p.close(); parentPort.postMessage({ re: m }); }
  });
}
