// SQLiteStore at the SQL level, the same on every driver (better-sqlite3,
// bun:sqlite, D1): migrate() is idempotent and safe when several stores run
// it at once, and upgrades in place a table of the 0.3 development schema
// (test/fixtures/sqlite-schema-0.3-dev.sql, before the account document);
// each step of deleteExpired finds its rows through its partial index
// (EXPLAIN QUERY PLAN of the very statements it sends), never by scanning
// the table, and an account document keeps its row while keepUntil is null
// or ahead; a missing table is ERR_STORE saying to run migrate().
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MFAError } from '../../src/errors.ts';
import type { UserRecord } from '../../src/store/contract.ts';
import { SQLiteStore, type SQLiteDriver, type SQLiteStatement } from '../../src/store/sqlite.ts';

const T = 1_700_000_000_000;
const WEEK = 7 * 24 * 60 * 60 * 1000;

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');
/** The clock of the 0.3 development rows. */
const DEV_T = 1_750_000_020_000;
/** What the 0.3 development store's getUser returned for each of its rows at DEV_T. */
const DEV_RECORDS = JSON.parse(fixture('sqlite-0.3-dev-records.json')) as Record<
  string,
  Omit<UserRecord, 'account' | 'accountVersion'> | null
>;

/** The statements of `sql` (comment lines dropped) for `table`. */
function statementsOf(sql: string, table: string): SQLiteStatement[] {
  return sql
    .split('\n')
    .filter((line) => !line.startsWith('--'))
    .join('\n')
    .split(/;\n/)
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .map((text) => ({
      sql: text.replaceAll('__TABLE__', table).replaceAll('__BARE__', table),
      params: [],
    }));
}

/**
 * The query plans (EXPLAIN QUERY PLAN's details) of the very statements
 * `deleteExpired(now, { limit })` sends on `table`, which it does not run.
 */
async function deleteExpiredPlans(driver: SQLiteDriver, table: string, now: number) {
  const plans: string[][] = [];
  const dryRun = new SQLiteStore({
    driver: {
      run: async (statement) => {
        const rows = await driver.run({
          sql: `EXPLAIN QUERY PLAN ${statement.sql}`,
          params: statement.params,
        });
        plans.push(rows.map((row) => String(row.detail)));
        return [];
      },
      transaction: () => Promise.reject(new Error('deleteExpired sends no transaction')),
    },
    table,
  });
  await dryRun.deleteExpired(now, { limit: 50 });
  return plans;
}

/** `driver`, recording every statement sent through it. */
export function recording(driver: SQLiteDriver) {
  const sent: SQLiteStatement[] = [];
  const recorder: SQLiteDriver = {
    run: (statement) => {
      sent.push(statement);
      return driver.run(statement);
    },
    transaction: (statements) => {
      sent.push(...statements);
      return driver.transaction(statements);
    },
  };
  return { sent, driver: recorder };
}

/**
 * Fills `table` (migrated) with `n` users, as the PostgreSQL cleanup cases
 * do: most with a factor, one in 100 with an expired enrollment beside it,
 * one in 100 with nothing but old throttle state, one in 100 with nothing
 * but recent throttle state; and three in 100 with old throttle state and an
 * account document whose keepUntil is null, past, or ahead. In batches of 500
 * rows (D1 binds 100 values per statement at most, so the rows come from a
 * recursive CTE).
 */
async function fillTable(driver: SQLiteDriver, table: string, n: number) {
  for (let start = 1; start <= n; start += 500) {
    const end = Math.min(n, start + 499);
    await driver.run({
      sql: `WITH RECURSIVE i(v) AS (SELECT ? UNION ALL SELECT v + 1 FROM i WHERE v < ?)
INSERT INTO "${table}" (user_id, factors, pending, pending_expires_at, otp_failures, otp_blocked_until,
  account, account_version)
SELECT 'user-' || v,
  CASE WHEN v % 100 IN (1, 2, 4, 5, 6) THEN '[]' ELSE json_array(json_object('id', 'f' || v)) END,
  CASE WHEN v % 100 = 3 THEN '{"id":"p"}' END,
  CASE WHEN v % 100 = 3 THEN ? - 1000 END,
  CASE WHEN v % 100 IN (1, 2, 4, 5, 6) THEN 3 ELSE 0 END,
  CASE WHEN v % 100 IN (1, 4, 5, 6) THEN ? - ? WHEN v % 100 = 2 THEN ? ELSE 0 END,
  CASE v % 100 WHEN 4 THEN json_object('generation', 1, 'keepUntil', NULL)
    WHEN 5 THEN json_object('generation', 0, 'keepUntil', ? - 1)
    WHEN 6 THEN json_object('generation', 0, 'keepUntil', ? + 1) END,
  CASE WHEN v % 100 IN (4, 5, 6) THEN 1 ELSE 0 END
FROM i`,
      params: [start, end, T, T, 2 * WEEK, T, T, T],
    });
  }
  await driver.run({ sql: `ANALYZE "${table}"`, params: [] });
}

/**
 * Registers the cases. `driver()` gives the database (the same one every
 * time), `newTable()` a fresh table name, `explain()` the database to read
 * query plans on (default `driver()`; see sqlite.bun.ts).
 */
export function describeSQLiteCases(
  name: string,
  driver: () => SQLiteDriver,
  newTable: () => string,
  explain: () => SQLiteDriver = driver,
): void {
  describe(`${name}: the schema and deleteExpired at the SQL level`, () => {
    it('migrate() is idempotent, and safe when 8 stores run it at once', async () => {
      const table = newTable();
      const stores = Array.from({ length: 8 }, () => new SQLiteStore({ driver: driver(), table }));
      await Promise.all(stores.map((store) => store.migrate()));
      const pending = {
        id: 'p',
        name: 'A',
        nameKey: 'a',
        replaceFactorId: null,
        sealedSecret: 'sealed',
        algorithm: 'SHA1' as const,
        digits: 6 as const,
        period: 30,
        createdAt: T,
        expiresAt: T + 1000,
        secretDigest: null,
      };
      await stores[0]!.putPending('u', pending);
      await Promise.all(stores.map((store) => store.migrate())); // keeps the data
      expect((await stores[1]!.getUser('u', T))?.pending?.id).toBe('p');
      const indexes = await driver().run({
        sql: `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL
ORDER BY name`,
        params: [table],
      });
      expect(indexes.map((row) => row.name)).toEqual([
        `${table}_erased_until`,
        `${table}_idle_since`,
        `${table}_pending_expires_at`,
      ]);
    });

    it('finds what to delete through the partial indexes, never by scanning the table', async () => {
      const table = newTable();
      await new SQLiteStore({ driver: driver(), table }).migrate();
      await fillTable(driver(), table, 20_000);
      const { sent, driver: recorder } = recording(driver());
      const store = new SQLiteStore({ driver: recorder, table });
      // The plans of the very statements deleteExpired sends.
      const plans = await deleteExpiredPlans(explain(), table, T);
      expect(plans).toHaveLength(3);
      const details = plans.flat();
      // No step reads the whole table: each finds its rows through its index,
      // then changes them through the primary key.
      expect(details.filter((detail) => /^SCAN /.test(detail))).toEqual([]);
      const [clear, idle, guards] = plans;
      expect(clear).toContainEqual(
        expect.stringMatching(
          new RegExp(`^SEARCH ${table} USING INDEX ${table}_pending_expires_at`),
        ),
      );
      expect(idle).toContainEqual(
        expect.stringMatching(new RegExp(`^SEARCH ${table} USING INDEX ${table}_idle_since`)),
      );
      expect(guards).toContainEqual(
        expect.stringMatching(new RegExp(`^SEARCH ${table} USING INDEX ${table}_erased_until`)),
      );
      for (const plan of plans) {
        expect(plan).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^SEARCH ${table} USING (COVERING )?INDEX sqlite_autoindex_${table}_1 \\(user_id=\\?\\)`,
            ),
          ),
        );
      }

      // And it does what the plans say, 50 rows per step at most.
      expect(await store.deleteExpired(T, { limit: 50 })).toEqual({
        enrollments: 50,
        records: 50,
        more: true,
      });
      expect(sent).toHaveLength(3);
      let total = { enrollments: 50, records: 50 };
      for (;;) {
        const result = await store.deleteExpired(T, { limit: 50 });
        total = {
          enrollments: total.enrollments + result.enrollments,
          records: total.records + result.records,
        };
        if (!result.more) break;
      }
      // 200 expired enrollments cleared (their rows keep a factor); 200 rows whose
      // throttle state is two weeks old deleted, and 200 more whose document's
      // keepUntil has passed; the 200 recent ones kept, and the 400 whose
      // document keeps them (keepUntil null or ahead).
      expect(total).toEqual({ enrollments: 200, records: 400 });
      const [counts] = await driver().run({
        sql: `SELECT count(*) AS n, sum(factors = '[]') AS idle, count(pending) AS pending,
  count(account) AS documents FROM "${table}"`,
        params: [],
      });
      expect(counts).toEqual({ n: 19_600, idle: 600, pending: 0, documents: 400 });
    }, 120_000);

    it('upgrades a table of the 0.3 development schema in place, 8 stores at once, keeping every row', async () => {
      const table = newTable();
      const dev = `${fixture('sqlite-schema-0.3-dev.sql')}\n${fixture('sqlite-data-0.3-dev.sql')}`;
      await driver().transaction(statementsOf(dev, table));
      const stores = Array.from({ length: 8 }, () => new SQLiteStore({ driver: driver(), table }));
      await Promise.all(stores.map((store) => store.migrate()));
      await Promise.all(stores.map((store) => store.migrate())); // and again: nothing changes
      const store = stores[0]!;
      // Every row reads as the 0.3 development store read it, without a document.
      expect(Object.keys(DEV_RECORDS)).toHaveLength(7);
      for (const [userId, record] of Object.entries(DEV_RECORDS)) {
        expect(await store.getUser(userId, DEV_T), userId).toEqual(
          record === null ? null : { ...record, account: null, accountVersion: 0 },
        );
      }
      // The erasure guard holds until its time, then the first document is version 1.
      const account = {
        generation: 1,
        keepUntil: null,
        codes: [],
        budgets: [],
        sends: [],
        proofs: [],
        devices: [],
      };
      expect(await store.updateAccount('erased', { version: 0, account, now: DEV_T })).toBe(
        'erased',
      );
      expect(await store.updateAccount('verifier', { version: 1, account, now: DEV_T })).toBe(
        'conflict',
      );
      expect(await store.updateAccount('verifier', { version: 0, account, now: DEV_T })).toBe(
        'updated',
      );
      expect(await store.getUser('verifier', DEV_T)).toEqual({
        ...DEV_RECORDS.verifier,
        account,
        accountVersion: 1,
      });

      // The same columns and indexes as a table migrate() creates.
      const fresh = newTable();
      await new SQLiteStore({ driver: driver(), table: fresh }).migrate();
      const shape = async (name: string) => ({
        columns: await driver().run({
          sql: `SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)`,
          params: [name],
        }),
        indexes: await driver().run({
          sql: `SELECT replace(name, ?, '') AS name, replace(sql, ?, '') AS sql FROM sqlite_master
WHERE type = 'index' AND tbl_name = ? ORDER BY name`,
          params: [name, name, name],
        }),
      });
      const upgraded = await shape(table);
      expect(upgraded).toEqual(await shape(fresh));
      expect(upgraded.columns.map((column) => column.name)).toContain('kept_until');
      // And deleteExpired finds its rows through the new idle index there too.
      const [, idle] = await deleteExpiredPlans(explain(), table, DEV_T);
      expect(idle).toContainEqual(
        expect.stringMatching(
          new RegExp(`^SEARCH ${table} USING (COVERING )?INDEX ${table}_idle_since`),
        ),
      );
      // Two weeks on: the expired enrollment goes, and with it the row that held
      // only it; 'disabled' (throttle state only) goes, as does the ended guard.
      // The verifier keeps its row (a factor) and its document.
      expect(await store.deleteExpired(DEV_T + 2 * WEEK)).toEqual({
        enrollments: 1,
        records: 3,
        more: false,
      });
      for (const userId of ['pending', 'disabled', 'erased']) {
        expect(await store.getUser(userId, DEV_T), userId).toBeNull();
      }
      expect((await store.getUser('verifier', DEV_T))?.accountVersion).toBe(1);
      expect((await store.getUser('locked5', DEV_T))?.throttle.otp.guesses).toBe(100);
    }, 60_000);

    it('a missing table is ERR_STORE saying to run migrate()', async () => {
      const store = new SQLiteStore({ driver: driver(), table: newTable() });
      const error = (await store.deleteExpired(T).catch((e: unknown) => e)) as MFAError;
      expect(error).toBeInstanceOf(MFAError);
      expect(error.code).toBe('ERR_STORE');
      expect(error.message).toBe(
        'SQLiteStore.deleteExpired failed: its table does not exist: run `await store.migrate()` once at startup',
      );
      expect(error.cause).toBeInstanceOf(Error);
      expect((error.cause as Error).message).toMatch(/no such table/);
    });
  });
}
