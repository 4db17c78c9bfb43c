// What the example's browser tests share (auth-server.browser.test.ts and
// auth-server.browser-diagnosis.test.ts): a phone's codes, the secret on the
// enrollment page, the e-mail code step through the development outbox, and
// the layout check with its screenshots at 375 px and 1280 px.
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { decodeBase32, generateTOTP, type FactorParams } from 'totpkit';
import type { imageDir } from '../helpers/zbarimg.ts';

/**
 * What a phone shows for `secret` under `params` when its clock is `offsetMs`
 * off (positive: ahead): the code of the step before its "now", then the code
 * of its "now", as a user types them.
 */
export function phoneCodes(
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
export async function secretOn(page: Page): Promise<Uint8Array> {
  return decodeBase32((await page.locator('#secret').innerText()).replace(/\s/g, ''));
}

/**
 * On the "Check your e-mail" page: opens the development outbox, reads the
 * newest code, goes back and enters it; ends on the enrollment page.
 * `shoot` photographs the code page and the outbox (the first time).
 */
export async function codeThroughOutbox(
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

/**
 * The layout check of the pages, with its screenshots (kept in
 * $TOTPKIT_SCREENSHOT_DIR when set, by `keep()` at the end).
 */
export function layoutChecker(images: ReturnType<typeof imageDir>) {
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
  /** Copies the screenshots to $TOTPKIT_SCREENSHOT_DIR, if set. */
  function keep(): void {
    const dir = process.env.TOTPKIT_SCREENSHOT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    for (const file of shots) copyFileSync(file, join(dir, file.split('/').pop() as string));
  }
  return { checkLayoutOf, keep };
}
