// The primitives in a real browser (Debian chromium through playwright-core)
// from a bundle built with esbuild for the browser, resolving `totpkit` through
// the package's `browser` condition, with no Node polyfills. The page's results
// must equal Node's for the same inputs.
import type { Browser } from 'playwright-core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, requireChromium } from '../helpers/browser.ts';
import { bundleForWeb, type WebBundle } from '../helpers/web-bundle.ts';
import { runPrimitives } from './fixtures/primitives.ts';

const haveChromium = requireChromium();
const entry = fileURLToPath(new URL('./fixtures/browser-entry.ts', import.meta.url));

describe('the browser bundle', () => {
  let bundle: WebBundle;
  beforeAll(async () => {
    bundle = await bundleForWeb(entry, 'browser');
  });

  it('comes from dist/web/ through the browser condition, with neither Buffer nor node: modules', () => {
    expect(bundle.webTargets.sort()).toEqual(['./dist/web/index.js', './dist/web/qr.js']);
    expect(bundle.inputs.filter((file) => /^node:|thirty-two/.test(file))).toEqual([]);
    expect(bundle.inputs).toContain('node_modules/@scure/base/index.js');
    expect(bundle.inputs).toContain('src/_base32codec.web.ts');
    expect(bundle.inputs).not.toContain('src/_base32codec.ts');
    expect(bundle.code).not.toMatch(/\bBuffer\b|\bprocess\.|require\(/);
  });

  it('fails when anything needs a node: module', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'totpkit-web-'));
    try {
      const file = join(dir, 'entry.ts');
      writeFileSync(file, "import { createHash } from 'node:crypto';\nconsole.log(createHash);\n");
      await expect(bundleForWeb(file, 'browser')).rejects.toThrow(/node:crypto/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveChromium)('the primitives in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('give the RFC 6238 codes, verify, build and parse key URIs and draw the QR code as on Node', async () => {
    const { code } = await bundleForWeb(entry, 'browser');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.setContent('<!doctype html><title>totpkit</title>');
    await page.addScriptTag({ content: code, type: 'module' });
    await page.waitForFunction(() => 'totpkitResults' in globalThis);
    const inPage = await page.evaluate(() => ({
      results: (globalThis as { totpkitResults?: unknown }).totpkitResults,
      hasBuffer: 'Buffer' in globalThis,
      hasProcess: 'process' in globalThis,
    }));
    expect(errors).toEqual([]);
    expect(inPage.hasBuffer).toBe(false);
    expect(inPage.hasProcess).toBe(false);

    const results = inPage.results as ReturnType<typeof runPrimitives>;
    expect(results.rfc6238).toEqual(['94287082', '46119246', '90693936']);
    expect(results.verify).toEqual({ ok: true, step: 1, delta: -1 });
    expect(results.replayed).toEqual({ ok: false, reason: 'replayed' });
    expect(results.malformed).toEqual({ ok: false, reason: 'malformed' });
    expect(results.freshSecretBytes).toBe(20);
    expect(results.svg).toMatch(/^<svg /);
    // Everything equals Node's result for the same inputs.
    expect(results).toEqual(JSON.parse(JSON.stringify(runPrimitives())));
    await page.close();
  });
});
