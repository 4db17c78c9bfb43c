// Starts the example auth server in-process on an ephemeral localhost port,
// with PGlite in memory unless given other storage, and collects its log lines.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { expect } from 'vitest';
import { createAESGCMCipher, createMFA, type MFAOptions, type MFAStore } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { Accounts } from '../../examples/auth-server/accounts.ts';
import { createApp } from '../../examples/auth-server/app.ts';
import { createAuthServer, type ServerLimits } from '../../examples/auth-server/http.ts';
import type { PerIPLimits } from '../../examples/auth-server/limits.ts';

/**
 * Per-IP limits for tests that are not about them: every test client comes
 * from 127.0.0.1, and some make hundreds of sign-ins and code checks a
 * minute. auth-server.limits.test.ts tests the limits, with its own.
 */
const UNLIMITED: PerIPLimits = {
  signInsPerMinute: 1_000_000,
  codesPerMinute: 1_000_000,
  trustProxy: false,
};

export interface RunningServer {
  url: string;
  logs: string[];
  close: () => Promise<void>;
}

/**
 * Starts the app on `storage` (the caller closes it), or by default on a new
 * in-memory PGlite database (closed with the server).
 */
export async function startAuthServer(
  options: {
    secureCookies?: boolean;
    storage?: { accounts: Accounts; store: MFAStore };
    /** The HTTP server's limits; the connection limit per address is off unless given. */
    limits?: Partial<ServerLimits>;
    /** Per-IP limits on password and code checks; off unless given. */
    perIP?: Partial<PerIPLimits>;
    /** The app's clock for the per-IP limits (Unix ms). */
    clock?: () => number;
    /** TOTP parameters of new factors, as server.ts reads them from TOTP_ALGORITHM, … */
    totp?: MFAOptions['totp'];
  } = {},
): Promise<RunningServer> {
  let db: PGlite | undefined;
  let storage = options.storage;
  if (storage === undefined) {
    db = await PGlite.create();
    const accounts = new Accounts(db);
    await accounts.migrate();
    const store = new PostgresStore({ client: db });
    await store.migrate();
    storage = { accounts, store };
  }
  const { accounts, store } = storage;
  const logs: string[] = [];
  const cipher = createAESGCMCipher({
    keys: { test: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
    primaryKeyId: 'test',
  });
  const mfa = createMFA({
    store,
    issuer: 'totpkit demo',
    cipher,
    ...(options.totp === undefined ? {} : { totp: options.totp }),
    // Cheaper recovery-code hashing than the default (2^14), so the tests stay fast.
    policy: { recoveryCodeScrypt: { N: 2 ** 10 } },
    onEvent: (event) => logs.push(`mfa event ${event.type} user=${event.userId}`),
  });
  const server = createAuthServer(
    createApp({
      mfa,
      accounts,
      cipher,
      secureCookies: options.secureCookies ?? false,
      // Cheaper than the default, so the tests stay fast; the format is the same.
      passwordParams: { N: 2 ** 10, r: 8, p: 1 },
      perIP: { ...UNLIMITED, ...options.perIP },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      log: (line) => logs.push(line),
    }),
    { maxConnectionsPerIP: Infinity, ...options.limits },
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
      await db?.close();
    },
  };
}

/** Extracts the text of the first match of `pattern`'s group 1, or throws. */
export function extract(html: string, pattern: RegExp, what: string): string {
  const match = pattern.exec(html);
  if (match?.[1] === undefined) throw new Error(`no ${what} in the page:\n${html}`);
  return match[1];
}

export interface Response {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}

/** A browser stand-in: one cookie, the CSRF token of the last page, no redirects followed. */
export class Client {
  cookie = '';
  csrf = '';
  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    fields?: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const init: RequestInit = {
      method,
      redirect: 'manual',
      headers: { ...(this.cookie ? { cookie: this.cookie } : {}), ...headers },
    };
    if (fields !== undefined) {
      init.body = new URLSearchParams({ csrf: this.csrf, ...fields }).toString();
      (init.headers as Record<string, string>)['content-type'] =
        'application/x-www-form-urlencoded';
    }
    const res = await fetch(this.base + path, init);
    const set = res.headers.get('set-cookie');
    if (set !== null) this.cookie = set.split(';')[0] as string;
    // Whitespace collapsed, so that assertions do not depend on how the HTML is laid out.
    // Numeric character references (how the app escapes quotes) read back as text.
    const body = (await res.text())
      .replace(/\s+/g, ' ')
      .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
    const csrf = /name="csrf" value="([^"]+)"/.exec(body)?.[1];
    if (csrf !== undefined) this.csrf = csrf;
    return {
      status: res.status,
      location: res.headers.get('location'),
      body,
      headers: res.headers,
    };
  }
  get(path: string): Promise<Response> {
    return this.request('GET', path);
  }
  post(
    path: string,
    fields: Record<string, string> = {},
    headers?: Record<string, string>,
  ): Promise<Response> {
    return this.request('POST', path, fields, headers);
  }
  /** Follows one 303 with a GET, as a browser does. */
  async follow(res: Response): Promise<Response> {
    expect(res.status).toBe(303);
    return this.get(res.location as string);
  }
}
