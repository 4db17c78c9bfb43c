// The example auth server's sessions cannot outlive a change to two-factor
// sign-in, however a password-only sign-in interleaves with it (issue 19,
// point 5). The race: a sign-in reads the status as "none" before the bind,
// the bind ends the user's other sessions, and only then does the sign-in
// create its session, which no one ends. The review saw 19 of 800 such
// sessions open the dashboard without a code.
//
// The example binds every session to totpkit's security generation, read in
// the same `mfa.status` call as the state that decided the sign-in; the bind
// moves it in the same atomic step as the factor change, and every request
// compares the two.
//
// Two tests, each counting sessions that reach the dashboard without a code
// (the claim: 0):
// - one interleaving forced step by step: the sign-in's status read is held
//   (a store wrapper) while the bind runs to the end;
// - N enables racing M password-only sign-ins each, with the store's reads
//   delayed at random (seeded), to let the scheduler find other orders.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTOTP, type MFAStore } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { Accounts } from '../../examples/auth-server/accounts.ts';
import {
  Client,
  enrollThroughOutbox,
  signUp,
  startAuthServer,
  type RunningServer,
} from './harness.ts';

const PASSWORD = 'correct horse battery staple';

/**
 * `store`, with every `getUser` (what `mfa.status` reads) passed through
 * `delay`: it reads at once, then waits for `delay()` before answering, as a
 * slow network or a busy database would. Everything else is the store's own.
 */
function delayedReads(store: MFAStore, delay: () => Promise<void>): MFAStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'getUser') {
        return async (userId: string, now: number) => {
          const record = await target.getUser(userId, now);
          await delay();
          return record;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/** Signs up `email` and starts an enrollment (a code by e-mail, then the QR code); returns the client and the secret. */
async function signUpAndBegin(url: string, email: string) {
  const client = new Client(url);
  await signUp(client, email, PASSWORD);
  const { secret } = await enrollThroughOutbox(client);
  return { client, secret };
}

/** Binds the enrollment of `client` (two-factor sign-in on); expects the recovery codes page. */
async function bind(client: Client, secret: Uint8Array): Promise<void> {
  const now = Date.now();
  const done = await client.post('/mfa/confirm', {
    code1: generateTOTP(secret, { now: now - 30_000 }),
    code2: generateTOTP(secret, { now }),
  });
  expect(done.status).toBe(200);
  expect(done.body).toContain('Save these recovery codes');
}

/**
 * A password-only sign-in on a new client; resolves once it is answered,
 * with the client and where the answer sent it: '/' if it read the status
 * as "none", '/signin/code' if it read "active".
 */
async function passwordSignIn(url: string, email: string): Promise<[Client, string]> {
  const client = new Client(url);
  await client.get('/signin');
  const res = await client.post('/signin', { email, password: PASSWORD });
  expect(['/', '/signin/code']).toContain(res.location);
  return [client, res.location as string];
}

/** Where a session lands on the account page: the dashboard, or a redirect. */
async function landing(client: Client): Promise<'dashboard' | string> {
  const res = await client.get('/');
  if (res.status === 200) {
    expect(res.body).toContain('Hello, ');
    return 'dashboard';
  }
  expect(res.status).toBe(303);
  return res.location as string;
}

describe('example auth server: sessions and a racing "turn on two-factor sign-in"', () => {
  let db: PGlite;
  let server: RunningServer;
  let delay: () => Promise<void> = async () => {};

  beforeAll(async () => {
    db = await PGlite.create();
    const accounts = new Accounts(db);
    await accounts.migrate();
    const store = new PostgresStore({ client: db });
    await store.migrate();
    server = await startAuthServer({
      storage: { accounts, store: delayedReads(store, () => delay()) },
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('a sign-in that read "none" before the bind is refused on its next request', async () => {
    const email = 'interleaved@example.com';
    const { client: alice, secret } = await signUpAndBegin(server.url, email);

    // Hold the next status read (the sign-in's) until the bind has finished.
    let reached!: () => void;
    const held = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    delay = async () => {
      delay = async () => {};
      reached();
      await released;
    };
    const signingIn = passwordSignIn(server.url, email);
    await held; // the sign-in has read the status: "none"
    await bind(alice, secret); // two-factor sign-in is on; other sessions ended
    release();
    const [laptop, sentTo] = await signingIn;
    expect(sentTo).toBe('/'); // it read "none"

    // Its session was created after the bind: without the fix it opened the dashboard.
    expect(await landing(laptop)).toBe('/signin');
    expect((await laptop.get('/mfa/factors')).location).toBe('/signin');
    // The session that bound stays signed in.
    expect(await landing(alice)).toBe('dashboard');
  });

  it('N enables racing M password-only sign-ins each: 0 sessions on the dashboard without a code', async () => {
    const N = 12;
    const M = 8;
    // A seeded generator (mulberry32), so that a failing run can be repeated.
    let seed = 19_05;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    delay = () => new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 60)));
    // `raced`: sign-ins that read "none" (sent to '/') and were answered after the bind was.
    const counts = { dashboard: 0, code: 0, signedOut: 0, raced: 0 };
    try {
      for (let n = 0; n < N; n++) {
        const email = `race-${n}@example.com`;
        const { client: alice, secret } = await signUpAndBegin(server.url, email);
        let bound = false;
        const signIns = Array.from({ length: M }, () =>
          new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 80))).then(
            async () => {
              const [client, sentTo] = await passwordSignIn(server.url, email);
              if (bound && sentTo === '/') counts.raced++;
              return client;
            },
          ),
        );
        const [, ...clients] = await Promise.all([
          bind(alice, secret).then(() => (bound = true)),
          ...signIns,
        ]);
        for (const client of clients) {
          const where = await landing(client);
          if (where === 'dashboard') counts.dashboard++;
          else if (where === '/signin/code') counts.code++;
          else if (where === '/signin') counts.signedOut++;
          else throw new Error(`unexpected landing ${where}`);
        }
        expect(await landing(alice)).toBe('dashboard');
      }
    } finally {
      delay = async () => {};
    }
    console.log(
      `${N} enables × ${M} racing sign-ins: ${counts.dashboard} on the dashboard without a code, ${counts.code} asked for a code, ${counts.signedOut} signed out (${counts.raced} signed in with the password alone and answered after the bind)`,
    );
    expect(counts.dashboard + counts.code + counts.signedOut).toBe(N * M);
    expect(counts.dashboard).toBe(0);
  }, 120_000);
});
