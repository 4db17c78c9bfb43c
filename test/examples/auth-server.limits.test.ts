// The example auth server's per-IP limits over HTTP (issue 19, point 5; the
// deployment checklist in docs/security-model.md): password forms and code
// forms per minute per address, open connections per address, IPv6 keyed by
// /64, the client's address from X-Forwarded-For only behind a trusted proxy.
// (limits.test.ts has the address keys, the bucket and the settings.)
// Counts, not timings: the app's clock is the test's, and the connection
// test waits for counts of closed sockets.
// Everything stays on loopback: the flooding client binds 127.0.0.2.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTOTP } from 'totpkit';
import { DEFAULT_LIMITS } from '../../examples/auth-server/http.ts';
import { Client, enrollThroughOutbox, startAuthServer, type RunningServer } from './harness.ts';

const PASSWORD = 'correct horse battery staple';

/** Posts a sign-in from `address` (as the proxy reports it); returns the status and Retry-After. */
async function signInFrom(client: Client, address: string, email = 'nobody@example.com') {
  const res = await client.post(
    '/signin',
    { email, password: 'not the password' },
    { 'x-forwarded-for': `198.51.100.7, ${address}` },
  );
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: res.body };
}

describe('per-IP limits over HTTP', () => {
  let now = Date.UTC(2026, 11, 7);
  const clock = () => now;
  /** Behind a trusted proxy: the client's address is the last X-Forwarded-For entry. */
  let proxied: RunningServer;
  /** No proxy: X-Forwarded-For is the client's own words, and ignored. */
  let direct: RunningServer;

  beforeAll(async () => {
    proxied = await startAuthServer({
      perIP: { signInsPerMinute: 3, codesPerMinute: 3, trustProxy: true },
      clock,
    });
    direct = await startAuthServer({ perIP: { signInsPerMinute: 2 }, clock });
  }, 120_000);
  afterAll(async () => {
    await proxied?.close();
    await direct?.close();
  });

  it('sign-in: 3 attempts a minute per address, then 429 with Retry-After; other addresses unaffected; sign-up shares the budget', async () => {
    const client = new Client(proxied.url);
    await client.get('/signin');
    for (let i = 0; i < 3; i++) expect((await signInFrom(client, '192.0.2.1')).status).toBe(401);
    const refused = await signInFrom(client, '192.0.2.1');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('20');
    expect(refused.body).toContain('Too many attempts from your network. Try again in 20 seconds.');
    // Another address has its own budget, whichever session it uses.
    expect((await signInFrom(client, '192.0.2.2')).status).toBe(401);
    // Sign-up checks a password too: same budget.
    const signUp = await client.post(
      '/signup',
      { email: 'new@example.com', password: PASSWORD },
      { 'x-forwarded-for': '192.0.2.1' },
    );
    expect(signUp.status).toBe(429);
    // One attempt comes back every 20 s (the app's clock, not the test's time).
    now += 20_000;
    expect((await signInFrom(client, '192.0.2.1')).status).toBe(401);
    expect((await signInFrom(client, '192.0.2.1')).status).toBe(429);
    // A refused attempt checked no password: the log has no 401 for it.
    expect(proxied.logs.filter((l) => /^POST \/signin 429 /.test(l))).toHaveLength(2);
  });

  it('keys IPv6 clients by /64: one network cannot get a fresh budget per address', async () => {
    const client = new Client(proxied.url);
    await client.get('/signin');
    const sameNetwork = [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:abcd::7',
      '2001:db8:1:2::99',
    ];
    const statuses = [];
    for (const address of sameNetwork) statuses.push((await signInFrom(client, address)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    // The next /64 is another network.
    expect((await signInFrom(client, '2001:db8:1:3::1')).status).toBe(401);
    // An IPv4-mapped address is its IPv4 address.
    for (let i = 0; i < 3; i++) expect((await signInFrom(client, '192.0.2.9')).status).toBe(401);
    expect((await signInFrom(client, '::ffff:192.0.2.9')).status).toBe(429);
  });

  it('without a trusted proxy, X-Forwarded-For does not buy a fresh budget', async () => {
    const client = new Client(direct.url);
    await client.get('/signin');
    const statuses = [];
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      statuses.push((await signInFrom(client, address)).status);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('code entry: 3 codes a minute per address at the second step, then 429; the user is not charged for it', async () => {
    const email = 'codes@example.com';
    const xff = (address: string) => ({ 'x-forwarded-for': address });
    // A user with two-factor sign-in on (set up from its own address).
    const alice = new Client(proxied.url);
    await alice.get('/signup');
    await alice.post('/signup', { email, password: PASSWORD }, xff('203.0.113.1'));
    await alice.get('/'); // the new session's CSRF token
    // (The e-mail code step from 127.0.0.1, the socket's address: one code.)
    const { secret } = await enrollThroughOutbox(alice);
    const bound = await alice.post(
      '/mfa/confirm',
      {
        code1: generateTOTP(secret, { now: Date.now() - 30_000 }),
        code2: generateTOTP(secret, { now: Date.now() }),
      },
      xff('203.0.113.1'),
    );
    expect(bound.body).toContain('Save these recovery codes');

    // The second step, from 198.51.100.20: three wrong codes, then 429.
    const mallory = new Client(proxied.url);
    await mallory.get('/signin');
    const step = await mallory.post('/signin', { email, password: PASSWORD }, xff('198.51.100.20'));
    expect(step.location).toBe('/signin/code');
    await mallory.get('/signin/code');
    const statuses = [];
    for (const code of ['000000', '000001', '000002', '000003']) {
      statuses.push((await mallory.post('/signin/code', { code }, xff('198.51.100.20'))).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    // A recovery code and a resync are code entries too.
    expect(
      (
        await mallory.post(
          '/signin/recovery',
          { recovery_code: 'AAAA-AAAA-AAAA' },
          xff('198.51.100.20'),
        )
      ).status,
    ).toBe(429);
    expect(
      (
        await mallory.post(
          '/signin/resync',
          { code1: '000000', code2: '000001' },
          xff('198.51.100.20'),
        )
      ).status,
    ).toBe(429);
    // Re-authentication checks a code too: from that network, even the
    // signed-in owner's "turn off" is refused before anything is checked.
    await alice.get('/');
    const disable = await alice.post(
      '/mfa/disable',
      { password: PASSWORD, code: '000000' },
      xff('198.51.100.20'),
    );
    expect(disable.status).toBe(429);
    expect((await alice.get('/')).body).toContain('Two-factor sign-in is <strong>on</strong>');
    // The same session from another network is not limited by the first one's budget,
    // and the right code still signs in: the 429s were not charged to the user.
    const right = await mallory.post(
      '/signin/code',
      { code: generateTOTP(secret, { now: Date.now() + 30_000 }) },
      xff('198.51.100.21'),
    );
    expect(right.location).toBe('/');
    expect(proxied.logs.filter((l) => l.startsWith('mfa event verify_failed')).length).toBe(3);
  });
});

describe('per-IP limits on connections: an idle-socket flood from one address', () => {
  const FLOOD = 600;
  const PAGE_LOADS = 95;

  /** Opens `count` idle sockets from 127.0.0.2; resolves once each is connected or closed. */
  async function flood(url: string, count: number) {
    const port = Number(new URL(url).port);
    const sockets: Socket[] = [];
    let closed = 0;
    await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
        sockets.push(socket);
        socket.on('error', () => {});
        socket.on('close', () => closed++);
        await Promise.race([once(socket, 'connect'), once(socket, 'close')]);
      }),
    );
    return { sockets, closed: () => closed };
  }

  /** Loads the sign-in page `count` times from 127.0.0.1; returns how many got a 200. */
  async function pageLoads(url: string, count: number): Promise<number> {
    const port = Number(new URL(url).port);
    let served = 0;
    for (let i = 0; i < count; i++) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' });
        let out = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (out += chunk));
        socket.on('error', () => {});
        socket.on('close', () => resolve(out));
        socket.write('GET /signin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      if (answer.startsWith('HTTP/1.1 200')) served++;
    }
    return served;
  }

  // Idle sockets are cut only after headersTimeoutMs: long here, so the flood
  // holds its sockets for the whole test whatever the machine's speed.
  const slow = { headersTimeoutMs: 120_000, requestTimeoutMs: 120_000 };

  it(`${FLOOD} idle sockets from one address keep ${DEFAULT_LIMITS.maxConnectionsPerIP}; ${PAGE_LOADS} page loads from another all succeed`, async () => {
    const server = await startAuthServer({
      limits: { ...slow, maxConnectionsPerIP: DEFAULT_LIMITS.maxConnectionsPerIP },
    });
    const { sockets, closed } = await flood(server.url, FLOOD);
    try {
      const kept = DEFAULT_LIMITS.maxConnectionsPerIP;
      await expect.poll(closed, { timeout: 60_000 }).toBe(FLOOD - kept);
      expect(sockets.filter((s) => !s.destroyed && !s.closed)).toHaveLength(kept);
      expect(await pageLoads(server.url, PAGE_LOADS)).toBe(PAGE_LOADS);
      expect(closed()).toBe(FLOOD - kept); // the flood's sockets are still held
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.close();
    }
  }, 120_000);

  it('without the per-address limit, the same flood takes every connection and page loads fail', async () => {
    const server = await startAuthServer({ limits: { ...slow, maxConnectionsPerIP: Infinity } });
    const { sockets, closed } = await flood(server.url, FLOOD);
    try {
      await expect.poll(closed, { timeout: 60_000 }).toBe(FLOOD - DEFAULT_LIMITS.maxConnections);
      const served = await pageLoads(server.url, PAGE_LOADS);
      console.log(`without a per-address limit: ${served} of ${PAGE_LOADS} page loads served`);
      expect(served).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.close();
    }
  }, 120_000);
});
