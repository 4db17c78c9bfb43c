// SQLiteStore on Cloudflare D1, run locally by Miniflare on the repo's workerd
// binary (nothing is downloaded):
// - through d1Driver(env.DB) in a Worker, called from Node over HTTP: the
//   conformance suite, the adapter cases and the SQL-level cases;
// - in Workers: two instances of a Worker (test/runtimes/fixtures/d1-worker.ts)
//   bound to one D1 database serve 100 concurrent requests at once: one code
//   is accepted once, and wrong guesses never get more codes checked than the
//   budget. D1 has no interactive transactions; the store sends every
//   multi-statement operation as one batch(), which D1 runs as one transaction.
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeBase32, generateTOTP } from '../../src/index.ts';
import {
  SQLiteStore,
  type SQLiteDriver,
  type SQLiteRow,
  type SQLiteStatement,
} from '../../src/store/sqlite.ts';
import { testMFAStore } from '../../src/testing.ts';
import { bundleForWeb } from '../helpers/web-bundle.ts';
import { requireWorkerd } from '../helpers/workerd.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeSQLiteCases } from './sqlite-cases.ts';

// Each store call is a request into workerd: the suite's heavier cases (600
// reservations) take longer than the default 30 s on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });

const haveWorkerd = requireWorkerd();
const entry = fileURLToPath(new URL('../runtimes/fixtures/d1-worker.ts', import.meta.url));
const COMPATIBILITY_DATE = '2026-04-01';
const T0 = 1_700_000_010_000;

/**
 * `driver` with at most `limit` calls in flight. Miniflare's proxy from Node
 * into workerd once failed an internal assertion (in its devalue hydration)
 * with 600 reservations in flight on a loaded machine; calls still overlap
 * 16 at a time, and the Workers below send 100 requests at once.
 */
function inFlight(driver: SQLiteDriver, limit: number): SQLiteDriver {
  let active = 0;
  const waiting: (() => void)[] = [];
  const slot = async <T>(call: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await call();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
  return {
    run: (statement) => slot(() => driver.run(statement)),
    transaction: (statements) => slot(() => driver.transaction(statements)),
  };
}

/**
 * A driver whose calls run d1Driver(env.DB) inside Worker `a` (its POST
 * /driver route): the adapter under test runs in workerd on D1, and Node
 * reaches it by plain HTTP requests. (Miniflare's D1 binding proxied into
 * Node makes prepare() and bind() synchronous calls across threads, which
 * failed under load and then failed every later call.)
 */
function workerDriver(mf: Miniflare): SQLiteDriver {
  const call = async (kind: 'run' | 'transaction', statements: readonly SQLiteStatement[]) => {
    const response = await mf.dispatchFetch('http://worker/driver', {
      method: 'POST',
      body: JSON.stringify({ kind, statements }),
    });
    const body = (await response.json()) as
      { rows: SQLiteRow[] | SQLiteRow[][] } | { error: { message: string; code?: string } };
    if ('error' in body) {
      const { message, code } = body.error;
      throw Object.assign(new Error(message), code === undefined ? {} : { code });
    }
    return body.rows;
  };
  return {
    run: async (statement) => (await call('run', [statement])) as SQLiteRow[],
    transaction: async (statements) => (await call('transaction', statements)) as SQLiteRow[][],
  };
}

/** Starts Miniflare with `code` as two Workers, `a` and `b`, bound to one D1 database. */
function start(code: string) {
  const worker = (name: string) => ({
    name,
    modules: true,
    script: code,
    compatibilityDate: COMPATIBILITY_DATE,
    d1Databases: { DB: 'totpkit' },
  });
  return new Miniflare({ workers: [worker('a'), worker('b')] });
}

describe.skipIf(!haveWorkerd)('SQLiteStore on D1 (Miniflare)', () => {
  let mf: Miniflare;
  let driver: SQLiteDriver;
  let shared: SQLiteStore;
  let tables = 0;

  beforeAll(async () => {
    mf = start((await bundleForWeb(entry, 'workerd')).code);
    driver = inFlight(workerDriver(mf), 16);
    shared = new SQLiteStore({ driver, table: 'conformance' });
    await shared.migrate();
  }, 120_000);
  afterAll(() => mf?.dispose());

  testMFAStore('SQLiteStore (D1)', () => shared);
  describeAdapterCases('SQLiteStore (D1)', async () => {
    const store = new SQLiteStore({ driver, table: `store_${++tables}` });
    await store.migrate();
    return store;
  });
  describeSQLiteCases(
    'SQLiteStore (D1)',
    () => driver,
    () => `sql_${++tables}`,
  );

  describe('concurrent requests to two Worker instances on one D1 database', () => {
    const request = async (worker: 'a' | 'b', path: string, query: Record<string, unknown>) => {
      const search = new URLSearchParams(
        Object.entries(query).map(([key, value]): [string, string] => [
          key,
          typeof value === 'string' ? value : JSON.stringify(value),
        ]),
      );
      // Miniflare's Fetcher type needs the Workers types; its fetch is the standard one.
      const fetcher = (await mf.getWorker(worker)) as unknown as {
        fetch(url: string): Promise<Response>;
      };
      const response = await fetcher.fetch(`http://worker${path}?${search}`);
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as Record<string, unknown>;
    };
    /** `count` requests at once, alternating between the two instances. */
    const all = (count: number, path: string, query: Record<string, unknown>) =>
      Promise.all(
        Array.from({ length: count }, (_, i) => request(i % 2 === 0 ? 'a' : 'b', path, query)),
      );
    const tally = (results: Record<string, unknown>[]) => {
      const counts: Record<string, number> = {};
      for (const r of results) {
        const key = 'error' in r ? `error:${String(r.error)}` : r.ok ? 'ok' : String(r.reason);
        counts[key] = (counts[key] ?? 0) + 1;
      }
      return counts;
    };
    const open = { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 };

    async function enroll(user: string): Promise<Uint8Array> {
      await request('a', '/migrate', {});
      const { secret } = await request('a', '/begin', { user, now: T0 });
      const key = decodeBase32(String(secret));
      const bound = await request('b', '/complete', {
        user,
        now: T0,
        first: generateTOTP(key, { now: T0 - 30_000 }),
        second: generateTOTP(key, { now: T0 }),
      });
      expect(bound.ok).toBe(true);
      return key;
    }

    it('100 concurrent verifies of one code: one success, 10 rounds', async () => {
      const user = 'race';
      const key = await enroll(user);
      for (let round = 1; round <= 10; round++) {
        const now = T0 + round * 30_000;
        const code = generateTOTP(key, { now });
        const results = await all(100, '/verify', { user, now, code, throttle: open });
        expect(tally(results), `round ${round}`).toEqual({ ok: 1, replayed: 99 });
        await request('a', '/unlock', { user, now });
      }
    }, 120_000);

    it('100 concurrent wrong guesses: exactly the budget is checked, the rest locked', async () => {
      const user = 'guess';
      const key = await enroll(user);
      const now = T0 + 30_000;
      const near = new Set([-1, 0, 1].map((k) => generateTOTP(key, { now: now + k * 30_000 })));
      const wrong = ['000000', '111111'].find((code) => !near.has(code))!;
      const lock = { freeAttempts: 10, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 10 };
      const results = await all(100, '/verify', { user, now, code: wrong, throttle: lock });
      expect(tally(results)).toEqual({ mismatch: 10, locked: 90 });
      const right = generateTOTP(key, { now });
      expect(await request('b', '/verify', { user, now, code: right, throttle: lock })).toEqual({
        ok: false,
        reason: 'locked',
      });
      // The back-off: 3 attempts, the third opening a one-minute delay.
      await request('a', '/unlock', { user, now });
      const backOff = {
        freeAttempts: 3,
        baseDelayMs: 60_000,
        maxDelayMs: 60_000,
        maxFailures: 100,
      };
      const delayed = await all(100, '/verify', { user, now, code: wrong, throttle: backOff });
      expect(tally(delayed)).toEqual({ mismatch: 3, throttled: 97 });
    }, 120_000);
  });
});
