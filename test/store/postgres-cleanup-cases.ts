// PostgresStore.deleteExpired at the SQL level, on PGlite and on a real
// server: both of its statements are index scans on a table large enough for
// the planner to care (never a sequential scan of the table), and migrate()
// gives the index to tables created by 0.1.0 and by the schema before it
// (test/fixtures/schema-factors.sql, the table of several factors per user).
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
      expect(plans).toHaveLength(2);
      expect(scans.filter((scan) => scan.startsWith('Seq Scan'))).toEqual([]);
      expect(scans).toContain(`Index Scan ${bare}_pending_expires_at`);
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_idle_since`))).toHaveLength(
        1,
      );
      // The rows picked are then changed through the primary key, one by one.
      expect(scans.filter((scan) => scan.endsWith(`Index Scan ${bare}_pkey`))).toHaveLength(2);

      // And it does what the plans say, 50 rows per step at most.
      expect(await store.deleteExpired(T, { limit: 50 })).toEqual({
        enrollments: 50,
        records: 50,
        more: true,
      });
      expect(sent).toHaveLength(2);
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

    it('gives a table of 0.1.0 and one of the schema before the index the column and the index', async () => {
      for (const seed of ['0.1.0', 'factors'] as const) {
        const table = newTable();
        const bare = table.split('.').at(-1)!;
        if (seed === '0.1.0') {
          await seed010(client(), table);
        } else {
          await client().query(
            `DO $$ BEGIN ${FACTORS_DDL.replaceAll('__TABLE__', table).replaceAll('__BARE__', bare)} END $$`,
            [],
          );
          await client().query(
            `INSERT INTO ${table} (user_id, factors, otp_failures, otp_blocked_until)
             VALUES ('locked', '{}', 100, 0), ('active', '{"f": {}}', 3, $1),
               ('recent', '{}', 3, $1)`,
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
          { indexname: `${bare}_idle_since` },
          { indexname: `${bare}_pending_expires_at` },
          { indexname: `${bare}_pkey` },
        ]);
        const { rows } = await client().query(
          `SELECT user_id, idle_since::text AS idle FROM ${table} ORDER BY user_id`,
          [],
        );
        const expected =
          seed === '0.1.0'
            ? [
                { user_id: 'active', idle: null },
                { user_id: 'locked', idle: '0' },
                { user_id: 'pending', idle: String(1_750_000_000_000 + 600_000) },
                { user_id: 'reenroll', idle: null },
              ]
            : [
                { user_id: 'active', idle: null },
                { user_id: 'locked', idle: '0' },
                { user_id: 'recent', idle: String(T) },
              ];
        expect(rows).toEqual(expected);
      }
    });
  });
}
