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
// The enrollment diagnoses on a SHA256 server are in
// auth-server.browser-diagnosis.test.ts; the helpers both use in browser-pages.ts.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32, parseKeyURI } from 'totpkit';
import { launchChromium, requireChromium } from '../helpers/browser.ts';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import { requireProgram } from '../helpers/tools.ts';
import { decodeQRFile, imageDir } from '../helpers/zbarimg.ts';
import { codeThroughOutbox, layoutChecker, secretOn } from './browser-pages.ts';
import { startAuthServer, type RunningServer } from './harness.ts';

const noOathtool = skipWithoutOathtool();
const haveChromium = requireChromium();
const haveZbar = requireProgram('zbarimg', 'zbar-tools');

const EMAIL = 'carol@example.com';
const PASSWORD = 'a long enough passphrase';

describe.skipIf(noOathtool || !haveChromium || !haveZbar)('example auth server in Chromium', () => {
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const images = imageDir();
  const { checkLayoutOf, keep } = layoutChecker(images);

  beforeAll(async () => {
    const opening = launchChromium();
    opening.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    server = await startAuthServer();
    browser = await opening;
    page = await browser.newPage();
  }, 180_000); // PGlite and Chromium both start slowly on a busy machine
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    keep();
    images.cleanup();
  });

  const alert = () => page.locator('[role=alert]').innerText();

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
    // (Six digits: the field's pattern stops a shorter one in the browser.
    // One chance in a million that it is the code sent: then it opens the QR code.)
    await page.getByLabel('Code from the e-mail').fill('000000');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await alert()).toBe(
      "That code isn't right. Check that it is from the newest e-mail we sent.",
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
});
