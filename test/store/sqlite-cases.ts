// SQLiteStore at the SQL level, the same on every driver (better-sqlite3,
// bun:sqlite, D1): migrate() is idempotent and safe when several stores run
// it at once; each step of deleteExpired finds its rows through its partial
// index (EXPLAIN QUERY PLAN of the very statements it sends), never by
// scanning the table; a missing table is ERR_STORE saying to run migrate().
import { describe, expect, it } from 'vitest';
import { MFAError } from '../../src/errors.ts';
import { SQLiteStore, type SQLiteDriver, type SQLiteStatement } from '../../src/store/sqlite.ts';

const T = 1_700_000_000_000;
const WEEK = 7 * 24 * 60 * 60 * 1000;

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
 * but recent throttle state. In batches of 500 rows (D1 binds 100 values per
 * statement at most, so the rows come from a recursive CTE).
 */
async function fillTable(driver: SQLiteDriver, table: string, n: number) {
  for (let start = 1; start <= n; start += 500) {
    const end = Math.min(n, start + 499);
    await driver.run({
      sql: `WITH RECURSIVE i(v) AS (SELECT ? UNION ALL SELECT v + 1 FROM i WHERE v < ?)
INSERT INTO "${table}" (user_id, factors, pending, pending_expires_at, otp_failures, otp_blocked_until)
SELECT 'user-' || v,
  CASE WHEN v % 100 IN (1, 2) THEN '[]' ELSE json_array(json_object('id', 'f' || v)) END,
  CASE WHEN v % 100 = 3 THEN '{"id":"p"}' END,
  CASE WHEN v % 100 = 3 THEN ? - 1000 END,
  CASE WHEN v % 100 IN (1, 2) THEN 3 ELSE 0 END,
  CASE WHEN v % 100 = 1 THEN ? - ? WHEN v % 100 = 2 THEN ? ELSE 0 END
FROM i`,
      params: [start, end, T, T, 2 * WEEK, T],
    });
  }
  await driver.run({ sql: `ANALYZE "${table}"`, params: [] });
}

/**
 * Registers the cases. `driver()` gives the database (the same one every
 * time), `newTable()` a fresh table name.
 */
export function describeSQLiteCases(
  name: string,
  driver: () => SQLiteDriver,
  newTable: () => string,
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
      const plans: string[][] = [];
      const dryRun = new SQLiteStore({
        driver: {
          run: async (statement) => {
            const rows = await driver().run({
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
      await dryRun.deleteExpired(T, { limit: 50 });
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
      // throttle state is two weeks old deleted; the 200 recent ones kept.
      expect(total).toEqual({ enrollments: 200, records: 200 });
      const [counts] = await driver().run({
        sql: `SELECT count(*) AS n, sum(factors = '[]') AS idle, count(pending) AS pending
FROM "${table}"`,
        params: [],
      });
      expect(counts).toEqual({ n: 19_800, idle: 200, pending: 0 });
    }, 120_000);

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
