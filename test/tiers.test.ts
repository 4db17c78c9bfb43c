// The test tiers and the integration helpers: one "is this CI?" rule, the
// browser found where its presence check looks, and the skip summary.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chromiumPath } from './helpers/browser.ts';
import { ciValueIsSet, noteSkip, SKIP_LOG_ENV } from './helpers/integration.ts';
import { findProgram } from './helpers/tools.ts';
import setup, { skipSummary } from './setup/skip-summary.ts';
import { NOT_IN_UNIT_TIER } from './setup/tiers.ts';

describe('"is this CI?"', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['0', false],
    ['false', false],
    ['FALSE', false],
    ['1', true],
    ['true', true],
    ['yes', true],
  ])('CI=%j means CI: %j', (value, expected) => {
    expect(ciValueIsSet(value)).toBe(expected);
  });

  it('is decided in test/helpers/integration.ts only', () => {
    const readers: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.[cm]?[jt]s$/.test(entry.name) && path !== join('test', 'tiers.test.ts')) {
          if (/process\.env\.CI\b|env\[['"]CI['"]\]/.test(readFileSync(path, 'utf8'))) {
            readers.push(path);
          }
        }
      }
    };
    walk('test');
    walk('examples');
    expect(readers).toEqual([join('test', 'helpers', 'integration.ts')]);
  });
});

describe('the browser helper', () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it('launches the chromium its presence check finds on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'totpkit-bin-'));
    try {
      const fake = join(dir, 'chromium');
      writeFileSync(fake, '#!/bin/sh\n');
      chmodSync(fake, 0o755);
      process.env.PATH = dir;
      expect(findProgram('chromium')).toBe(fake);
      expect(chromiumPath()).toBe(fake);
      process.env.PATH = join(dir, 'nothing-here');
      expect(chromiumPath()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the skip summary', () => {
  it('lists each skip once with its reason, and the files the unit tier leaves out', () => {
    const log = [
      { what: 'Redis', reason: 'redis-server not found' },
      { what: 'oathtool differential', reason: 'oathtool cannot be run' },
      { what: 'Redis', reason: 'redis-server not found' },
    ]
      .map((entry) => `${JSON.stringify(entry)}\n`)
      .join('');
    expect(skipSummary(log, undefined).split('\n')).toEqual([
      'Skipped in this run (npm test with CI=1 runs everything and fails on anything missing):',
      '  - Redis: redis-server not found',
      '  - oathtool differential: oathtool cannot be run',
    ]);
    const unit = skipSummary('', 'unit').split('\n');
    expect(unit).toHaveLength(1 + Object.keys(NOT_IN_UNIT_TIER).length);
    expect(unit).toContain(
      '  - test/store/postgres.test.ts: not in the unit tier (needs a PostgreSQL server)',
    );
    expect(skipSummary('', undefined)).toBe('');
  });

  it('is printed by the global setup from what the helpers recorded during the run', () => {
    const saved = process.env[SKIP_LOG_ENV];
    const tier = process.env.TOTPKIT_TEST_TIER;
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      delete process.env.TOTPKIT_TEST_TIER;
      const teardown = setup();
      noteSkip('zbarimg', 'zbarimg not found on PATH (Debian package zbar-tools)');
      teardown();
      expect(warn).toHaveBeenCalledWith(
        'skipping zbarimg tests: zbarimg not found on PATH (Debian package zbar-tools)',
      );
      expect(log).toHaveBeenCalledTimes(1);
      expect(log.mock.calls[0]?.[0]).toContain(
        '  - zbarimg: zbarimg not found on PATH (Debian package zbar-tools)',
      );
    } finally {
      log.mockRestore();
      warn.mockRestore();
      if (saved === undefined) delete process.env[SKIP_LOG_ENV];
      else process.env[SKIP_LOG_ENV] = saved;
      if (tier !== undefined) process.env.TOTPKIT_TEST_TIER = tier;
    }
  });
});
