// PostgresStore on PGlite (PostgreSQL compiled to WebAssembly): runs in every
// `npm test`, no server needed.
import { PGlite } from '@electric-sql/pglite';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { MFAError } from '../../src/errors.ts';
import { PostgresStore, type PostgresQueryClient } from '../../src/store/postgres.ts';
import { testMFAStore } from '../../src/testing.ts';
import { describeDiagnosisCases } from '../mfa/diagnosis-cases.ts';
import { describeAccountCases } from './postgres-account-cases.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describePostgresCleanup } from './postgres-cleanup-cases.ts';
import { describeRetentionCases } from './retention-cases.ts';
import { checkUpgraded, seed010 } from './upgrade-0.1.0.ts';
import { checkUpgraded02, checkUpgradedRecords, seed02, seed03dev } from './upgrade-0.2.ts';

const db = new PGlite();
beforeAll(() => db.waitReady, 60_000); // starting the WebAssembly build takes seconds
afterAll(() => db.close());

let tables = 0;
async function makeStore() {
  const store = new PostgresStore({ client: db, table: `store_${++tables}` });
  await store.migrate();
  return store;
}

// One table for the whole suite: it uses a fresh user id in every test.
const shared = new PostgresStore({ client: db, table: 'conformance' });
const migrated = shared.migrate();
testMFAStore('PostgresStore (PGlite)', async () => {
  await migrated;
  return shared;
});

describeAdapterCases('PostgresStore (PGlite)', makeStore);
describeAccountCases('PostgresStore (PGlite)', async (throttleRetentionMs) => {
  const table = `store_${++tables}`;
  const store =
    throttleRetentionMs === undefined
      ? new PostgresStore({ client: db, table })
      : new PostgresStore({ client: db, table, throttleRetentionMs });
  await store.migrate();
  return store;
});
describeRetentionCases('PostgresStore (PGlite)', async (throttleRetentionMs) => {
  const table = `store_${++tables}`;
  const store =
    throttleRetentionMs === undefined
      ? new PostgresStore({ client: db, table })
      : new PostgresStore({ client: db, table, throttleRetentionMs });
  await store.migrate();
  return store;
});
describePostgresCleanup(
  'PostgresStore (PGlite)',
  () => db,
  () => `store_${++tables}`,
);

// The service's enrollment diagnosis (issue 12) through a database store.
describeDiagnosisCases('PostgresStore (PGlite)', makeStore);

describe('PostgresStore.migrate and deleteExpired', () => {
  const T = 1_700_000_000_000;
  const enrollment = (id: string, expiresAt: number) => ({
    id,
    name: 'A',
    nameKey: 'a',
    replaceFactorId: null,
    sealedSecret: 'sealed',
    secretDigest: null,
    algorithm: 'SHA1' as const,
    digits: 6 as const,
    period: 30,
    createdAt: T,
    expiresAt,
  });

  it('migrates idempotently, into a schema too', async () => {
    await db.query('CREATE SCHEMA IF NOT EXISTS auth', []);
    const store = new PostgresStore({ client: db, table: 'auth.mfa' });
    await store.migrate();
    await store.putPending('u', enrollment('p', T + 1000));
    await store.migrate(); // keeps the data
    expect((await store.getUser('u', T))?.pending?.id).toBe('p');
    const { rows } = await db.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'auth' AND tablename = 'mfa' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { indexname: 'mfa_erased_until' },
      { indexname: 'mfa_idle_since' },
      { indexname: 'mfa_kept_until' },
      { indexname: 'mfa_pending_clear_at' },
      { indexname: 'mfa_pkey' },
    ]);
  });

  it('removes expired pending enrollments and rows left empty, nothing else yet', async () => {
    const store = await makeStore();
    const policy = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 5 };
    await store.putPending('expired', enrollment('p1', T + 1000));
    await store.putPending('expired-throttled', enrollment('p2', T + 1000));
    await store.reserveAttempt('expired-throttled', { scope: 'otp', now: T, policy, weight: 1 });
    await store.putPending('live', enrollment('p3', T + 5000));
    await store.reserveAttempt('reset', { scope: 'otp', now: T, policy, weight: 1 });
    await store.resetThrottle('reset', 'otp');
    // The throttled user's expired enrollment stays with their throttle state
    // for throttleRetentionMs (test/store/retention-cases.ts).
    expect(await store.deleteExpired(T + 1000)).toEqual({
      enrollments: 1,
      records: 2,
      more: false,
    });
    const { rows } = await db.query<{ user_id: string; pending_id: string | null }>(
      `SELECT user_id, pending->>'id' AS pending_id FROM store_${tables} ORDER BY user_id`,
    );
    expect(rows).toEqual([
      { user_id: 'expired-throttled', pending_id: 'p2' },
      { user_id: 'live', pending_id: 'p3' },
    ]);
    expect(await store.deleteExpired(T + 1000)).toEqual({
      enrollments: 0,
      records: 0,
      more: false,
    });
  });
});

describe('PostgresStore erasure guards', () => {
  const T = 1_700_000_000_000;

  it('are rows holding only the guard, which deleteExpired deletes once they ended', async () => {
    const store = await makeStore();
    const table = `store_${tables}`;
    const policy = { freeAttempts: 5, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 5 };
    await store.reserveAttempt('had-state', { scope: 'otp', now: T, policy, weight: 2 });
    expect(await store.deleteUser('had-state', { now: T, guardMs: 1000 })).toBe(true);
    expect(await store.deleteUser('had-none', { now: T, guardMs: 2000 })).toBe(false);
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT user_id, factors, pending, recovery_salt, otp_failures, otp_guesses,
         otp_blocked_until, erased_until::text AS until, idle_since
       FROM ${table} ORDER BY user_id`,
    );
    const guard = { factors: {}, pending: null, recovery_salt: null, idle_since: null };
    expect(rows).toEqual([
      {
        user_id: 'had-none',
        ...guard,
        otp_failures: 0,
        otp_guesses: 0,
        otp_blocked_until: 0,
        until: String(T + 2000),
      },
      {
        user_id: 'had-state',
        ...guard,
        otp_failures: 0,
        otp_guesses: 0,
        otp_blocked_until: 0,
        until: String(T + 1000),
      },
    ]);
    // Nothing may be stored beside a guard.
    await expect(
      db.query(`UPDATE ${table} SET otp_failures = 1 WHERE user_id = 'had-none'`),
    ).rejects.toThrow(/check constraint/);
    expect(await store.deleteExpired(T + 999)).toEqual({ enrollments: 0, records: 0, more: false });
    expect(await store.deleteExpired(T + 1000)).toEqual({
      enrollments: 0,
      records: 1,
      more: false,
    });
    expect(await store.deleteExpired(T + 2000, { limit: 1 })).toEqual({
      enrollments: 0,
      records: 1,
      more: true,
    });
    const left = await db.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(left.rows).toEqual([{ n: 0 }]);
  });
});

describe('PostgresStore.deleteExpired failures', () => {
  it('reports a missing table as ERR_STORE saying to run migrate()', async () => {
    const store = new PostgresStore({ client: db, table: 'never_migrated' });
    const error = await store.deleteExpired(1_700_000_000_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MFAError);
    expect(error).toMatchObject({ code: 'ERR_STORE' });
    expect((error as Error).message).toMatch(/^PostgresStore\.deleteExpired failed: .*migrate\(\)/);
  });
});

describe('upgrading a 0.1.0 table in place', () => {
  it('keeps every factor, pending enrollment, recovery set and lock; concurrent migrate() is safe', async () => {
    await db.query('CREATE SCHEMA IF NOT EXISTS legacy', []);
    await seed010(db, 'legacy.mfa');
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ client: db, table: 'legacy.mfa' }),
    );
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate(); // and again: nothing changes
    const { rows } = await db.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns
       WHERE table_schema = 'legacy' AND table_name = 'mfa' ORDER BY ordinal_position`,
    );
    expect(rows.map((r) => r.column_name)).toEqual([
      'user_id',
      'pending_expires_at',
      'recovery_salt',
      'recovery_hashes',
      'otp_failures',
      'otp_blocked_until',
      'recovery_failures',
      'recovery_blocked_until',
      'factors',
      'pending',
      'otp_guesses',
      'recovery_guesses',
      'erased_until',
      'account',
      'account_version',
      'pending_clear_at',
      'idle_since',
      'kept_until',
    ]);
    await checkUpgraded(stores[1]!);
  });
});

describe('upgrading a 0.2 table in place', () => {
  it('keeps every lock (as guesses), factor, recovery code and enrollment; concurrent migrate() is safe', async () => {
    await seed02(db, 'from02');
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ client: db, table: 'from02' }),
    );
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate(); // and again: nothing changes
    await checkUpgraded02(stores[1]!);
  });
});

describe('upgrading a 0.3-dev table (before the account document) in place', () => {
  it('keeps every row as it was, with no document at version 0, and drops no guard; concurrent migrate() is safe', async () => {
    await seed03dev(db, 'from03dev');
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ client: db, table: 'from03dev' }),
    );
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate(); // and again: nothing changes
    await checkUpgradedRecords(stores[1]!);
    const { rows } = await db.query(
      `SELECT erased_until::text AS until FROM from03dev WHERE user_id = 'erased'`,
    );
    expect(rows).toEqual([{ until: String(1_750_000_020_000 + 3_600_000) }]);
    expect(
      await stores[2]!.putPending('erased', {
        id: 'p',
        name: 'P',
        nameKey: 'p',
        sealedSecret: 's',
        secretDigest: null,
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
        createdAt: 1_750_000_020_000,
        expiresAt: 1_750_000_620_000,
        replaceFactorId: null,
      }),
    ).toBe('erased');
  });
});

describe('upgrading a 0.2 table in place, the store alone', () => {
  it('gives every row no document at version 0, and a compare-and-set works on it', async () => {
    await seed02(db, 'from02records');
    await new PostgresStore({ client: db, table: 'from02records' }).migrate();
    await checkUpgradedRecords(new PostgresStore({ client: db, table: 'from02records' }));
  });
});

describe('docs/stores.md', () => {
  it('shows the schema migrate() creates, word for word', async () => {
    const docs = readFileSync(new URL('../../docs/stores.md', import.meta.url), 'utf8');
    const sql = /```sql\n(CREATE TABLE[\s\S]*?)```/.exec(docs)?.[1];
    expect(sql).toBeDefined();
    const statements: string[] = [];
    const recorder = {
      query: async (text: string) => {
        statements.push(text);
        return { rows: [] };
      },
    };
    await new PostgresStore({ client: recorder }).migrate();
    expect(statements).toHaveLength(1);
    expect(statements[0]).toContain(sql!.trim());
  });
});

describe('PostgresStore options', () => {
  it('checks the table name, naming the field', () => {
    for (const table of ['', 'A', '1abc', 'a-b', 'a.b.c', 'a b', 'a"b', 'x'.repeat(41), 'a.']) {
      expect(() => new PostgresStore({ client: db, table })).toThrow(RangeError);
      expect(() => new PostgresStore({ client: db, table })).toThrow(/"table"/);
    }
    expect(() => new PostgresStore({ client: db, table: 1 as never })).toThrow(TypeError);
    expect(() => new PostgresStore({ client: db, table: 'auth.mfa_2' })).not.toThrow();
  });

  it('takes pg.Pool, pg.Client, a pool client and PGlite (checked by tsc)', () => {
    expectTypeOf<pg.Pool>().toExtend<PostgresQueryClient>();
    expectTypeOf<pg.Client>().toExtend<PostgresQueryClient>();
    expectTypeOf<pg.PoolClient>().toExtend<PostgresQueryClient>();
    expectTypeOf<PGlite>().toExtend<PostgresQueryClient>();
  });

  it('checks the scope, requirement and policy of readAndReserve before any query', async () => {
    const store = new PostgresStore({ client: { query: () => Promise.reject(new Error('sent')) } });
    const policy = { freeAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxFailures: 1 };
    await expect(
      store.readAndReserve('u', { scope: 'otp', now: 0, policy, requirement: 'all' as never }),
    ).rejects.toThrow(/"requirement" must be 'active' or 'pending'/);
    await expect(
      store.readAndReserve('u', { scope: 'sms' as never, now: 0, policy, requirement: 'active' }),
    ).rejects.toThrow(/"scope"/);
    await expect(
      store.readAndReserve('u', {
        scope: 'otp',
        now: 0,
        policy: { ...policy, maxDelayMs: -1 },
        requirement: 'active',
      }),
    ).rejects.toThrow(/"policy.maxDelayMs"/);
  });

  it('checks the client', () => {
    expect(() => new PostgresStore({ client: {} as never })).toThrow(/"client"/);
    expect(() => new PostgresStore(null as never)).toThrow(TypeError);
  });
});
