// The example auth server around the factors (issues 20 and 21, the example's
// points): sessions bound to totpkit's security generation, "Remember this
// device for 30 days" with its list and "forget", a code from e-mail that no
// longer suffices once a factor exists, and the support script's adminReset
// (in-process, and its command line in a child process).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, generateTOTP } from 'totpkit';
import { parseSupportArgs, supportReset } from '../../examples/auth-server/support.ts';
import { unitTier } from '../helpers/integration.ts';
import {
  Client,
  enrollThroughOutbox,
  outboxCode,
  signUp,
  startAuthServer,
  type RunningServer,
} from './harness.ts';

const PASSWORD = 'a fine passphrase';

/** Binds the enrollment on `client`'s page with two codes of `secret`; returns the recovery codes. */
async function bind(client: Client, secret: Uint8Array): Promise<string[]> {
  const now = Date.now();
  const done = await client.post('/mfa/confirm', {
    code1: generateTOTP(secret, { now: now - 30_000 }),
    code2: generateTOTP(secret, { now }),
  });
  expect(done.body).toContain('Save these recovery codes');
  return [...done.body.matchAll(/<li>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<\/li>/g)].map(
    (m) => m[1] as string,
  );
}

/** A user with two-factor sign-in on: the signed-in client, the secret, the recovery codes, the id. */
async function enrolledUser(server: RunningServer, email: string) {
  const client = new Client(server.url);
  await signUp(client, email, PASSWORD);
  const { secret } = await enrollThroughOutbox(client);
  const recoveryCodes = await bind(client, secret);
  const user = await server.accounts.findUserByEmail(email);
  return { client, secret, recoveryCodes, id: user!.id };
}

/** The password step on `client`: where it leads ('/' or '/signin/code'). */
async function passwordStep(client: Client, email: string): Promise<string | null> {
  await client.get('/signin');
  return (await client.post('/signin', { email, password: PASSWORD })).location;
}

describe('example auth server: the account around the factors', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // No resend cooldown: one test asks for two codes in a row.
    server = await startAuthServer({ policy: { verificationCodes: { resendCooldownMs: 0 } } });
  }, 120_000);
  afterAll(() => server?.close());

  it('refuses a session bound to the old generation after a factor change', async () => {
    const email = 'generation@example.com';
    const { client: alice, secret, recoveryCodes, id } = await enrolledUser(server, email);
    expect((await server.mfa.status(id)).generation).toBe(1);
    // A second session (a laptop), signed in with a recovery code under generation 1.
    const laptop = new Client(server.url);
    expect(await passwordStep(laptop, email)).toBe('/signin/code');
    await laptop.get('/signin/recovery');
    expect(
      (await laptop.post('/signin/recovery', { recovery_code: recoveryCodes[0]! })).location,
    ).toBe('/');
    expect((await laptop.get('/')).status).toBe(200);
    const oldSession = laptop.cookies.get('sid')!;
    const oldCSRF = laptop.csrf;

    // Alice adds an authenticator (a proof from a current code): generation 2.
    await alice.get('/mfa/factors');
    const add = await alice.post('/mfa/factors/add', {
      name: 'Tablet',
      password: PASSWORD,
      code: generateTOTP(secret, { now: Date.now() + 30_000 }),
    });
    expect(add.location).toBe('/mfa/setup');
    const page = await alice.get('/mfa/setup');
    const tablet = /id="secret">([A-Z2-7 ]+)</.exec(page.body)![1]!.replace(/ /g, '');
    const now = Date.now();
    const tabletKey = decodeBase32(tablet);
    const added = await alice.post('/mfa/confirm', {
      code1: generateTOTP(tabletKey, { now: now - 30_000 }),
      code2: generateTOTP(tabletKey, { now }),
    });
    expect(added.location).toBe('/mfa/factors');
    expect((await server.mfa.status(id)).generation).toBe(2);

    // The laptop's session carries generation 1: refused on every request,
    // a page and a form alike; the session that made the change goes on.
    // (The row is still there: it is the generation that refuses it.)
    expect(await server.accounts.getSession(oldSession)).toMatchObject({ generation: 1 });
    const stale = new Client(server.url);
    stale.cookies.set('sid', oldSession);
    stale.csrf = oldCSRF;
    expect((await stale.post('/mfa/factors/rename', { factor: 'x', name: 'y' })).status).toBe(403);
    expect((await laptop.get('/')).location).toBe('/signin');
    expect((await alice.get('/mfa/factors')).status).toBe(200);
  });

  it('remembers a device for 30 days, skips the code on it, lists and forgets it, and asks again after a factor change', async () => {
    const email = 'remember@example.com';
    const { secret, recoveryCodes } = await enrolledUser(server, email);
    let step = Math.floor(Date.now() / 30_000) + 1; // binding used the steps up to now
    const freshCode = () => generateTOTP(secret, { now: step++ * 30_000 });

    // Sign in with a code and "Remember this device for 30 days".
    const browser = new Client(server.url);
    expect(await passwordStep(browser, email)).toBe('/signin/code');
    const form = await browser.get('/signin/code');
    expect(form.body).toContain('Remember this device for 30 days');
    const res = await browser.request(
      'POST',
      '/signin/code',
      { code: freshCode(), remember: '1' },
      { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36' },
    );
    expect(res.location).toBe('/');
    const deviceCookie = res.headers.getSetCookie().find((c) => c.startsWith('device='));
    expect(deviceCookie).toMatch(
      /^device=[A-Za-z0-9_-]{32}; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    expect((await browser.get('/')).body).toContain(
      'This device (Chrome on Linux) is remembered until',
    );

    // Signed out, the password alone signs in on this device.
    await browser.post('/signout');
    expect(await passwordStep(browser, email)).toBe('/');
    expect((await browser.get('/')).body).toContain('Signed in on a remembered device.');
    // Listed on the authenticators page, with a "forget" button; never the token.
    let factors = await browser.get('/mfa/factors');
    expect(factors.body).toContain('<strong class="name">Chrome on Linux</strong>');
    expect(factors.body).toMatch(/Remembered \d{4}-\d\d-\d\d \d\d:\d\d UTC · last used \d{4}/);
    expect(factors.body).toContain('Forget Chrome on Linux');
    expect(factors.body).not.toContain(browser.cookies.get('device')!);

    // Another user's sign-in on this browser: the token is not theirs.
    const bob = await enrolledUser(server, 'remember-bob@example.com');
    bob.client.cookies.set('device', browser.cookies.get('device')!);
    await bob.client.post('/signout');
    expect(await passwordStep(bob.client, 'remember-bob@example.com')).toBe('/signin/code');

    // "Forget": the next sign-in asks for a code again.
    const deviceId = /name="device" value="([^"]+)"/.exec(factors.body)![1]!;
    expect((await browser.post('/mfa/devices/forget', { device: deviceId })).location).toBe(
      '/mfa/factors',
    );
    factors = await browser.get('/mfa/factors');
    expect(factors.body).toContain('Forgotten: that device asks for a code again.');
    expect(factors.body).toContain('No device is remembered.');
    await browser.post('/signout');
    expect(await passwordStep(browser, email)).toBe('/signin/code');

    // Remembered again, then a factor change (new recovery codes): asked for a code again.
    await browser.get('/signin/code');
    await browser.post('/signin/code', { code: freshCode(), remember: '1' });
    await browser.post('/signout');
    expect(await passwordStep(browser, email)).toBe('/');
    await browser.get('/');
    const regenerated = await browser.post('/mfa/recovery-codes', {
      password: PASSWORD,
      code: recoveryCodes[0]!,
    });
    expect(regenerated.body).toContain('Save these recovery codes');
    await browser.post('/signout');
    const asked = await (async () => {
      await browser.get('/signin');
      return browser.post('/signin', { email, password: PASSWORD });
    })();
    expect(asked.location).toBe('/signin/code');
    // The revoked token is cleared from the browser.
    expect(asked.headers.getSetCookie()).toContainEqual(
      expect.stringMatching(/^device=; Max-Age=0;/),
    );
    expect(browser.cookies.has('device')).toBe(false);
  });

  it('does not let a code from e-mail start another authenticator once one exists', async () => {
    const email = 'seed-rule@example.com';
    const alice = new Client(server.url);
    await signUp(alice, email, PASSWORD);
    const { secret } = await enrollThroughOutbox(alice);
    // A second e-mail code, asked for before the first authenticator is bound.
    expect((await alice.post('/mfa/setup')).location).toBe('/mfa/verify');
    const later = await outboxCode(alice);
    await bind(alice, secret);
    const user = await server.accounts.findUserByEmail(email);
    const before = await server.mfa.status(user!.id);
    // The code is right, but a proof from it is not enough now: nothing starts.
    const page = await alice.post('/mfa/verify', { code: later });
    expect(page.body).toContain('Your two-factor settings changed meanwhile');
    expect(await server.mfa.pendingEnrollment(user!.id, { accountName: email })).toBeNull();
    expect(await server.mfa.status(user!.id)).toEqual(before);
    // And the page that asks for e-mail codes is gone for this user.
    expect((await alice.post('/mfa/setup')).location).toBe('/mfa/factors');
    expect((await alice.get('/mfa/verify')).location).toBe('/');
  });

  describe('the support script (adminReset)', () => {
    it('resets a user with an actor and a reason: factors, devices and sessions gone, once', async () => {
      const email = 'support@example.com';
      const { client: alice, id } = await enrolledUser(server, email);
      const generation = (await server.mfa.status(id)).generation;
      const request = { email, actor: 'bob@support', reason: 'lost phone, ticket 4711' };
      const said = await supportReset(server.mfa, server.accounts, request);
      expect(said).toBe(
        `reset ${email}: two-factor sign-in is off, every session has ended (generation ${generation + 1}). The user signs in with the password and can set up virtual MFA again.`,
      );
      const status = await server.mfa.status(id);
      expect(status).toMatchObject({ state: 'none', factors: 0, generation: generation + 1 });
      // The user's session ended; the password alone signs in now.
      expect((await alice.get('/')).location).toBe('/signin');
      expect(await passwordStep(alice, email)).toBe('/');
      // One event, with who and why, and where from.
      const lines = server.logs.filter((l) => l.startsWith(`mfa event admin_reset user=${id}`));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(' actor="bob@support" reason="lost phone, ticket 4711"');
      expect(lines[0]).toContain('context={"tool":"examples/auth-server/support.ts","host":');
      // Again: nothing to reset, nothing written.
      expect(await supportReset(server.mfa, server.accounts, request)).toBe(
        `${email} had nothing to reset (no authenticator, codes or devices); nothing was changed`,
      );
      expect((await server.mfa.status(id)).generation).toBe(generation + 1);
      expect(
        await supportReset(server.mfa, server.accounts, {
          ...request,
          email: 'nobody@example.com',
        }),
      ).toBe('no account with the address nobody@example.com; nothing was changed');
    });

    it('reads its command line, and refuses one without an actor or a reason', () => {
      expect(
        parseSupportArgs(['reset', 'a@example.com', '--actor', ' bob ', '--reason', 'ticket 1']),
      ).toEqual({ email: 'a@example.com', actor: 'bob', reason: 'ticket 1' });
      expect(() => parseSupportArgs(['reset', 'a@example.com', '--reason', 'x'])).toThrow(
        /^--actor is required/,
      );
      expect(() => parseSupportArgs(['reset', 'a@example.com', '--actor', 'bob'])).toThrow(
        /^--reason is required/,
      );
      expect(() => parseSupportArgs(['delete', 'a@example.com'])).toThrow(
        /^usage: npm run support/,
      );
      expect(() => parseSupportArgs(['reset', '--actor', 'x', '--reason', 'y'])).toThrow(/^usage/);
      expect(() => parseSupportArgs(['reset', 'a@b', '--bogus'])).toThrow(/--bogus/);
    });

    // Subprocesses (node + tsx, several times): npm test only, not the unit tier.
    it.skipIf(unitTier)(
      'runs as `npm run support` does, on the demo’s data directory',
      () => {
        const dataDir = mkdtempSync(join(tmpdir(), 'totpkit-support-'));
        try {
          const run = (args: string[]) =>
            spawnSync(
              process.execPath,
              ['--import', 'tsx', 'examples/auth-server/support.ts', ...args],
              { env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8', timeout: 120_000 },
            );
          const ok = run(['reset', 'nobody@example.com', '--actor', 'bob', '--reason', 'test']);
          expect(ok.stderr).toBe('');
          expect(ok.stdout).toContain(
            'no account with the address nobody@example.com; nothing was changed',
          );
          expect(ok.status).toBe(0);
          const bad = run(['reset', 'nobody@example.com']);
          expect(bad.status).toBe(1);
          expect(bad.stderr).toMatch(/^support: --actor is required/);
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      },
      120_000,
    );
  });
});
