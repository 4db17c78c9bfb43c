// Starts the example auth server in-process on an ephemeral localhost port,
// with PGlite in memory, and collects its log lines.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { createAESGCMCipher, createMFA } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { Accounts } from '../../examples/auth-server/accounts.ts';
import { createApp } from '../../examples/auth-server/app.ts';

export interface RunningServer {
  url: string;
  logs: string[];
  close: () => Promise<void>;
}

export async function startAuthServer(
  options: { secureCookies?: boolean } = {},
): Promise<RunningServer> {
  const db = await PGlite.create();
  const accounts = new Accounts(db);
  await accounts.migrate();
  const store = new PostgresStore({ client: db });
  await store.migrate();
  const logs: string[] = [];
  const mfa = createMFA({
    store,
    issuer: 'totpkit demo',
    cipher: createAESGCMCipher({
      keys: { test: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
      primaryKeyId: 'test',
    }),
    onEvent: (event) => logs.push(`mfa event ${event.type} user=${event.userId}`),
  });
  const server = createServer(
    createApp({
      mfa,
      accounts,
      secureCookies: options.secureCookies ?? false,
      // Cheaper than the default, so the tests stay fast; the format is the same.
      passwordParams: { N: 2 ** 10, r: 8, p: 1 },
      log: (line) => logs.push(line),
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await db.close();
    },
  };
}

/** Extracts the text of the first match of `pattern`'s group 1, or throws. */
export function extract(html: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(html);
  if (match?.[1] === undefined) throw new Error(`no ${what} in the page:\n${html}`);
  return match[1];
}
