// The example auth server in a real browser (Debian chromium through
// playwright-core): the seed flow through the pages — security settings →
// "Set up virtual MFA" → a code sent to the account's e-mail, read from the
// development outbox page → the QR code and the key → two consecutive codes →
// sign-in with a code — with the secret read from the enrollment page and
// codes from oathtool. The QR code
// on the page is decoded with zbarimg and must carry the same secret. Each
// page is photographed at 375 px and 1280 px wide (kept in
// $TOTPKIT_SCREENSHOT_DIR when set), and nothing may be wider than the screen.
// A second authenticator is then added on the "Your authenticators" page and
// each one signs in with codes computed from its own key. Then "Remember this
// device for 30 days": the next sign-in asks for no code, the device is listed
// on the authenticators page, a third authenticator is added, and the
// sign-in after that asks for a code again (the generation moved).
//
// Then the enrollment diagnoses, on a second server whose new factors use
// SHA256 (TOTP_ALGORITHM): a simulated phone (codes from the library's
// generateTOTP) whose clock is 2 h 3 min ahead or an hour behind, an app that
// ignored SHA256 and made SHA1 codes, codes from the QR code a "Start again"
// replaced, a binding with a clock 100 s fast (bound, with a warning), and a
// second authenticator set up with the first one's codes (named, escaped);
// then a resync from a clock 1 h 30 min behind (refused, explained) and from
// one 3.5 min fast (in sync, with the warning). Both servers share one PGlite.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32, generateTOTP, parseKeyURI, type FactorParams } from 'totpkit';
import { launchChromium, requireChromium } from '../helpers/browser.ts';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import { requireProgram } from '../helpers/tools.ts';
import { decodeQRFile, imageDir } from '../helpers/zbarimg.ts';
import { PostgresStore } from 'totpkit/postgres';
import { Accounts } from '../../examples/auth-server/accounts.ts';
import { startAuthServer, type RunningServer } from './harness.ts';

const noOathtool = skipWithoutOathtool();
const haveChromium = requireChromium();
const haveZbar = requireProgram('zbarimg', 'zbar-tools');

const EMAIL = 'carol@example.com';
const PASSWORD = 'a long enough passphrase';

/**
 * What a phone shows for `secret` under `params` when its clock is `offsetMs`
 * off (positive: ahead): the code of the step before its "now", then the code
 * of its "now", as a user types them.
 */
function phoneCodes(
  secret: Uint8Array,
  params: Partial<FactorParams>,
  offsetMs = 0,
): [string, string] {
  const at = Date.now() + offsetMs;
  const periodMs = (params.period ?? 30) * 1000;
  return [
    generateTOTP(secret, { ...params, now: at - periodMs }),
    generateTOTP(secret, { ...params, now: at }),
  ];
}

/** The secret on the enrollment page (`#secret`, grouped by four). */
async function secretOn(page: Page): Promise<Uint8Array> {
  return decodeBase32((await page.locator('#secret').innerText()).replace(/\s/g, ''));
}

/**
 * On the "Check your e-mail" page: opens the development outbox, reads the
 * newest code, goes back and enters it; ends on the enrollment page.
 * `shoot` photographs the code page and the outbox (the first time).
 */
async function codeThroughOutbox(
  page: Page,
  base: string,
  shoot?: (name: string) => Promise<void>,
): Promise<string> {
  await page.waitForURL(`${base}/mfa/verify`);
  expect(await page.locator('h1').innerText()).toBe('Check your e-mail');
  await shoot?.('verify');
  await page.getByRole('link', { name: 'development outbox' }).click();
  await page.waitForURL(`${base}/dev/outbox`);
  expect(await page.locator('h1').innerText()).toBe('Development outbox — not for production');
  await shoot?.('outbox');
  const mail = await page.locator('article.mail pre').first().innerText();
  const code = /verification code is (\d{6})\./.exec(mail)?.[1];
  expect(code, mail).toBeDefined();
  await page.getByRole('link', { name: 'Back to entering the code' }).click();
  await page.waitForURL(`${base}/mfa/verify`);
  await page.getByLabel('Code from the e-mail').fill(code as string);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${base}/mfa/setup`);
  return code as string;
}

describe.skipIf(noOathtool || !haveChromium || !haveZbar)('example auth server in Chromium', () => {
  let server: RunningServer;
  /** New factors with SHA256: the diagnosis tests' server. */
  let sha256Server: RunningServer;
  let browser: Browser;
  let page: Page;
  const images = imageDir();

  let db: PGlite | undefined;

  beforeAll(async () => {
    const opening = launchChromium();
    opening.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    // One database for both servers (PGlite is slow to start); their users differ.
    db = await PGlite.create();
    const accounts = new Accounts(db);
    await accounts.migrate();
    const store = new PostgresStore({ client: db });
    await store.migrate();
    server = await startAuthServer({ storage: { accounts, store } });
    sha256Server = await startAuthServer({
      storage: { accounts, store },
      totp: { algorithm: 'SHA256' },
      // "Start again" sends a new e-mail code at once (the default makes the
      // user wait 60 s after the previous one; the first server shows that).
      policy: { verificationCodes: { resendCooldownMs: 0 } },
    });
    browser = await opening;
    page = await browser.newPage();
  }, 180_000); // PGlite and Chromium both start slowly on a busy machine
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sha256Server?.close();
    await db?.close();
    const keep = process.env.TOTPKIT_SCREENSHOT_DIR;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const file of shots) copyFileSync(file, join(keep, file.split('/').pop() as string));
    }
    images.cleanup();
  });

  const alert = () => page.locator('[role=alert]').innerText();
  const shots: string[] = [];

  /**
   * Screenshots of the current page at a phone's and a desktop's width, and
   * checks that nothing overflows sideways and the card keeps a margin.
   */
  async function checkLayoutOf(page: Page, name: string): Promise<void> {
    for (const width of [375, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      const file = images.path(`${name}-${width}.png`);
      await page.screenshot({ path: file, fullPage: true });
      shots.push(file);
      // Runs in the page (as text: this project's TypeScript has no DOM types).
      const layout = (await page.evaluate(`(() => {
        const root = document.documentElement;
        const main = document.querySelector('main').getBoundingClientRect();
        const wide = [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 0.5)
          .map((el) => el.tagName + (el.className ? '.' + el.className : ''));
        return {
          scrollWidth: root.scrollWidth,
          clientWidth: root.clientWidth,
          left: main.left,
          right: root.clientWidth - main.right,
          wide,
        };
      })()`)) as {
        scrollWidth: number;
        clientWidth: number;
        left: number;
        right: number;
        wide: string[];
      };
      expect(layout.wide, `${name} at ${width} px`).toEqual([]);
      expect(layout.scrollWidth, `${name} at ${width} px`).toBeLessThanOrEqual(layout.clientWidth);
      // The card does not touch the screen's edges.
      expect(layout.left, `${name} at ${width} px`).toBeGreaterThanOrEqual(12);
      expect(layout.right, `${name} at ${width} px`).toBeGreaterThanOrEqual(12);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  const checkLayout = (name: string): Promise<void> => checkLayoutOf(page, name);
  const notice = () => page.locator('[role=status]').innerText();

  // Carried from the first test to the second: the first authenticator's key,
  // the last time step whose code it has used, and the recovery codes.
  let phoneHex = '';
  let phoneUsedStep = 0;
  let savedRecoveryCodes: string[] = [];

  /**
   * A code of `secretHex` the service will accept and has not seen: the next
   * step's (the window allows one ahead), once the clock is past `usedStep`.
   */
  async function freshCode(secretHex: string, usedStep: number): Promise<string> {
    const wait = usedStep * 30_000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 200));
    const step = Math.floor(Date.now() / 30_000) + 1;
    const [code] = await oathtoolTOTP({ secretHex, now: step * 30_000 });
    return code as string;
  }

  async function signInWithCode(code: string): Promise<void> {
    await signIn();
    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${server.url}/`);
  }

  async function signIn(): Promise<void> {
    await page.goto(`${server.url}/signin`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/signin/code`);
  }

  async function signOut(): Promise<void> {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.url}/signin`);
  }

  it('signs up, sets up virtual MFA with a code from the outbox, binds an authenticator, signs in with TOTP, refuses a replay, and accepts a recovery code once', async () => {
    // Sign up.
    await page.goto(`${server.url}/signup`);
    await checkLayout('signup');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.locator('#mfa-status').innerText()).toBe('Two-factor sign-in is off.');
    await checkLayout('account-off');

    // Security settings → "Set up virtual MFA" → a code to the account's e-mail.
    expect(await page.locator('h2').first().innerText()).toBe('Security settings');
    await page.getByRole('button', { name: 'Set up virtual MFA' }).click();
    await page.waitForURL(`${server.url}/mfa/verify`);
    expect(await notice()).toBe(`We sent a new code to ${EMAIL}.`);
    // Asking again at once: refused for now, with when; the code sent stays good.
    await page.getByRole('button', { name: 'Send a new code' }).click();
    await page.waitForURL(`${server.url}/mfa/verify`);
    expect(await notice()).toMatch(
      /^We sent you a code a moment ago\. If you have it, enter it below; otherwise ask for a new one in \d+ seconds\.$/,
    );
    // A wrong code first: refused, in words.
    await page.getByLabel('Code from the e-mail').fill('12345');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await alert()).toBe(
      'The code is the 6 digits from the e-mail. Type them exactly as they are there.',
    );
    // The e-mail, in the development outbox; its code opens the QR code.
    await codeThroughOutbox(page, server.url, checkLayout);

    // Enroll: the secret as text, and a QR code that carries the same secret.
    await checkLayout('setup');
    const secret = (await page.locator('#secret').innerText()).replace(/\s/g, '');
    const qrPath = images.path('enroll.png');
    await page.locator('img.qr').screenshot({ path: qrPath });
    const uri = parseKeyURI(await decodeQRFile(qrPath));
    expect(encodeBase32(uri.secret)).toBe(secret);
    expect(uri).toMatchObject({ issuer: 'totpkit demo', accountName: EMAIL });

    const secretHex = Buffer.from(decodeBase32(secret)).toString('hex');
    const codesNow = async () =>
      (await oathtoolTOTP({ secretHex, now: Date.now() - 30_000, window: 2 })) as [
        string,
        string,
        string,
      ];
    let [previous, current, next] = await codesNow();

    // A mistake first: the page says what to do.
    await page.getByLabel('First code').fill(current);
    await page.getByLabel('Next code').fill(current);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    expect(await alert()).toContain('Both boxes have the same code.');
    // The QR code and the key stay, to try again.
    expect((await page.locator('#secret').innerText()).replace(/\s/g, '')).toBe(secret);
    expect(await page.locator('img.qr').isVisible()).toBe(true);
    await checkLayout('setup-error');
    // A reload shows the same enrollment.
    await page.reload();
    expect((await page.locator('#secret').innerText()).replace(/\s/g, '')).toBe(secret);
    // Submitting with an empty box: the browser's own message, and the stale
    // server error from the previous attempt is hidden.
    await page.getByLabel('First code').fill(current);
    await page.getByLabel('Next code').fill(current);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    expect(await page.locator('[role=alert]').isVisible()).toBe(true);
    await page.getByLabel('Next code').fill('');
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    expect(await page.locator('#code2:invalid').count()).toBe(1);
    await expect.poll(() => page.locator('[role=alert]').isVisible()).toBe(false);

    // Then the two consecutive codes (fresh: the checks above took time).
    [previous, current, next] = await codesNow();
    // `next` (used below) is at most this step; a later step's code is fresh.
    phoneUsedStep = Math.floor(Date.now() / 30_000) + 1;
    phoneHex = secretHex;
    await page.getByLabel('First code').fill(previous);
    await page.getByLabel('Next code').fill(current);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('Save your recovery codes');
    const recoveryCodes = await page.locator('#recovery-codes li').allInnerTexts();
    expect(recoveryCodes).toHaveLength(10);
    savedRecoveryCodes = recoveryCodes;
    await checkLayout('recovery-codes');
    await page.getByRole('link', { name: 'I have saved them — continue' }).click();
    expect(await notice()).toBe(
      'Your authenticator app is set up. From now on, sign-in asks for a code from it.',
    );

    // Sign out and in again: the TOTP step, where the binding's code is a replay.
    await signOut();
    await signIn();
    await page.getByLabel('Code from your authenticator app').fill(current);
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await alert()).toContain('That code has already been used.');
    await page.getByLabel('Code from your authenticator app').fill(next);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.locator('#mfa-status').innerText()).toContain('Two-factor sign-in is on');

    // The same code in a new sign-in is refused.
    await signOut();
    await signIn();
    await page.getByLabel('Code from your authenticator app').fill(next);
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await alert()).toContain('That code has already been used.');

    // A recovery code, once.
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0] as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await notice()).toBe('Recovery code accepted. You have 9 recovery codes left.');
    await signOut();
    await signIn();
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0] as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await alert()).toBe("That recovery code isn't right, or it has already been used.");

    // Page layouts last: the codes above were computed at the start, and must stay current.
    // Halfway through a sign-in, "Cancel sign-in" goes back to the start.
    await checkLayout('recovery-error');
    await page.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${server.url}/signin`);
    await signIn();
    await checkLayout('second-factor');
    await page.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${server.url}/signin`);
    await page.goto(`${server.url}/`);
    await page.waitForURL(`${server.url}/signin`);
    await signIn();
    await page.getByRole('link', { name: 'Resynchronise your app' }).click();
    await checkLayout('resync');
    await page.getByRole('button', { name: 'Cancel sign-in' }).click();
    await page.waitForURL(`${server.url}/signin`);
    await signIn();
    await page.getByRole('link', { name: 'Use a recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[2] as string);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    await checkLayout('account-on');
  }, 300_000);

  it('adds a second authenticator with two codes and a name, renames the first, and signs in with each', async () => {
    // Signed in from the test above.
    await page.getByRole('link', { name: 'Your authenticators' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    await expect.poll(() => page.locator('h1').innerText()).toBe('Your authenticators');
    expect(await page.locator('li.factor .name').allInnerTexts()).toEqual(['Authenticator']);
    await checkLayout('factors');

    // Add one: a name, the password and a current code (a recovery code here).
    const add = page.locator('form.add');
    await add.getByLabel('Name for it').fill('Tablet');
    await add.getByLabel('Your password').fill(PASSWORD);
    await add
      .getByLabel('Code from your app, or a recovery code')
      .fill(savedRecoveryCodes[3] as string);
    await add.getByRole('button', { name: 'Add another authenticator' }).click();
    await page.waitForURL(`${server.url}/mfa/setup`);
    const tablet = (await page.locator('#secret').innerText()).replace(/\s/g, '');
    const tabletHex = Buffer.from(decodeBase32(tablet)).toString('hex');
    const [first, second] = await oathtoolTOTP({
      secretHex: tabletHex,
      now: Date.now() - 30_000,
      window: 1,
    });
    const tabletUsedStep = Math.floor(Date.now() / 30_000);
    await page.getByLabel('First code').fill(first as string);
    await page.getByLabel('Next code').fill(second as string);
    await page.getByRole('button', { name: 'Add this authenticator' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    expect(await notice()).toBe('Your new authenticator app is set up.');
    expect(await page.locator('li.factor .name').allInnerTexts()).toEqual([
      'Authenticator',
      'Tablet',
    ]);

    // Rename the first.
    await page.getByLabel('New name for Authenticator').fill('Phone');
    await page.locator('#factor-1').getByRole('button', { name: 'Rename' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    expect(await notice()).toBe('Renamed.');
    expect(await page.locator('li.factor .name').allInnerTexts()).toEqual(['Phone', 'Tablet']);
    await checkLayout('factors-two');

    // Sign in with each one's codes.
    await signOut();
    await signInWithCode(await freshCode(tabletHex, tabletUsedStep));
    expect(await page.locator('#mfa-status').innerText()).toContain('with 2 authenticators');
    await signOut();
    await signInWithCode(await freshCode(phoneHex, phoneUsedStep));
    await page.getByRole('link', { name: 'Your authenticators' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    // Both have been used now.
    expect(await page.locator('li.factor').allInnerTexts()).not.toContainEqual(
      expect.stringContaining('last used never'),
    );
    phoneUsedStep = Math.floor(Date.now() / 30_000) + 1;
  }, 240_000);

  it('signs in with "Remember this device", then without a code; after adding a factor, asks for a code again', async () => {
    // Signed in from the test above. A code, and "Remember this device for 30 days".
    await signOut();
    await signIn();
    await checkLayout('second-factor-remember');
    const code = await freshCode(phoneHex, phoneUsedStep);
    phoneUsedStep = Math.floor(Date.now() / 30_000) + 1;
    await page.getByLabel('Code from your authenticator app').fill(code);
    await page.getByLabel('Remember this device for 30 days').check();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await notice()).toMatch(
      /^This device \(Chrome on Linux\) is remembered until \d{4}-\d\d-\d\d \d\d:\d\d UTC: sign-in here asks for no code until then, unless your authenticators change\.$/,
    );

    // Signed out and in again: the password alone, no code.
    await signOut();
    await page.goto(`${server.url}/signin`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await notice()).toBe('Signed in on a remembered device.');

    // Listed on the authenticators page, with "forget".
    await page.getByRole('link', { name: 'Your authenticators' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    expect(await page.locator('li.device .name').allInnerTexts()).toEqual(['Chrome on Linux']);
    expect(await page.getByRole('button', { name: 'Forget Chrome on Linux' }).count()).toBe(1);
    await checkLayout('factors-devices');

    // Adding a factor (confirmed with a recovery code) moves the generation.
    const add = page.locator('form.add');
    await add.getByLabel('Name for it').fill('Laptop');
    await add.getByLabel('Your password').fill(PASSWORD);
    await add
      .getByLabel('Code from your app, or a recovery code')
      .fill(savedRecoveryCodes[5] as string);
    await add.getByRole('button', { name: 'Add another authenticator' }).click();
    await page.waitForURL(`${server.url}/mfa/setup`);
    const laptopHex = Buffer.from(await secretOn(page)).toString('hex');
    const [first, second] = await oathtoolTOTP({
      secretHex: laptopHex,
      now: Date.now() - 30_000,
      window: 1,
    });
    await page.getByLabel('First code').fill(first as string);
    await page.getByLabel('Next code').fill(second as string);
    await page.getByRole('button', { name: 'Add this authenticator' }).click();
    await page.waitForURL(`${server.url}/mfa/factors`);
    expect(await page.locator('li.factor .name').allInnerTexts()).toEqual([
      'Phone',
      'Tablet',
      'Laptop',
    ]);
    // The change forgot every remembered device.
    expect(await page.locator('#no-devices').isVisible()).toBe(true);

    // The next sign-in on this device asks for a code again.
    await signOut();
    await signIn();
    expect(await page.locator('h1').innerText()).toBe('Two-factor sign-in');
  }, 240_000);

  describe('when the codes do not match, the enrollment page says why', () => {
    const SHA256 = { algorithm: 'SHA256' } as const;
    const SHA1 = {} as const; // SHA1, 6 digits, 30 s: what an app that ignores the URI makes
    const DAVE = 'dave@example.com';
    // Its own browser context: the cookies of the two servers (both 127.0.0.1) must not mix.
    let tab: Page;
    let base = '';
    // Carried to the second test: the first factor's secret and a recovery code.
    let phone: Uint8Array = new Uint8Array();
    let recoveryCodes: string[] = [];
    const daveAlert = () => tab.locator('[role=alert]').innerText();

    beforeAll(async () => {
      tab = await browser.newPage();
      base = sha256Server.url;
    });

    async function submitCodes([first, second]: [string, string], button: string): Promise<void> {
      await tab.getByLabel('First code').fill(first);
      await tab.getByLabel('Next code').fill(second);
      await tab.getByRole('button', { name: button }).click();
    }

    it('explains a clock hours off, an app that ignored SHA256 and an older QR code, then warns of a clock 100 s fast', async () => {
      await tab.goto(`${base}/signup`);
      await tab.getByLabel('Email').fill(DAVE);
      await tab.getByLabel('Password').fill(PASSWORD);
      await tab.getByRole('button', { name: 'Create account' }).click();
      await tab.waitForURL(`${base}/`);
      await tab.getByRole('button', { name: 'Set up virtual MFA' }).click();
      await codeThroughOutbox(tab, base);

      // The QR code asks for SHA256, and the page says so for typing the key by hand.
      const qrPath = images.path('enroll-sha256.png');
      await tab.locator('img.qr').screenshot({ path: qrPath });
      const uri = parseKeyURI(await decodeQRFile(qrPath));
      const first = await secretOn(tab);
      expect(uri).toMatchObject({ algorithm: 'SHA256', digits: 6, period: 30 });
      expect(encodeBase32(uri.secret)).toBe(encodeBase32(first));
      expect(await tab.locator('#settings').innerText()).toBe(
        'Settings, if your app asks: SHA256, 6 digits, a new code every 30 seconds.',
      );
      const turnOn = 'Turn on two-factor sign-in';

      // A phone 2 h 3 min ahead (a whole number of steps, so the page's
      // rounding to the minute holds whichever step the server reads).
      await submitCodes(phoneCodes(first, SHA256, (2 * 3600 + 3 * 60) * 1000), turnOn);
      expect(await daveAlert()).toBe(
        "Your phone's clock is about 2 h 3 min ahead. Turn on automatic time and try again.",
      );
      await checkLayoutOf(tab, 'setup-clock-skew');
      // And one an hour behind.
      await submitCodes(phoneCodes(first, SHA256, -3600 * 1000), turnOn);
      expect(await daveAlert()).toBe(
        "Your phone's clock is about 1 h behind. Turn on automatic time and try again.",
      );

      // An app that ignored SHA256: SHA1 codes of the same secret, on time.
      await submitCodes(phoneCodes(first, SHA1), turnOn);
      const ignored = await daveAlert();
      expect(ignored).toContain(
        "Your authenticator app ignored this account's settings: it makes SHA1 codes instead of SHA256.",
      );
      expect(ignored).toContain(
        'Microsoft Authenticator, Authy and Duo Mobile are reported to ignore the SHA256 setting',
      );
      // The QR code and the key stay, to add the account in another app.
      expect(encodeBase32(await secretOn(tab))).toBe(encodeBase32(first));

      // "Start again" replaces the QR code (after a new e-mail code); the
      // phone still has the first one.
      await tab.getByRole('button', { name: 'Start again with a new QR code' }).click();
      await codeThroughOutbox(tab, base);
      const second = await secretOn(tab);
      expect(encodeBase32(second)).not.toBe(encodeBase32(first));
      await submitCodes(phoneCodes(first, SHA256), turnOn);
      expect(await daveAlert()).toBe(
        'These codes come from an older QR code for this account. Delete the older entry in your app and use the newest QR code, the one on this page.',
      );

      // The newest QR code, on a phone 100 s fast: inside the binding window,
      // so it binds, and the account page warns (the offset is measured in
      // whole steps: 60 to 120 s, depending on where in a step each clock is).
      await submitCodes(phoneCodes(second, SHA256, 100_000), turnOn);
      await expect.poll(() => tab.locator('h1').innerText()).toBe('Save your recovery codes');
      recoveryCodes = await tab.locator('#recovery-codes li').allInnerTexts();
      phone = second;
      await tab.getByRole('link', { name: 'I have saved them — continue' }).click();
      const warned = await tab.locator('[role=status]').innerText();
      expect(warned).toMatch(
        /^Your authenticator app is set up\. From now on, sign-in asks for a code from it\. Your phone's clock is about (1 min|1 min 30 s|2 min) fast\. Turn on automatic time on your phone so that your codes keep working\.$/,
      );
    }, 240_000);

    it('names the authenticator whose codes were typed when adding another (the name escaped), and explains a resync', async () => {
      // Signed in from the test above, with one authenticator: give it a name
      // that would be markup if it were not escaped.
      const name = '<b>Phone</b> & "Co"';
      await tab.goto(`${base}/mfa/factors`);
      await tab.getByLabel('New name for Authenticator').fill(name);
      await tab.locator('#factor-1').getByRole('button', { name: 'Rename' }).click();
      await tab.waitForURL(`${base}/mfa/factors`);
      expect(await tab.locator('li.factor .name').allInnerTexts()).toEqual([name]);

      const add = tab.locator('form.add');
      await add.getByLabel('Name for it').fill('Tablet');
      await add.getByLabel('Your password').fill(PASSWORD);
      await add
        .getByLabel('Code from your app, or a recovery code')
        .fill(recoveryCodes[0] as string);
      await add.getByRole('button', { name: 'Add another authenticator' }).click();
      await tab.waitForURL(`${base}/mfa/setup`);
      const tablet = await secretOn(tab);

      // The phone's codes, 150 s ahead as it now runs (its binding used steps
      // up to 120 s ahead: these come after them, and stay inside the window).
      await submitCodes(phoneCodes(phone, SHA256, 150_000), 'Add this authenticator');
      expect(await daveAlert()).toBe(
        `These codes come from your authenticator "${name}", which is already set up. Enter two codes from the entry you just added instead.`,
      );
      expect(await tab.locator('[role=alert] b').count()).toBe(0);

      // The tablet's own codes bind it.
      await submitCodes(phoneCodes(tablet, SHA256), 'Add this authenticator');
      await tab.waitForURL(`${base}/mfa/factors`);
      expect(await tab.locator('li.factor .name').allInnerTexts()).toEqual([name, 'Tablet']);

      // Resync says the same of a clock far off, and warns of one that is a little off.
      await tab.goto(`${base}/mfa/resync`);
      await submitCodes(phoneCodes(phone, SHA256, -5400_000), 'Resynchronise');
      expect(await daveAlert()).toBe(
        "Your phone's clock is about 1 h 30 min behind. Turn on automatic time and try again.",
      );
      await submitCodes(phoneCodes(phone, SHA256, 210_000), 'Resynchronise');
      await tab.waitForURL(`${base}/`);
      expect(await tab.locator('[role=status]').innerText()).toMatch(
        /^Your authenticator app is in sync again\. Your phone's clock is about (3 min|3 min 30 s) fast\./,
      );
    }, 240_000);
  });
});
