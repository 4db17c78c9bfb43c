// Debian's chromium driven by playwright-core, for tests that need a real
// browser. Only localhost pages are loaded. The executable is found the same
// way the presence check finds it: `chromium` on PATH.
import { chromium, type Browser } from 'playwright-core';
import { findProgram, requireProgram } from './tools.ts';

/** The chromium executable: `chromium` on PATH, or undefined. */
export function chromiumPath(): string | undefined {
  return findProgram('chromium');
}

/**
 * Whether the browser tests run: chromium found by {@link chromiumPath}, and not
 * the unit tier. Throws under CI when it is missing.
 */
export function requireChromium(): boolean {
  return requireProgram('chromium', 'chromium', 'browser');
}

/** Launches headless chromium ({@link chromiumPath}) with the flags every test uses. */
export function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('chromium not found on PATH');
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
