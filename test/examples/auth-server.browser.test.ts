// The example auth server in a real browser (Debian chromium through
// playwright-core): the same path as the HTTP test, through the pages, with
// the secret read from the enrollment page and codes from oathtool. The QR code
// on the page is decoded with zbarimg and must carry the same secret.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBase32, encodeBase32, parseKeyURI } from 'totpkit';
import { launchChromium, requireChromium } from '../helpers/browser.ts';
import { oathtoolTOTP, skipWithoutOathtool } from '../helpers/oathtool.ts';
import { requireProgram } from '../helpers/tools.ts';
import { decodeQRFile, imageDir } from '../helpers/zbarimg.ts';
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

  beforeAll(async () => {
    server = await startAuthServer();
    browser = await launchChromium();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    images.cleanup();
  });

  const alert = () => page.locator('[role=alert]').innerText();
  const notice = () => page.locator('[role=status]').innerText();

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

  it('signs up, binds an authenticator, signs in with TOTP, refuses a replay, and accepts a recovery code once', async () => {
    // Sign up.
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.locator('#mfa-status').innerText()).toBe('Two-factor sign-in is off.');

    // Enroll: the secret as text, and a QR code that carries the same secret.
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await page.waitForURL(`${server.url}/mfa/setup`);
    const secret = (await page.locator('#secret').innerText()).replace(/\s/g, '');
    const qrPath = images.path('enroll.png');
    await page.locator('img.qr').screenshot({ path: qrPath });
    const uri = parseKeyURI(await decodeQRFile(qrPath));
    expect(encodeBase32(uri.secret)).toBe(secret);
    expect(uri).toMatchObject({ issuer: 'totpkit demo', accountName: EMAIL });

    const secretHex = Buffer.from(decodeBase32(secret)).toString('hex');
    const [previous, current, next] = (await oathtoolTOTP({
      secretHex,
      now: Date.now() - 30_000,
      window: 2,
    })) as [string, string, string];

    // A mistake first: the page says what to do.
    await page.getByLabel('First code').fill(current);
    await page.getByLabel('Next code').fill(current);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    expect(await alert()).toContain('Both boxes have the same code.');

    // Then the two consecutive codes.
    await page.getByLabel('First code').fill(previous);
    await page.getByLabel('Next code').fill(current);
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('Two-factor sign-in is on');
    const recoveryCodes = await page.locator('#recovery-codes li').allInnerTexts();
    expect(recoveryCodes).toHaveLength(10);
    await page.getByRole('link', { name: 'I have saved them — continue' }).click();
    expect(await notice()).toBe('Two-factor sign-in is on.');

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
  }, 120_000);
});
