// The HTTP server around the app, with limits on slow and numerous clients.
// Node's defaults suit a server behind a proxy that enforces its own; a
// server facing the internet directly needs these set, or a few hundred slow
// connections (one header byte a minute, or a body that never ends) stay open
// for minutes and hold memory and file descriptors. One address may hold
// only a few of the connections, so that one client's idle sockets cannot
// take them all (IPv6 counted by /64, as limits.ts keys it).
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey } from './limits.ts';

export interface ServerLimits {
  /** Time to receive the request line and headers. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Open connections beyond this are closed as they arrive. */
  maxConnections: number;
  /**
   * Open connections from one address (an IPv6 /64) beyond this are closed
   * as they arrive. `Infinity` turns it off: behind a reverse proxy every
   * connection comes from the proxy, which must limit its clients itself.
   */
  maxConnectionsPerIP: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
  maxConnectionsPerIP: 32,
});

/** An HTTP server for `app` with `limits` (each defaults to DEFAULT_LIMITS; tests shorten them). */
export function createAuthServer(app: RequestListener, limits: Partial<ServerLimits> = {}): Server {
  const {
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs,
    maxConnections,
    maxConnectionsPerIP,
  } = { ...DEFAULT_LIMITS, ...limits };
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      // How often Node checks the two timeouts above (default 30 s, which
      // would let a 10 s limit run to 40 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
    },
    app,
  );
  server.maxConnections = maxConnections;
  if (maxConnectionsPerIP !== Infinity) limitPerAddress(server, maxConnectionsPerIP);
  // CONNECT (proxy tunnels) never reaches the app; answer it rather than
  // dropping the connection silently.
  server.on('connect', (_req, socket: Duplex) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}

/**
 * Closes a new connection at once when its address (its /64 for IPv6)
 * already has `max` open. The count lives only as long as the connections:
 * its memory is bounded by the server's connection limit.
 */
function limitPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress ?? '');
    const count = open.get(key) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(key, count + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
