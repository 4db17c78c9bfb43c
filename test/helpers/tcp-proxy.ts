// A TCP proxy on 127.0.0.1 in front of a database server, to cut connections
// in the middle of a run (as a network fault or a server-side kill would) and
// to refuse new ones for a while, whatever server is behind it.
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
  /** Closes the proxy and its connections. */
  close(): Promise<void>;
}

/** Starts a proxy to `host:port`. */
export async function startTCPProxy(host: string, port: number): Promise<TCPProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no port');
  const cut = () => {
    for (const socket of open) socket.destroy();
    open.clear();
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
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
