// The example auth server when two-factor sign-in changes: every change
// (turn on, new recovery codes, a new app, turn off, add, rename, remove an
// authenticator) asks for what it needs — a code by e-mail for the first one,
// then the password and a current code whose proof the change consumes — and
// afterwards every other session of the user is refused (its security
// generation is older). Codes come from totpkit's generateTOTP (the app is
// under test here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, generateTOTP } from 'totpkit';
import {
  Client,
  enrollAndBind as enroll,
  extract,
  passwordSession,
  recoverySession,
  signedOut,
  signedUp,
  startAuthServer,
  type RunningServer,
} from './harness.ts';

const PASSWORD = 'correct horse battery staple';
const signUp = (url: string, email: string) => signedUp(url, email, PASSWORD);

describe('example auth server: changes to two-factor sign-in', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startAuthServer();
  });
  afterAll(() => server.close());

  describe('sessions when two-factor sign-in changes (issue 10, point 11)', () => {
    it('turning it on ends the other (password-only) sessions', async () => {
      const email = 'enable@example.com';
      const alice = await signUp(server.url, email);
      const laptop = await passwordSession(server.url, email, PASSWORD);
      await enroll(alice);
      expect(await signedOut(laptop)).toBe(true);
      expect((await alice.get('/')).status).toBe(200);
    });

    it('new recovery codes ask for the password and a current code, and end the other sessions', async () => {
      const email = 'regenerate@example.com';
      const alice = await signUp(server.url, email);
      const { secret, recoveryCodes } = await enroll(alice);
      const laptop = await recoverySession(server.url, email, PASSWORD, recoveryCodes[0] as string);

      // The password alone is refused (the code field is required).
      let res = await alice.post('/mfa/recovery-codes', { password: PASSWORD });
      expect(res.status).toBe(400);
      // A wrong code or a wrong password: no codes.
      res = await alice.post('/mfa/recovery-codes', { password: PASSWORD, code: '000000' });
      expect(res.status).toBe(401);
      expect(res.body).toContain('No new recovery codes were made.');
      res = await alice.post('/mfa/recovery-codes', {
        password: 'wrong password',
        code: recoveryCodes[1] as string,
      });
      expect(res.body).toContain('Wrong password. No new recovery codes were made.');
      expect(await signedOut(laptop)).toBe(false);

      // With a current TOTP code (the next step's: binding used this one).
      res = await alice.post('/mfa/recovery-codes', {
        password: PASSWORD,
        code: generateTOTP(secret, { now: Date.now() + 30_000 }),
      });
      expect(res.status).toBe(200);
      expect(res.body).toContain('Save these recovery codes');
      expect(await signedOut(laptop)).toBe(true);
      expect((await alice.get('/')).status).toBe(200);
    });

    it('moving to a new app asks for a code, keeps the page on reload, and ends the other sessions', async () => {
      const email = 'replace@example.com';
      const alice = await signUp(server.url, email);
      const { recoveryCodes } = await enroll(alice);
      const laptop = await recoverySession(server.url, email, PASSWORD, recoveryCodes[0] as string);

      let res = await alice.post('/mfa/replace', { password: PASSWORD, code: 'AAAA-AAAA-AAAA' });
      expect(res.status).toBe(401);
      expect(res.body).toContain('Your authenticator app is unchanged.');
      res = await alice.post('/mfa/replace', {
        password: PASSWORD,
        code: recoveryCodes[1] as string,
      });
      expect(res.location).toBe('/mfa/setup');
      const first = await alice.get('/mfa/setup');
      const again = await alice.get('/mfa/setup');
      const secretOf = (body: string) =>
        extract(body, /id="secret">([A-Z2-7 ]+)</, 'secret').replace(/ /g, '');
      // A reload shows the same enrollment; it does not make a new secret.
      expect(secretOf(again.body)).toBe(secretOf(first.body));
      expect(await signedOut(laptop)).toBe(false); // nothing has changed yet

      const secret = decodeBase32(secretOf(first.body));
      const now = Date.now();
      res = await alice.post('/mfa/confirm', {
        code1: generateTOTP(secret, { now: now - 30_000 }),
        code2: generateTOTP(secret, { now }),
      });
      expect(res.location).toBe('/mfa/factors'); // no new recovery codes: the list of apps
      expect(await signedOut(laptop)).toBe(true);
      expect((await alice.get('/mfa/factors')).body.match(/class="factor"/g)).toHaveLength(1);
    });

    it('turning it off asks for a code, and ends the other sessions', async () => {
      const email = 'disable@example.com';
      const alice = await signUp(server.url, email);
      const { recoveryCodes } = await enroll(alice);
      const laptop = await recoverySession(server.url, email, PASSWORD, recoveryCodes[0] as string);

      let res = await alice.post('/mfa/disable', { password: PASSWORD });
      expect(res.status).toBe(400);
      res = await alice.post('/mfa/disable', { password: PASSWORD, code: '123456' });
      expect(res.body).toContain('Two-factor sign-in is still on.');
      expect(await signedOut(laptop)).toBe(false);
      res = await alice.post('/mfa/disable', {
        password: PASSWORD,
        code: recoveryCodes[1] as string,
      });
      expect(res.location).toBe('/');
      const page = await alice.get('/');
      expect(page.body).toContain('Two-factor sign-in is off.');
      expect(page.body).toContain('Two-factor sign-in is <strong>off</strong>');
      expect(await signedOut(laptop)).toBe(true);
    });
  });

  describe('your authenticators (issue 11)', () => {
    const factorIds = (body: string): string[] =>
      // Each factor has two forms (rename, remove) that name it.
      [...new Set([...body.matchAll(/name="factor" value="([^"]+)"/g)].map((m) => m[1] as string))];
    const names = (body: string): string[] =>
      [...body.matchAll(/<strong class="name">([^<]*)<\/strong>/g)].map((m) => m[1] as string);
    /** The code of `secret` one step ahead: current for the service, and never used yet. */
    const nextCode = (secret: Uint8Array): string =>
      generateTOTP(secret, { now: Date.now() + 30_000 });

    /** Adds a second authenticator named `name` through the page; returns its secret. */
    async function addFactor(client: Client, name: string, code: string): Promise<Uint8Array> {
      await client.get('/mfa/factors');
      const res = await client.post('/mfa/factors/add', { name, password: PASSWORD, code });
      expect(res.location).toBe('/mfa/setup');
      const page = await client.get('/mfa/setup');
      expect(page.body).toContain('Add this authenticator');
      const secret = decodeBase32(
        extract(page.body, /id="secret">([A-Z2-7 ]+)</, 'secret').replace(/ /g, ''),
      );
      const now = Date.now();
      const done = await client.post('/mfa/confirm', {
        code1: generateTOTP(secret, { now: now - 30_000 }),
        code2: generateTOTP(secret, { now }),
      });
      expect(done.location).toBe('/mfa/factors');
      return secret;
    }

    /** A new sign-in with the password and `code`: true if it reaches the account page, else the page. */
    async function signInWith(email: string, code: string): Promise<true | string> {
      const client = new Client(server.url);
      await client.get('/signin');
      await client.post('/signin', { email, password: PASSWORD });
      await client.get('/signin/code');
      const res = await client.post('/signin/code', { code });
      return res.location === '/' || res.body;
    }

    it('lists the factor with its name and dates, adds a named second one with two codes, and both sign in', async () => {
      const email = 'factors@example.com';
      const alice = await signUp(server.url, email);
      const { secret: phone, recoveryCodes } = await enroll(alice);
      expect((await alice.get('/')).body).toContain('href="/mfa/factors"');
      let page = await alice.get('/mfa/factors');
      expect(page.status).toBe(200);
      expect(names(page.body)).toEqual(['Authenticator']);
      expect(page.body).toMatch(/Added \d{4}-\d\d-\d\d \d\d:\d\d UTC · last used never/);
      const laptop = await recoverySession(server.url, email, PASSWORD, recoveryCodes[0] as string);

      // Refusals first: a wrong code, and a form without the CSRF token.
      let res = await alice.post('/mfa/factors/add', {
        name: 'Tablet',
        password: PASSWORD,
        code: 'AAAA-AAAA-AAAA',
      });
      expect(res.status).toBe(401);
      expect(res.body).toContain('Nothing was added.');
      res = await alice.post('/mfa/factors/add', {
        csrf: 'forged',
        name: 'Tablet',
        password: PASSWORD,
        code: recoveryCodes[1] as string,
      });
      expect(res.status).toBe(403);
      // A name the user already has is refused before any setup starts.
      res = await alice.post('/mfa/factors/add', {
        name: 'authenticator',
        password: PASSWORD,
        code: recoveryCodes[1] as string,
      });
      expect(res.status).toBe(400);
      expect(res.body).toContain('You already have an authenticator with this name.');
      expect(await signedOut(laptop)).toBe(false);

      const tablet = await addFactor(alice, 'Tablet', recoveryCodes[2] as string);
      expect(await signedOut(laptop)).toBe(true); // a 2FA change ends the other sessions
      page = await alice.get('/mfa/factors');
      expect(page.body).toContain('Your new authenticator app is set up.');
      expect(names(page.body)).toEqual(['Authenticator', 'Tablet']);
      const home = await alice.get('/');
      expect(home.body).toContain('with 2 authenticators');
      // "Move to a new app" would not say which one: with two, it is not offered.
      expect(home.body).not.toContain('action="/mfa/replace"');
      res = await alice.post('/mfa/replace', {
        password: PASSWORD,
        code: recoveryCodes[3] as string,
      });
      expect(res.location).toBe('/mfa/factors');

      // Each one signs in with its own codes.
      expect(await signInWith(email, nextCode(phone))).toBe(true);
      expect(await signInWith(email, nextCode(tablet))).toBe(true);
      page = await alice.get('/mfa/factors');
      expect(page.body).not.toContain('last used never');
    });

    it("renames a factor, and refuses a taken name, a forged form and another user's factor", async () => {
      const alice = await signUp(server.url, 'rename@example.com');
      const { recoveryCodes } = await enroll(alice);
      await addFactor(alice, 'Tablet', recoveryCodes[0] as string);
      const [first, second] = factorIds((await alice.get('/mfa/factors')).body);
      const bob = await signUp(server.url, 'rename-bob@example.com');
      await enroll(bob);
      const [bobs] = factorIds((await bob.get('/mfa/factors')).body);

      let res = await alice.post('/mfa/factors/rename', { factor: first as string, name: 'Phone' });
      expect(res.location).toBe('/mfa/factors');
      let page = await alice.get('/mfa/factors');
      expect(page.body).toContain('Renamed.');
      expect(names(page.body)).toEqual(['Phone', 'Tablet']);

      res = await alice.post('/mfa/factors/rename', { factor: second as string, name: 'PHONE' });
      expect(res.status).toBe(400);
      expect(res.body).toContain('You already have an authenticator with this name.');
      res = await alice.post('/mfa/factors/rename', { factor: second as string, name: '' });
      expect(res.status).toBe(400);
      expect(res.body).toContain('Choose a name of 1 to 64 characters');
      res = await alice.post('/mfa/factors/rename', {
        csrf: 'forged',
        factor: second as string,
        name: 'Forged',
      });
      expect(res.status).toBe(403);
      res = await alice.post('/mfa/factors/rename', { factor: bobs as string, name: 'Mine now' });
      expect(res.status).toBe(404);
      expect(names((await bob.get('/mfa/factors')).body)).toEqual(['Authenticator']);
      page = await alice.get('/mfa/factors');
      expect(names(page.body)).toEqual(['Phone', 'Tablet']);
    });

    it("removes a factor with a current code, ends the other sessions, and refuses a wrong code, a forged form and another user's factor", async () => {
      const email = 'remove@example.com';
      const alice = await signUp(server.url, email);
      const { secret: phone, recoveryCodes } = await enroll(alice);
      const tablet = await addFactor(alice, 'Tablet', recoveryCodes[0] as string);
      const [phoneId, tabletId] = factorIds((await alice.get('/mfa/factors')).body);
      const bob = await signUp(server.url, 'remove-bob@example.com');
      await enroll(bob);
      const [bobs] = factorIds((await bob.get('/mfa/factors')).body);
      const laptop = await recoverySession(server.url, email, PASSWORD, recoveryCodes[1] as string);

      await alice.get('/mfa/factors');
      let res = await alice.post('/mfa/factors/remove', {
        factor: tabletId as string,
        password: PASSWORD,
        code: '000000',
      });
      expect(res.status).toBe(401);
      expect(res.body).toContain('Nothing was removed.');
      res = await alice.post('/mfa/factors/remove', {
        factor: tabletId as string,
        password: 'wrong password',
        code: nextCode(phone),
      });
      expect(res.status).toBe(401);
      res = await alice.post('/mfa/factors/remove', {
        csrf: 'forged',
        factor: tabletId as string,
        password: PASSWORD,
        code: recoveryCodes[2] as string,
      });
      expect(res.status).toBe(403);
      res = await alice.post('/mfa/factors/remove', {
        factor: bobs as string,
        password: PASSWORD,
        code: recoveryCodes[3] as string,
      });
      expect(res.status).toBe(404);
      expect(names((await bob.get('/mfa/factors')).body)).toEqual(['Authenticator']);
      expect(await signedOut(laptop)).toBe(false);

      // The tablet's own current code removes it; its codes no longer sign in.
      res = await alice.post('/mfa/factors/remove', {
        factor: tabletId as string,
        password: PASSWORD,
        code: nextCode(tablet),
      });
      expect(res.location).toBe('/mfa/factors');
      expect(await signedOut(laptop)).toBe(true);
      const page = await alice.get('/mfa/factors');
      expect(page.body).toContain('The authenticator is removed.');
      expect(names(page.body)).toEqual(['Authenticator']);
      // (Refused as not right, where a code of a factor still there would be a replay.)
      expect(await signInWith(email, nextCode(tablet))).toContain("That code isn't right.");

      // Removing the last one turns two-factor sign-in off.
      res = await alice.post('/mfa/factors/remove', {
        factor: phoneId as string,
        password: PASSWORD,
        code: nextCode(phone),
      });
      expect(res.location).toBe('/');
      const home = await alice.get('/');
      expect(home.body).toContain('That was your last authenticator: two-factor sign-in is off.');
      expect(home.body).toContain('Two-factor sign-in is <strong>off</strong>');
      expect((await alice.get('/mfa/factors')).location).toBe('/');
    });
  });
});
