// A TCP proxy on 127.0.0.1 in front of a database server, to cut connections
// in the middle of a run (as a network fault or a server-side kill would), to
// refuse new ones for a while, to hold back what the server sends (a stalled
// link), and to send new connections to another server (a failover).
import { createConnection, createServer, type Socket } from 'node:net';

/** A proxy whose connections the test can cut. */
export interface TCPProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** How many connections are open now. */
  readonly connections: number;
  /** Destroys every open connection, both sides, at once. */
  cut(): void;
  /** Refuses (immediately closes) new connections until {@link TCPProxy.accept}. */
  refuse(): void;
  /** Accepts and forwards new connections again. */
  accept(): void;
  /**
   * Stops forwarding what the server sends, on open and new connections, until
   * {@link TCPProxy.resume}: it is held back, not dropped (a {@link TCPProxy.cut}
   * drops it). What the clients send still goes through.
   */
  pause(): void;
  /** Forwards what the server sends again, starting with what was held back. */
  resume(): void;
  /** Sends new connections to `host:port` from now on (open ones stay where they are). */
  retarget(host: string, port: number): void;
  /** Closes the proxy and its connections. */
  close(): Promise<void>;
}

/** Starts a proxy to `host:port`. */
export async function startTCPProxy(host: string, port: number): Promise<TCPProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let refusing = false;
  let paused = false;
  let target = { host, port };
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    // No Nagle delay, as Redis and PostgreSQL set on their own sockets: small
    // replies (a replica's ACK) would otherwise wait ~40 ms for a TCP ACK.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair = { client, upstream };
    open.add(client);
    open.add(upstream);
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    if (paused) upstream.pause();
    else upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');
  const cut = () => {
    for (const socket of open) socket.destroy();
    open.clear();
    pairs.clear();
  };
  return {
    port: address.port,
    get connections() {
      return open.size / 2;
    },
    cut,
    refuse: () => {
      refusing = true;
    },
    accept: () => {
      refusing = false;
    },
    pause: () => {
      if (paused) return;
      paused = true;
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    resume: () => {
      if (!paused) return;
      paused = false;
      for (const { client, upstream } of pairs) upstream.pipe(client);
    },
    retarget: (newHost, newPort) => {
      target = { host: newHost, port: newPort };
    },
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
