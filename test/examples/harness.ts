// Starts the example auth server in-process on an ephemeral localhost port,
// with PGlite in memory unless given other storage, and collects its log lines;
// a browser stand-in (Client); and the seed flow's steps that several test
// files walk: sign up, a verification code read from the development outbox,
// the QR code's secret, binding with two codes, and sign-in with a code.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { expect } from 'vitest';
import {
  decodeBase32,
  generateTOTP,
  type MFA,
  type MFAOptions,
  type MFAPolicyOptions,
  type MFAStore,
} from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { Accounts } from '../../examples/auth-server/accounts.ts';
import { createApp } from '../../examples/auth-server/app.ts';
import { createAuthServer, type ServerLimits } from '../../examples/auth-server/http.ts';
import type { PerIPLimits } from '../../examples/auth-server/limits.ts';
import { devOutboxMailer, type Mailer } from '../../examples/auth-server/mail.ts';
import { createDemoMFA } from '../../examples/auth-server/service.ts';

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
  /** The server's service, to look at the account state behind the pages. */
  mfa: MFA;
  accounts: Accounts;
  close: () => Promise<void>;
}

/**
 * Test helpers that test other things keep 0.2's cheaper recovery-code
 * hashing; the proofs stay on (the default policy), as the example runs.
 */
const TEST_POLICY: MFAPolicyOptions = { recoveryCodeScrypt: { N: 2 ** 10 } };

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
    /** Where codes go; default the development outbox (its lines in `logs`). */
    mailer?: Mailer;
    /** Policy overrides, over the tests' cheaper recovery-code hashing. */
    policy?: MFAPolicyOptions;
    /** The service's clock (Unix ms). */
    mfaClock?: () => number;
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
  const log = (line: string) => void logs.push(line);
  const mailer = options.mailer ?? devOutboxMailer(log);
  const mfa = createDemoMFA({
    store,
    key: globalThis.crypto.getRandomValues(new Uint8Array(32)),
    sender: mailer.sender,
    log,
    policy: { ...TEST_POLICY, ...options.policy },
    ...(options.totp === undefined ? {} : { totp: options.totp }),
    ...(options.mfaClock === undefined ? {} : { clock: options.mfaClock }),
  });
  const server = createAuthServer(
    createApp({
      mfa,
      accounts,
      outbox: mailer.outbox,
      secureCookies: options.secureCookies ?? false,
      // Cheaper than the default, so the tests stay fast; the format is the same.
      passwordParams: { N: 2 ** 10, r: 8, p: 1 },
      perIP: { ...UNLIMITED, ...options.perIP },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      log,
    }),
    { maxConnectionsPerIP: Infinity, ...options.limits },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    mfa,
    accounts,
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

/** A browser stand-in: a cookie jar, the CSRF token of the last page, no redirects followed. */
export class Client {
  /** The cookies by name (a `Max-Age=0` cookie is removed, as a browser does). */
  readonly cookies = new Map<string, string>();
  csrf = '';
  /** The Cookie header this client sends. */
  get cookie(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
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
    for (const set of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = set.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1)];
      if (attributes.some((a) => a.trim() === 'Max-Age=0')) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
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

/** Signs up `email` on a new session of `client`; lands on the account page (2FA off). */
export async function signUp(client: Client, email: string, password: string): Promise<Response> {
  await client.get('/signup');
  const page = await client.follow(await client.post('/signup', { email, password }));
  expect(page.body).toContain('Two-factor sign-in is <strong>off</strong>');
  return page;
}

/** The code in the newest e-mail of the development outbox, as the signed-in user sees it. */
export async function outboxCode(client: Client): Promise<string> {
  const page = await client.get('/dev/outbox');
  expect(page.status).toBe(200);
  expect(page.body).toContain('<h1>Development outbox — not for production</h1>');
  return extract(page.body, /verification code is (\d{6,10})\./, 'verification code');
}

/**
 * "Set up virtual MFA": a code sent to the account's e-mail, read from the
 * development outbox and entered; returns the enrollment page (QR code and
 * key) and its secret.
 */
export async function enrollThroughOutbox(
  client: Client,
): Promise<{ page: Response; secret: Uint8Array }> {
  const sent = await client.post('/mfa/setup');
  expect(sent.location).toBe('/mfa/verify');
  const verify = await client.get('/mfa/verify');
  expect(verify.body).toContain('<h1>Check your e-mail</h1>');
  const code = await outboxCode(client);
  const proved = await client.post('/mfa/verify', { code });
  expect(proved.location).toBe('/mfa/setup');
  const page = await client.get('/mfa/setup');
  expect(page.status).toBe(200);
  const secret = extract(page.body, /id="secret">([A-Z2-7 ]+)</, 'secret').replace(/ /g, '');
  return { page, secret: decodeBase32(secret) };
}

/** The codes of the step before now, now and the next step (a phone in sync). */
export type CodesNow = (secret: Uint8Array) => Promise<[string, string, string]>;

export const libraryCodes: CodesNow = async (secret) => {
  const now = Date.now();
  return [-30_000, 0, 30_000].map((offset) => generateTOTP(secret, { now: now + offset })) as [
    string,
    string,
    string,
  ];
};

/**
 * The seed flow end to end, as auth-server.servers.test.ts and
 * auth-server.sqlite.test.ts walk it on each storage: sign up, a code by
 * e-mail (the outbox), the QR code's key, two consecutive codes (recovery
 * codes shown), sign out, sign in with the password, the binding's code
 * refused as a replay, the next one accepted. Returns the user's id.
 */
export async function walkSeedFlow(
  server: RunningServer,
  email: string,
  codes: CodesNow = libraryCodes,
): Promise<string> {
  const password = 'a fine passphrase';
  const client = new Client(server.url);
  await signUp(client, email, password);
  const { secret } = await enrollThroughOutbox(client);
  const [previous, current, next] = await codes(secret);
  const bound = await client.post('/mfa/confirm', { code1: previous, code2: current });
  expect(bound.body).toContain('Save these recovery codes');
  await client.post('/signout');
  await client.get('/signin');
  const signIn = await client.post('/signin', { email, password });
  expect(signIn.location).toBe('/signin/code');
  await client.get('/signin/code');
  const replay = await client.post('/signin/code', { code: current });
  expect(replay.body).toContain('That code has already been used');
  expect((await client.post('/signin/code', { code: next })).location).toBe('/');
  expect((await client.get('/')).body).toContain('Two-factor sign-in is <strong>on</strong>');
  const user = await server.accounts.findUserByEmail(email);
  expect(user).not.toBeNull();
  return user!.id;
}

/**
 * The log as one text, with the request ids (random UUIDs) left out: a
 * 6-digit code could turn up inside one by chance, and the tests that look
 * for codes in the log must not fail on that.
 */
export function logText(lines: readonly string[]): string {
  return lines.join('\n').replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g, '<id>');
}

/** Signs up `email` on a new client; returns the client (signed in, two-factor sign-in off). */
export async function signedUp(url: string, email: string, password: string): Promise<Client> {
  const client = new Client(url);
  await client.get('/signup');
  const res = await client.post('/signup', { email, password });
  expect(res.location).toBe('/');
  await client.get('/');
  return client;
}

/**
 * Turns on two-factor sign-in for the signed-in `client` (the seed flow: the
 * outbox's code, then two codes); returns the secret and the recovery codes.
 */
export async function enrollAndBind(
  client: Client,
): Promise<{ secret: Uint8Array; recoveryCodes: string[] }> {
  const { secret } = await enrollThroughOutbox(client);
  const now = Date.now();
  const done = await client.post('/mfa/confirm', {
    code1: generateTOTP(secret, { now: now - 30_000 }),
    code2: generateTOTP(secret, { now }),
  });
  expect(done.status).toBe(200);
  const recoveryCodes = [
    ...done.body.matchAll(/<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/li>/g),
  ].map((m) => m[1] as string);
  expect(recoveryCodes).toHaveLength(10);
  return { secret, recoveryCodes };
}

/** A second device: signs in with the password only (valid while two-factor sign-in is off). */
export async function passwordSession(
  url: string,
  email: string,
  password: string,
): Promise<Client> {
  const client = new Client(url);
  await client.get('/signin');
  expect((await client.post('/signin', { email, password })).location).toBe('/');
  expect((await client.get('/')).status).toBe(200);
  return client;
}

/** Signs in with the password and a recovery code (a second device of a user with 2FA on). */
export async function recoverySession(
  url: string,
  email: string,
  password: string,
  recoveryCode: string,
): Promise<Client> {
  const client = new Client(url);
  await client.get('/signin');
  expect((await client.post('/signin', { email, password })).location).toBe('/signin/code');
  await client.get('/signin/recovery');
  const res = await client.post('/signin/recovery', { recovery_code: recoveryCode });
  expect(res.location).toBe('/');
  expect((await client.get('/')).status).toBe(200);
  return client;
}

/** Whether `client`'s session has ended: the account page sends it to sign in. */
export const signedOut = async (client: Client): Promise<boolean> =>
  (await client.get('/')).location === '/signin';
