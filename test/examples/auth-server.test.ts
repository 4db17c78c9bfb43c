// The example auth server over HTTP, the seed flow: sign up → "Set up virtual
// MFA" → a code sent to the account's e-mail (the development outbox) → the QR
// code and the key → bind with two codes → sign out → sign in with TOTP → a
// replayed code refused → a recovery code works once. Codes come from
// oathtool, reading the secret from the enrollment page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32 } from 'totpkit';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import {
  Client,
  extract,
  logText,
  outboxCode,
  startAuthServer,
  type Response,
  type RunningServer,
} from './harness.ts';

const noOathtool = skipWithoutOathtool();

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

describe.skipIf(noOathtool)('example auth server over HTTP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startAuthServer();
  });
  afterAll(() => server.close());

  it('walks sign-up, binding, TOTP sign-in, replay refusal and single-use recovery codes', async () => {
    const alice = new Client(server.url);
    // Signs in with the password and loads the page it redirects to, as a browser does.
    const signIn = async (): Promise<Response> => {
      await alice.get('/signin');
      const res = await alice.post('/signin', { email: EMAIL, password: PASSWORD });
      await alice.get(res.location as string);
      return res;
    };

    // Sign up: straight to the account page, 2FA off.
    await alice.get('/signup');
    let page = await alice.follow(
      await alice.post('/signup', { email: EMAIL, password: PASSWORD }),
    );
    expect(page.body).toContain('Two-factor sign-in is <strong>off</strong>');

    // "Set up virtual MFA": first a code to the account's e-mail address.
    expect(page.body).toContain('Set up virtual MFA</button>');
    page = await alice.follow(await alice.post('/mfa/setup'));
    expect(page.body).toContain('<h1>Check your e-mail</h1>');
    expect(page.body).toContain(`we sent a code to <strong>${EMAIL}</strong>`);
    expect(page.body).toContain('<a href="/dev/outbox">development outbox</a>');
    // No mail server: it is in the development outbox, and in the log, marked as such.
    const code = await outboxCode(alice);
    expect(server.logs.join('\n')).toContain(
      `DEVELOPMENT OUTBOX (not for production): to ${EMAIL}: Your totpkit demo verification code is ${code}.`,
    );
    // Without the code there is no QR code; a wrong one is refused with a reason.
    expect((await alice.get('/mfa/setup')).location).toBe('/');
    const wrong = code === '000000' ? '000001' : '000000';
    page = await alice.post('/mfa/verify', { code: wrong });
    expect(page.status).toBe(401);
    expect(page.body).toContain("That code isn't right.");
    page = await alice.follow(await alice.post('/mfa/verify', { code }));

    // Enroll: a QR code and the secret as text.
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<img class="qr" src="data:image\/svg\+xml;base64,/);
    const secret = extract(
      page.body,
      /<code class="secret" id="secret">([A-Z2-7 ]+)<\/code>/,
      'secret',
    ).replace(/ /g, '');
    expect(decodeBase32(secret)).toHaveLength(20);
    const secretHex = Buffer.from(decodeBase32(secret)).toString('hex');

    // Codes of the previous, current and next step, from oathtool.
    const now = Date.now();
    const [previous, current, next] = (await oathtoolTOTP({
      secretHex,
      now: now - 30_000,
      window: 2,
    })) as [string, string, string];

    // Bind: mistakes are explained in plain words.
    page = await alice.post('/mfa/confirm', { code1: current, code2: current });
    expect(page.status).toBe(400);
    expect(page.body).toContain(
      'Both boxes have the same code. Wait until your app shows a new code',
    );
    page = await alice.post('/mfa/confirm', { code1: current, code2: previous });
    expect(page.body).toContain('The codes are in the wrong order');
    page = await alice.post('/mfa/confirm', { code1: '12345', code2: previous });
    expect(page.body).toContain('Each code is 6 digits');
    page = await alice.post('/mfa/confirm', { code1: previous, code2: current });
    expect(page.status).toBe(200);
    expect(page.body).toContain('Save these recovery codes');
    const recoveryCodes = [
      ...page.body.matchAll(/<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/li>/g),
    ].map((m) => m[1] as string);
    expect(recoveryCodes).toHaveLength(10);
    page = await alice.get('/');
    expect(page.body).toContain('Your authenticator app is set up.');
    expect(page.body).toContain('<strong>10</strong> unused recovery codes');

    // Sign out, sign in: the password alone is not enough.
    page = await alice.follow(await alice.post('/signout'));
    expect(page.body).toContain('You are signed out.');
    let res = await signIn();
    expect(res.location).toBe('/signin/code');
    expect((await alice.get('/')).location).toBe('/signin/code');
    // The binding's second code cannot be replayed at the first sign-in.
    page = await alice.post('/signin/code', { code: current });
    expect(page.status).toBe(401);
    expect(page.body).toContain('That code has already been used');
    // The next code works (spaces as the app shows them are fine).
    res = await alice.post('/signin/code', { code: `${next.slice(0, 3)} ${next.slice(3)}` });
    expect(res.location).toBe('/');
    page = await alice.get('/');
    expect(page.body).toContain('Two-factor sign-in is <strong>on</strong>');

    // The same code again, in a new sign-in: refused as replayed.
    await alice.post('/signout');
    expect((await signIn()).location).toBe('/signin/code');
    page = await alice.post('/signin/code', { code: next });
    expect(page.status).toBe(401);
    expect(page.body).toContain(
      'That code has already been used. Wait for your app to show the next code',
    );
    expect((await alice.get('/')).location).toBe('/signin/code');

    // A recovery code works once.
    await alice.get('/signin/recovery');
    res = await alice.post('/signin/recovery', {
      recovery_code: (recoveryCodes[0] as string).toLowerCase(),
    });
    expect(res.location).toBe('/');
    page = await alice.get('/');
    expect(page.body).toContain('Recovery code accepted. You have 9 recovery codes left.');
    expect(page.body).toContain('<strong>9</strong> unused recovery codes');
    await alice.post('/signout');
    await signIn();
    await alice.get('/signin/recovery');
    page = await alice.post('/signin/recovery', { recovery_code: recoveryCodes[0] as string });
    expect(page.status).toBe(401);
    expect(page.body).toContain("That recovery code isn't right, or it has already been used.");
    res = await alice.post('/signin/recovery', { recovery_code: recoveryCodes[1] as string });
    expect(res.location).toBe('/');

    // Nothing secret reached the log (the request ids, random hex, left out:
    // a 6-digit code could turn up inside one by chance).
    const log = logText(server.logs);
    expect(log).toContain('POST /signin/code 401');
    expect(log).toContain('mfa event verify_replayed');
    // Every event with the request's context: address, user agent, request id.
    const replayed = /mfa event verify_replayed user=\S+ context=(\{.*\})$/m.exec(
      server.logs.join('\n'),
    );
    const context = JSON.parse(replayed?.[1] ?? 'null') as Record<string, string>;
    expect(context).toEqual({
      ip: '127.0.0.1',
      userAgent: expect.any(String),
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    // The request's own log line carries the same id.
    expect(server.logs.join('\n')).toContain(`POST /signin/code 401`);
    expect(
      server.logs.some(
        (l) => l.startsWith('POST /signin/code 401') && l.endsWith(`id=${context.requestId}`),
      ),
    ).toBe(true);
    for (const value of [secret, previous, current, next, PASSWORD, ...recoveryCodes]) {
      expect(log).not.toContain(value);
    }
  });

  it('refuses a post without the CSRF token or from another origin', async () => {
    const mallory = new Client(server.url);
    await mallory.get('/signup');
    const withToken = { email: 'bob@example.com', password: PASSWORD };
    const noToken = await mallory.request('POST', '/signup', undefined, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(noToken.status).toBe(403);
    const csrf = mallory.csrf;
    mallory.csrf = 'x'.repeat(csrf.length);
    expect((await mallory.post('/signup', withToken)).status).toBe(403);
    mallory.csrf = csrf;
    expect(
      (await mallory.post('/signup', withToken, { origin: 'https://evil.example' })).status,
    ).toBe(403);
    // A fresh client has no session: its post is refused too.
    const stranger = new Client(server.url);
    stranger.csrf = csrf;
    expect((await stranger.post('/signup', withToken)).status).toBe(403);
    // With the token, from the page's own origin, it works.
    expect((await mallory.post('/signup', withToken, { origin: server.url })).location).toBe('/');
  });

  it('sends protective headers and an HttpOnly, SameSite session cookie', async () => {
    const res = await fetch(`${server.url}/signin`);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // Not no-referrer, under which browsers post forms with `Origin: null`.
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('set-cookie')).toMatch(
      /^sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it('marks the cookie Secure, with the __Host- prefix, when served over HTTPS', async () => {
    const secure = await startAuthServer({ secureCookies: true });
    try {
      const res = await fetch(`${secure.url}/signin`);
      expect(res.headers.get('set-cookie')).toMatch(
        /^__Host-sid=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
      );
    } finally {
      await secure.close();
    }
  });

  it('says "wrong email or password" alike for an unknown address and a wrong password', async () => {
    const client = new Client(server.url);
    await client.get('/signin');
    const unknown = await client.post('/signin', {
      email: 'nobody@example.com',
      password: PASSWORD,
    });
    const wrong = await client.post('/signin', { email: EMAIL, password: 'not the password' });
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.body).toContain('Wrong email or password.');
    }
  });
});
