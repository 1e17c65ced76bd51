// A cap on open connections: past it, the connection idle the longest is closed to make room (a
// keep-alive socket, or one that never sent a request); only when every one is busy is the newcomer
// refused. Without it, thousands of idle sockets hold every descriptor and no request gets in.
import type http from 'node:http';
import type { Socket } from 'node:net';

export function capConnections(server: http.Server, max: number): void {
  const open = new Set<Socket>();
  /** Idle sockets, oldest first (a Map keeps insertion order). */
  const idle = new Map<Socket, true>();
  const forget = (socket: Socket) => {
    open.delete(socket);
    idle.delete(socket);
  };
  server.on('connection', (socket: Socket) => {
    if (open.size >= max) {
      const oldest = idle.keys().next().value;
      const victim = oldest ?? socket;
      forget(victim);
      victim.destroy();
      if (!oldest) return;
    }
    open.add(socket);
    idle.set(socket, true);
    socket.once('close', () => forget(socket));
  });
  const busy = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    idle.delete(socket);
    res.once('finish', () => {
      if (open.has(socket) && !socket.destroyed) idle.set(socket, true); // idle again, newest
    });
  };
  server.on('request', busy);
  server.on('checkContinue', busy);
}
