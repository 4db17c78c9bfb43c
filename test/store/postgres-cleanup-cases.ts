// PostgresStore.deleteExpired at the SQL level, on PGlite and on a real
// server: both of its statements are index scans on a table large enough for
// the planner to care (never a sequential scan of the table), an empty call
// reads no row at all, and migrate() gives the indexes to tables created by
// 0.1.0, by the schema before idle_since (test/fixtures/schema-factors.sql,
// the table of several factors per user), by 0.2 (schema-0.2.sql) and by 0.3
// before the account document (schema-0.3-dev.sql).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PostgresStore, type PostgresQueryClient } from '../../src/store/postgres.ts';
import { seed010 } from './upgrade-0.1.0.ts';

const T = 1_700_000_000_000;
const WEEK = 7 * 24 * 60 * 60 * 1000;
const FACTORS_DDL = readFileSync(
  new URL('../fixtures/schema-factors.sql', import.meta.url),
  'utf8',
);
const DDL_02 = readFileSync(new URL('../fixtures/schema-0.2.sql', import.meta.url), 'utf8');
const DDL_03_DEV = readFileSync(new URL('../fixtures/schema-0.3-dev.sql', import.meta.url), 'utf8');

/** Every node of an EXPLAIN (FORMAT JSON) plan, depth first. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

/**
 * Fills `table` (already migrated) with `n` users: most with a factor, one in
 * 100 with an expired enrollment beside it, one in 100 with nothing but old
 * throttle state, one in 100 with nothing but recent throttle state.
 */
export async function fillTable(client: PostgresQueryClient, table: string, n: number) {
  await client.query(
    `INSERT INTO ${table} (user_id, factors, pending, pending_expires_at, otp_failures, otp_blocked_until)
     SELECT 'user-' || i,
       CASE WHEN i % 100 IN (1, 2) THEN '{}'::jsonb
         ELSE jsonb_build_object('f' || i, jsonb_build_object('id', 'f' || i, 'lastStep', '1')) END,
       CASE WHEN i % 100 = 3 THEN '{"id": "p"}'::jsonb END,
       CASE WHEN i % 100 = 3 THEN $1::bigint - 1000 END,
       CASE WHEN i % 100 IN (1, 2) THEN 3 ELSE 0 END,
       CASE WHEN i % 100 = 1 THEN $1::bigint - $2::bigint WHEN i % 100 = 2 THEN $1::bigint ELSE 0 END
     FROM generate_series(1, $3::int) AS i`,
    [T, 2 * WEEK, n],
  );
  await client.query(`ANALYZE ${table}`, []);
}

/** Plans `store`'s `deleteExpired(now)` statements, running them (EXPLAIN ANALYZE). */
async function explainDeleteExpired(client: PostgresQueryClient, table: string, now: number) {
  const plans: Record<string, unknown>[][] = [];
  const dryRun = new PostgresStore({
    client: {
      query: async (text, values) => {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
        const json = (rows[0] as Record<string, unknown>)['QUERY PLAN'];
        const plan = (typeof json === 'string' ? JSON.parse(json) : json) as {
          Plan: Record<string, unknown>;
        }[];
        plans.push(nodes(plan[0]!.Plan));
        return { rows: [] };
      },
    },
    table,
  });
  await dryRun.deleteExpired(now);
  return plans;
}

/** The rows a plan's scans read: returned, or read and then filtered out. */
function rowsRead(plan: Record<string, unknown>[]): number {
  let read = 0;
  for (const node of plan) {
    if (!String(node['Node Type']).includes('Scan')) continue;
    const loops = Number(node['Actual Loops'] ?? 1);
    read += Number(node['Actual Rows'] ?? 0) * loops;
    read += Number(node['Rows Removed by Filter'] ?? 0);
    read += Number(node['Rows Removed by Index Recheck'] ?? 0);
  }
  return read;
}

/** Registers the cases. `newTable()` returns a fresh, unused table name. */
export function describePostgresCleanup(
  name: string,
  client: () => PostgresQueryClient,
  newTable: () => string,
): void {
  describe(`${name}: deleteExpired at the SQL level`, () => {
    it('finds what to delete through the partial indexes, never by scanning the table', async () => {
      const table = newTable();
      const bare = table.split('.').at(-1)!;
      await new PostgresStore({ client: client(), table }).migrate();
      await fillTable(client(), table, 20_000);
      const sent: { text: string; values: unknown[] }[] = [];
      const recorder: PostgresQueryClient = {
        query: (text, values) => {
          sent.push({ text, values });
          return client().query(text, values);
        },
      };
      const store = new PostgresStore({ client: recorder, table });
      // Before the deletion, so that the plans see the rows to delete.
      const plans: string[] = [];
      const scans: string[] = [];
      const dryRun = new PostgresStore({
        client: {
          query: async (text, values) => {
            const { rows } = await client().query(`EXPLAIN (FORMAT JSON) ${text}`, values);
            const row = rows[0] as Record<string, unknown>;
            const json = row['QUERY PLAN'];
            const plan = (typeof json === 'string' ? JSON.parse(json) : json) as {
              Plan: Record<string, unknown>;
            }[];
            for (const node of nodes(plan[0]!.Plan)) {
              scans.push(`${String(node['Node Type'])} ${String(node['Index Name'] ?? '')}`);
            }
            plans.push(JSON.stringify(plan));
            return { rows: [] };
          },
        },
        table,
      });
      await dryRun.deleteExpired(T, { limit: 50 });
      expect(plans).toHaveLength(4);
      expect(scans.filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
      expect(scans).toContain(`Index Scan ${bare}_pending_clear_at`);
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_idle_since`))).toHaveLength(
        1,
      );
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_erased_until`))).toHaveLength(
        1,
      );
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_kept_until`))).toHaveLength(
        1,
      );
      // The rows picked are then changed through the primary key, one by one.
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_pkey`))).toHaveLength(4);

      // And it does what the plans say, 50 rows per step at most.
      expect(await store.deleteExpired(T, { limit: 50 })).toEqual({
        enrollments: 50,
        records: 50,
        more: true,
      });
      expect(sent).toHaveLength(4);
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
      const { rows } = await client().query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE factors = '{}')::int AS idle,
           count(pending)::int AS pending FROM ${table}`,
        [],
      );
      expect(rows).toEqual([{ n: 19_800, idle: 200, pending: 0 }]);
    }, 60_000);

    it('reads no row when there is nothing to do, however many users without a factor have failures and an expired enrollment', async () => {
      // Issue 19.6: such a user's expired enrollment stays with their throttle
      // state (retention-cases.ts), so a step that found expired enrollments
      // by their expiry read every one of them again on every call.
      const table = newTable();
      await new PostgresStore({ client: client(), table }).migrate();
      await fillTable(client(), table, 2_000); // 20 to delete, 20 to clear
      await client().query(
        `INSERT INTO ${table} (user_id, pending, pending_expires_at, otp_failures, otp_blocked_until)
         SELECT 'binder-' || i, '{"id": "p"}'::jsonb, $1::bigint - 1000, 3, $1::bigint - 1000
         FROM generate_series(1, 5000) AS i`,
        [T],
      );
      await client().query(`ANALYZE ${table}`, []);
      const store = new PostgresStore({ client: client(), table });
      while ((await store.deleteExpired(T, { limit: 7 })).more);
      const plans = await explainDeleteExpired(client(), table, T);
      expect(plans).toHaveLength(4);
      expect(plans.map(rowsRead)).toEqual([0, 0, 0, 0]);
      // The 5,000 are kept, expired enrollment included, and go when their
      // throttle state stops mattering (a week later), enrollment and all.
      const kept = await client().query(
        `SELECT count(*)::int AS n FROM ${table} WHERE pending IS NOT NULL`,
        [],
      );
      expect(kept.rows).toEqual([{ n: 5000 }]);
      let records = 0;
      for (;;) {
        const result = await store.deleteExpired(T + WEEK, { limit: 2000 });
        expect(result.enrollments).toBe(0);
        records += result.records;
        if (!result.more) break;
      }
      expect(records).toBe(5000 + 20); // and fillTable's 20 whose state mattered until T
    }, 60_000);

    it('gives tables of 0.1.0, of the schema before idle_since, of 0.2 and of 0.3 before the account document the columns and indexes of deleteExpired', async () => {
      for (const seed of ['0.1.0', 'factors', '0.2', '0.3-dev'] as const) {
        const table = newTable();
        const bare = table.split('.').at(-1)!;
        if (seed === '0.1.0') {
          await seed010(client(), table);
        } else {
          const ddl = seed === 'factors' ? FACTORS_DDL : seed === '0.2' ? DDL_02 : DDL_03_DEV;
          await client().query(
            `DO $$ BEGIN ${ddl.replaceAll('__TABLE__', table).replaceAll('__BARE__', bare)} END $$`,
            [],
          );
          await client().query(
            `INSERT INTO ${table} (user_id, factors, otp_failures, otp_blocked_until)
             VALUES ('locked', '{}', 100, 0), ('active', '{"f": {}}', 3, $1),
               ('recent', '{}', 3, $1)`,
            [T],
          );
          // An expired enrollment beside a factor, and one with failures and no factor.
          await client().query(
            `INSERT INTO ${table} (user_id, factors, pending, pending_expires_at, otp_failures)
             VALUES ('reenroll', '{"f": {}}', '{}', $1, 0), ('binder', '{}', '{}', $1, 2)`,
            [T],
          );
        }
        const store = new PostgresStore({ client: client(), table });
        await Promise.all([store.migrate(), store.migrate()]);
        await store.migrate();
        const { rows: indexes } = await client().query(
          `SELECT indexname FROM pg_indexes WHERE tablename = $1 ORDER BY 1`,
          [bare],
        );
        expect(indexes).toEqual([
          { indexname: `${bare}_erased_until` },
          { indexname: `${bare}_idle_since` },
          { indexname: `${bare}_kept_until` },
          { indexname: `${bare}_pending_clear_at` },
          { indexname: `${bare}_pkey` },
        ]);
        // No row has a document: none is kept by one, and all are at version 0.
        const { rows: documents } = await client().query(
          `SELECT count(*)::int AS n FROM ${table}
           WHERE account IS NOT NULL OR account_version <> 0 OR kept_until IS NOT NULL`,
          [],
        );
        expect(documents).toEqual([{ n: 0 }]);
        const { rows } = await client().query(
          `SELECT user_id, idle_since::text AS idle, pending_clear_at::text AS clear
           FROM ${table} ORDER BY user_id`,
          [],
        );
        const expected =
          seed === '0.1.0'
            ? [
                { user_id: 'active', idle: null, clear: null },
                { user_id: 'locked', idle: '0', clear: null },
                {
                  user_id: 'pending',
                  idle: String(1_750_000_000_000 + 600_000),
                  clear: String(1_750_000_000_000 + 600_000),
                },
                { user_id: 'reenroll', idle: null, clear: String(1_750_000_000_000 + 600_000) },
              ]
            : [
                { user_id: 'active', idle: null, clear: null },
                { user_id: 'binder', idle: String(T), clear: null },
                { user_id: 'locked', idle: '0', clear: null },
                { user_id: 'recent', idle: String(T), clear: null },
                { user_id: 'reenroll', idle: null, clear: String(T) },
              ];
        expect(rows).toEqual(expected);
      }
    });
  });
}
