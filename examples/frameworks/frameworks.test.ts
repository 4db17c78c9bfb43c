// The three framework examples over HTTP, each started on a free port: the
// same requests, the same answers. The e-mailed code of the identity step is
// taken from the sender this test gives the service; TOTP codes are computed
// here from the secret the enrollment sent, as the user's authenticator app
// would. Sessions made after the second factor end when the factors change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMFA,
  decodeBase32,
  generateSecret,
  generateTOTP,
  MemoryStore,
  plaintextCipher,
  type MFA,
} from 'totpkit';
import { startExpress } from './express.ts';
import { startFastify } from './fastify.ts';
import { startHono } from './hono.ts';
import { createExampleMFA, type ExampleServer } from './shared.ts';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

it("JSON drops the service's secret fields: the examples name them", async () => {
  // About JSON, not proofs: the enrollment needs none here (0.2's behaviour).
  const mfa = createMFA({
    store: new MemoryStore(),
    issuer: 'Acme',
    cipher: plaintextCipher(),
    policy: { proofs: { required: { enroll: 'none' } } },
  });
  const begun = await mfa.beginEnrollment('u1', { accountName: 'u1' });
  expect(begun.secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(JSON.parse(JSON.stringify(begun))).toEqual({
    expiresAt: begun.expiresAt,
    factorId: begun.factorId,
  });
});

describe.each([
  ['Express 5', startExpress],
  ['Fastify 5', startFastify],
  ['Hono 4', startHono],
])('%s', (_, start) => {
  let server: ExampleServer;
  let mfa: MFA;
  let now = NOW;
  /** The codes the service handed its sender, by destination (the newest last). */
  const mailbox = new Map<string, string[]>();
  /** The sender fails while this is set, as a mail provider that is down. */
  let senderDown = false;
  const lastCode = (user: string) => mailbox.get(`${user}@example.com`)?.at(-1) as string;
  beforeAll(async () => {
    // Cheaper recovery-code hashing than the default, only to keep the test quick.
    const policy = { recoveryCodeScrypt: { N: 2 ** 10 } };
    const verification = {
      key: new Uint8Array(32).fill(7),
      sender: async (message: { destination: string; code: string }) => {
        if (senderDown) throw new Error('mail provider unavailable');
        mailbox.set(message.destination, [
          ...(mailbox.get(message.destination) ?? []),
          message.code,
        ]);
      },
    };
    mfa = createExampleMFA({ clock: () => now, policy, verification });
    server = await start(mfa, 0);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function post(path: string, body: unknown, user: string | null = 'alice') {
    const response = await fetch(server.url + path, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(user === null ? {} : { 'x-user-id': user }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function account(session: unknown) {
    const response = await fetch(server.url + '/account', {
      headers: typeof session === 'string' ? { 'x-session': session } : {},
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it('refuses a request without a signed-in user', async () => {
    expect(await post('/mfa/enroll', {}, null)).toEqual({
      status: 401,
      body: { error: 'sign in first' },
    });
  });

  /** The identity step for `user`: a code by e-mail, then the enrollment it opens. */
  async function enroll(user: string) {
    const sent = await post('/mfa/enroll/send-code', {}, user);
    expect(sent).toEqual({
      status: 200,
      body: { ok: true, expiresAt: now + 10 * 60_000, codeLength: 6 },
    });
    return post('/mfa/enroll', { code: lastCode(user) }, user);
  }

  it('sends a code by e-mail first, and enrolls only with it', async () => {
    now = NOW;
    const user = 'carol';
    // No code, a wrong one, a number: no enrollment.
    expect(await post('/mfa/enroll', {}, user)).toEqual({
      status: 400,
      body: { error: '"code" must be a string' },
    });
    expect(await post('/mfa/enroll', { code: '123456' }, user)).toEqual({
      status: 401,
      body: { ok: false, reason: 'no_code' },
    });
    expect((await post('/mfa/enroll/send-code', {}, user)).status).toBe(200);
    const code = lastCode(user);
    expect(code).toMatch(/^\d{6}$/);
    // Another at once: refused for the cooldown (60 s), and the first stays good.
    expect(await post('/mfa/enroll/send-code', {}, user)).toEqual({
      status: 429,
      body: { ok: false, reason: 'cooldown', retryAfterMs: 60_000 },
    });
    const wrong = code === '000000' ? '000001' : '000000';
    expect(await post('/mfa/enroll', { code: wrong }, user)).toEqual({
      status: 401,
      body: { ok: false, reason: 'wrong_code' },
    });
    const enrolled = await post('/mfa/enroll', { code }, user);
    expect(enrolled.status).toBe(200);
    expect(enrolled.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    // The code was used up by the proof.
    expect((await post('/mfa/enroll', { code }, user)).body).toEqual({
      ok: false,
      reason: 'no_code',
    });
    // A mail provider that is down: 503, and no cooldown counted for it.
    now = NOW + 61_000;
    senderDown = true;
    expect(await post('/mfa/enroll/send-code', {}, 'dave')).toEqual({
      status: 503,
      body: { error: 'the code could not be sent; try again later' },
    });
    senderDown = false;
    expect((await post('/mfa/enroll/send-code', {}, 'dave')).status).toBe(200);
  });

  it('enrolls with a QR code, binds, signs in once per code and takes each recovery code once', async () => {
    now = NOW;
    const enrolled = await enroll('alice');
    expect(enrolled.status).toBe(200);
    const { secret, qr, expiresAt } = enrolled.body;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(qr).toMatch(/^<svg [^]*<\/svg>$/);
    expect(expiresAt).toBe(NOW + 10 * 60_000);
    const key = decodeBase32(secret);
    const code = (at: number) => generateTOTP(key, { now: at });

    // Wrong input types are the client's error: 400, and nothing is spent.
    for (const body of [{}, { code1: code(NOW - 30_000) }, { code1: 123456, code2: 654321 }]) {
      expect(await post('/mfa/enroll/complete', body)).toEqual({
        status: 400,
        body: { error: '"code1" and "code2" must be strings' },
      });
    }
    expect(await post('/mfa/enroll/complete', { code1: '000000', code2: '000001' })).toMatchObject({
      status: 400,
      body: { ok: false, reason: 'mismatch' },
    });
    const bound = await post('/mfa/enroll/complete', {
      code1: code(NOW - 30_000),
      code2: code(NOW),
    });
    expect(bound.status).toBe(200);
    expect(bound.body.ok).toBe(true);
    const recoveryCodes = bound.body.recoveryCodes as string[];
    expect(recoveryCodes).toHaveLength(10);

    now = NOW + 60_000;
    for (const body of [{}, { code: null }, { code: 123456 }, { code: ['123456'] }]) {
      expect(await post('/mfa/verify', body)).toEqual({
        status: 400,
        body: { error: '"code" must be a string' },
      });
    }
    expect(await post('/mfa/verify', 'not json')).toMatchObject({ status: 400 });
    expect(await post('/mfa/verify', { code: code(now) })).toEqual({
      status: 200,
      body: { ok: true, factorId: expect.any(String), generation: 1, session: expect.any(String) },
    });
    expect(await post('/mfa/verify', { code: code(now) })).toEqual({
      status: 401,
      body: { ok: false, reason: 'replayed' },
    });

    expect(await post('/mfa/recover', { code: 42 })).toMatchObject({ status: 400 });
    const recovery = recoveryCodes[0] as string;
    expect(await post('/mfa/recover', { code: recovery })).toEqual({
      status: 200,
      body: { ok: true, remaining: 9, generation: 1, session: expect.any(String) },
    });
    expect(await post('/mfa/recover', { code: recovery })).toMatchObject({
      status: 401,
      body: { ok: false, reason: 'mismatch' },
    });

    // With an authenticator bound, a code from e-mail no longer starts an
    // enrollment (a current code from the app is needed): 403.
    now = NOW + 120_000;
    const again = await enroll('alice');
    expect(again.status).toBe(403);
    expect(again.body.error).toMatch(/proof/i);
  });

  it('ends a session bound to an older generation once the factors change', async () => {
    now = NOW + 10 * 60_000;
    const user = 'erin';
    const enrolled = await enroll(user);
    const key = decodeBase32(enrolled.body.secret);
    const code = (at: number) => generateTOTP(key, { now: at });
    const bound = await post(
      '/mfa/enroll/complete',
      { code1: code(now - 30_000), code2: code(now) },
      user,
    );
    expect(bound.status).toBe(200);
    now += 30_000;
    const signedIn = await post('/mfa/verify', { code: code(now) }, user);
    expect(signedIn.body).toMatchObject({ ok: true, generation: 1 });
    const first = signedIn.body.session as string;
    // A second device's session, made in the same generation.
    now += 30_000;
    const second = (await post('/mfa/verify', { code: code(now) }, user)).body.session as string;
    for (const session of [first, second]) {
      expect(await account(session)).toEqual({ status: 200, body: { userId: user } });
    }
    expect(await account('no-such-session')).toMatchObject({ status: 401 });
    expect(await account(undefined)).toMatchObject({ status: 401 });

    // A factor change (here an import; removing, replacing, regenerating the
    // recovery codes, disabling and an admin reset all move it too).
    const imported = await mfa.importFactor(user, { secret: generateSecret(), name: 'Tablet' });
    expect(imported).toMatchObject({ ok: true, generation: 2 });
    for (const session of [first, second]) {
      expect(await account(session)).toEqual({
        status: 401,
        body: { error: 'session ended: sign in again' },
      });
    }
    // Signing in again makes a session of the new generation.
    now += 30_000;
    const again = await post('/mfa/verify', { code: code(now) }, user);
    expect(again.body).toMatchObject({ ok: true, generation: 2 });
    expect(await account(again.body.session)).toEqual({ status: 200, body: { userId: user } });
    // Support's reset ends it too.
    await mfa.adminReset(user, { actor: 'agent:test', reason: 'lost phone' });
    expect(await account(again.body.session)).toMatchObject({ status: 401 });
  });

  it("keeps each user's factor apart", async () => {
    now = NOW;
    const bob = await enroll('bob');
    const key = decodeBase32(bob.body.secret);
    // Alice's codes are not Bob's, and Bob's pending enrollment binds only with his own.
    expect(await post('/mfa/verify', { code: generateTOTP(key, { now }) }, 'bob')).toMatchObject({
      status: 401,
      body: { ok: false, reason: 'not_enrolled' },
    });
    expect(
      await post(
        '/mfa/enroll/complete',
        {
          code1: generateTOTP(key, { now: now - 30_000 }),
          code2: generateTOTP(key, { now }),
        },
        'bob',
      ),
    ).toMatchObject({ status: 200, body: { ok: true } });
  });
});
