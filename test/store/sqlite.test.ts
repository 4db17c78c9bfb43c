// SQLiteStore on better-sqlite3 (Node), on a database file in WAL mode: the
// conformance suite, the adapter, retention and diagnosis cases, the schema
// and deleteExpired at the SQL level, store errors, the options.
// bun:sqlite: sqlite-bun.test.ts; D1: sqlite-d1.test.ts; several processes
// on one file: cross-process.test.ts.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createMFA, MFAError, plaintextCipher } from '../../src/index.ts';
import {
  betterSqlite3Driver,
  bunSqliteDriver,
  d1Driver,
  SQLiteStore,
  type SQLiteDriver,
} from '../../src/store/sqlite.ts';
import { schemaStatements, upgradeStatements } from '../../src/store/sqlite/schema.ts';
import { testMFAStore } from '../../src/testing.ts';
import { describeDiagnosisCases } from '../mfa/diagnosis-cases.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeRetentionCases } from './retention-cases.ts';
import { NO_PROOFS } from './mfa-setup.ts';
import { describeSQLiteCases } from './sqlite-cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'totpkit-sqlite-'));
const db = new Database(join(dir, 'mfa.db'));
const driver = betterSqlite3Driver(db);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let tables = 0;
async function makeStore(throttleRetentionMs?: number) {
  const table = `store_${++tables}`;
  const store =
    throttleRetentionMs === undefined
      ? new SQLiteStore({ driver, table })
      : new SQLiteStore({ driver, table, throttleRetentionMs });
  await store.migrate();
  return store;
}

// One table for the whole suite: it uses a fresh user id in every test.
const shared = new SQLiteStore({ driver, table: 'conformance' });
const migrated = shared.migrate();
testMFAStore('SQLiteStore (better-sqlite3)', async () => {
  await migrated;
  return shared;
});

describeAdapterCases('SQLiteStore (better-sqlite3)', () => makeStore());
describeRetentionCases('SQLiteStore (better-sqlite3)', makeStore);
describeDiagnosisCases('SQLiteStore (better-sqlite3)', () => makeStore());
describeSQLiteCases(
  'SQLiteStore (better-sqlite3)',
  () => driver,
  () => `sql_${++tables}`,
);

describe('SQLiteStore on better-sqlite3', () => {
  it('sets WAL mode and the busy timeout on the connection', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    const other = new Database(join(dir, 'other.db'));
    betterSqlite3Driver(other, { busyTimeoutMs: 250 });
    expect(other.pragma('busy_timeout', { simple: true })).toBe(250);
    other.close();
  });

  it("a failing row's values are not in the cause, and the message says what failed", async () => {
    const store = await makeStore();
    // A trigger that makes every enrollment fail, as a constraint would.
    db.exec(`CREATE TRIGGER refuse_${tables} BEFORE UPDATE OF pending ON store_${tables}
      BEGIN SELECT RAISE(ABORT, 'refused'); END;
      CREATE TRIGGER refuse_insert_${tables} BEFORE INSERT ON store_${tables}
      BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
    const leaks: string[] = [];
    const plain = plaintextCipher();
    const mfa = createMFA({
      store,
      issuer: 'Acme',
      policy: { proofs: NO_PROOFS }, // these tests are about the store's errors
      cipher: {
        async encrypt(plaintext, context) {
          const sealed = await plain.encrypt(plaintext, context);
          leaks.push(sealed, sealed.slice('plain.'.length));
          return sealed;
        },
        decrypt: (sealed, context) => plain.decrypt(sealed, context),
      },
    });
    const error = (await mfa
      .beginEnrollment('user-1', { accountName: 'a@example.com' })
      .catch((e: unknown) => e)) as MFAError;
    expect(error).toBeInstanceOf(MFAError);
    expect(error.code).toBe('ERR_STORE');
    expect(error.message).toBe('store.putPending failed');
    expect(error.cause).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER', message: 'refused' });
    const printed = inspect(error, { depth: Infinity });
    expect(leaks.length).toBeGreaterThan(0);
    for (const leak of leaks) expect(printed).not.toContain(leak);
  });

  it('a write lock held past the busy timeout is ERR_STORE saying what to do', async () => {
    const file = join(dir, 'busy.db');
    const holder = new Database(file);
    const waiter = new Database(file);
    try {
      const store = new SQLiteStore({
        driver: betterSqlite3Driver(waiter, { busyTimeoutMs: 50 }),
        table: 'busy',
      });
      await store.migrate();
      holder.exec('BEGIN IMMEDIATE');
      const mfa = createMFA({
        store,
        issuer: 'Acme',
        cipher: plaintextCipher(),
        policy: { proofs: NO_PROOFS },
      });
      const error = (await mfa
        .beginEnrollment('user-1', { accountName: 'a@example.com' })
        .catch((e: unknown) => e)) as MFAError;
      expect(error).toBeInstanceOf(MFAError);
      expect(error.message).toMatch(
        /^store\.putPending failed: another connection held the write lock longer than the busy timeout/,
      );
      expect(error.cause).toMatchObject({ code: 'SQLITE_BUSY' });
      holder.exec('ROLLBACK');
      expect(await mfa.beginEnrollment('user-1', { accountName: 'a@example.com' })).toMatchObject({
        factorId: expect.any(String),
      });
    } finally {
      holder.close();
      waiter.close();
    }
  });
});

describe('SQLiteStore options', () => {
  it('checks the table name, naming the field', () => {
    for (const table of ['', 'A', '1abc', 'a-b', 'a.b', 'a b', 'a"b', 'x'.repeat(41), 'sqlite_x']) {
      expect(() => new SQLiteStore({ driver, table })).toThrow(RangeError);
      expect(() => new SQLiteStore({ driver, table })).toThrow(/"table"/);
    }
    expect(() => new SQLiteStore({ driver, table: 1 as never })).toThrow(TypeError);
    expect(() => new SQLiteStore({ driver, table: 'mfa_2' })).not.toThrow();
  });

  it('checks the driver and the adapters their database', () => {
    expect(() => new SQLiteStore({ driver: {} as never })).toThrow(
      /"driver" must have run, transaction methods/,
    );
    expect(() => new SQLiteStore(null as never)).toThrow(TypeError);
    expect(() => betterSqlite3Driver({} as never)).toThrow(/"db" must have prepare, exec/);
    expect(() => bunSqliteDriver(null as never)).toThrow(/"db" must have query, exec/);
    expect(() => d1Driver({ prepare() {} } as never)).toThrow(/"db" must have prepare, batch/);
    expect(() => betterSqlite3Driver(db, { busyTimeoutMs: -1 })).toThrow(/"busyTimeoutMs"/);
  });

  it('checks the scope, requirement and policy before any statement', async () => {
    const sent: string[] = [];
    const recorder: SQLiteDriver = {
      run: async (statement) => (sent.push(statement.sql), []),
      transaction: async (statements) => (sent.push(...statements.map((s) => s.sql)), []),
    };
    const store = new SQLiteStore({ driver: recorder });
    const policy = { freeAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxFailures: 1 };
    await expect(
      store.readAndReserve('u', { scope: 'otp', now: 0, policy, requirement: 'all' as never }),
    ).rejects.toThrow(/"requirement" must be 'active' or 'pending'/);
    await expect(
      store.readAndReserve('u', { scope: 'sms' as never, now: 0, policy, requirement: 'active' }),
    ).rejects.toThrow(/"scope"/);
    await expect(
      store.reserveAttempt('u', {
        scope: 'otp',
        now: 0,
        policy: { ...policy, maxDelayMs: -1 },
        weight: 1,
      }),
    ).rejects.toThrow(/"policy.maxDelayMs"/);
    expect(sent).toEqual([]);
  });
});

describe('docs/stores.md', () => {
  it('shows the schema migrate() creates, word for word', () => {
    const docs = readFileSync(new URL('../../docs/stores.md', import.meta.url), 'utf8');
    const shown = /```sql\n-- SQLiteStore: what migrate\(\) creates\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(shown).toBeDefined();
    expect(shown!.trim()).toBe(`${schemaStatements('"totpkit_mfa"', 'totpkit_mfa').join(';\n')};`);
  });

  it('shows the upgrade migrate() makes to a table without account, word for word', () => {
    const docs = readFileSync(new URL('../../docs/stores.md', import.meta.url), 'utf8');
    const shown =
      /```sql\n-- SQLiteStore: the upgrade migrate\(\) makes to a table without account\n([\s\S]*?)```/.exec(
        docs,
      )?.[1];
    expect(shown).toBeDefined();
    expect(shown!.trim()).toBe(`${upgradeStatements('"totpkit_mfa"', 'totpkit_mfa').join(';\n')};`);
  });
});
