// The enrollment diagnoses of the example auth server in Chromium, on a
// server whose new factors use SHA256 (TOTP_ALGORITHM): after the e-mail code
// step (the development outbox), a simulated phone (codes from the library's
// generateTOTP) whose clock is 2 h 3 min ahead or an hour behind, an app that
// ignored SHA256 and made SHA1 codes, codes from the QR code a "Start again"
// replaced (a new e-mail code first), a binding with a clock 100 s fast
// (bound, with a warning), and a second authenticator set up with the first
// one's codes (named, escaped); then a resync from a clock 1 h 30 min behind
// (refused, explained) and from one 3.5 min fast (in sync, with the warning).
// Pages photographed at 375 px and 1280 px (browser-pages.ts).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase32, parseKeyURI } from 'totpkit';
import { launchChromium, requireChromium } from '../helpers/browser.ts';
import { requireProgram } from '../helpers/tools.ts';
import { decodeQRFile, imageDir } from '../helpers/zbarimg.ts';
import { codeThroughOutbox, layoutChecker, phoneCodes, secretOn } from './browser-pages.ts';
import { startAuthServer, type RunningServer } from './harness.ts';

const haveChromium = requireChromium();
const haveZbar = requireProgram('zbarimg', 'zbar-tools');

const PASSWORD = 'a long enough passphrase';

describe.skipIf(!haveChromium || !haveZbar)('example auth server in Chromium: diagnoses', () => {
  /** New factors with SHA256. */
  let sha256Server: RunningServer;
  let browser: Browser;
  const images = imageDir();
  const { checkLayoutOf, keep } = layoutChecker(images);

  beforeAll(async () => {
    const opening = launchChromium();
    opening.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    sha256Server = await startAuthServer({
      totp: { algorithm: 'SHA256' },
      // "Start again" sends a new e-mail code at once (the default makes the
      // user wait 60 s after the previous one: auth-server.browser.test.ts
      // shows that).
      policy: { verificationCodes: { resendCooldownMs: 0 } },
    });
    browser = await opening;
  }, 180_000); // PGlite and Chromium both start slowly on a busy machine
  afterAll(async () => {
    await browser?.close();
    await sha256Server?.close();
    keep();
    images.cleanup();
  });

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
