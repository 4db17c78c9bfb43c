// PostgreSQL at scale, the part of `npm run bench:stores` after its main
// tables (or on its own: npx tsx bench/stores-postgres-scale.ts):
//
// 1. verify() through PgBouncer (transaction mode, pool size 20, the app's
//    pg.Pool at 64) against the same server directly (pg.Pool, 20), at
//    concurrency 1, 16 and 64: verifies per second, p50 and p99.
// 2. A table of BENCH_USERS (default 1,000,000) users, filled in SQL with
//    INSERT … SELECT generate_series in the layout of 0.2
//    (test/fixtures/schema-0.2.sql): 95 % with a factor and 10 recovery
//    hashes (1 % of them with an expired re-enrollment, 1 % with a live one),
//    and 1 % each of an abandoned expired enrollment, a user without a factor
//    whose binding attempts failed three days ago (an expired enrollment and
//    failures, kept for the retention), throttle state of a user who disabled
//    9 days ago, the same 1 day ago, and a live first enrollment. Measured:
//    0.2's deleteExpired (its two statements), migrate() upgrading the table
//    to 0.3 in place, then deleteExpired now, with work to do (rolled back,
//    and for real) and with nothing to do; and verify() p50 and p99 on the
//    upgraded table (the 0.3 store does not run on 0.2's schema).
//
// Servers: the throwaway loopback PostgreSQL of the tests (fsync off) and
// Debian's pgbouncer, or TOTPKIT_PG_URL. BENCH_SECONDS per level (default 2).
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres.ts';
import { pgbouncerPlanned, startPgBouncer, type PgBouncer } from '../test/helpers/pgbouncer.ts';
import { postgresPlan, type TestServer } from '../test/helpers/servers.ts';
import { T0 } from '../test/store/mfa-setup.ts';
import { SECONDS_PER_LEVEL, verifyLoad } from './_verify-load.ts';

const CONCURRENCY = [1, 16, 64] as const;
const USERS = Number(process.env.BENCH_USERS ?? 1_000_000);
const DAY = 24 * 60 * 60 * 1000;

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
  );
  for (const row of rows) console.log(line(row));
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** deleteExpired as totpkit 0.2 ran it (its two statements, one call's worth). */
async function deleteExpired02(client: pg.ClientBase | pg.Pool, table: string, now: number) {
  const { rowCount } = await client.query(
    `UPDATE ${table} SET pending = NULL, pending_expires_at = NULL
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE pending_expires_at <= $1
  AND (factors <> '{}'::jsonb OR otp_failures + recovery_failures = 0)
  LIMIT 10000 FOR UPDATE SKIP LOCKED))
RETURNING user_id`,
    [now],
  );
  await client.query(
    `DELETE FROM ${table}
WHERE user_id = ANY(ARRAY(SELECT user_id FROM ${table} WHERE idle_since <= $1
  LIMIT 10000 FOR UPDATE SKIP LOCKED))
RETURNING user_id`,
    [Math.max(0, now - 7 * DAY)],
  );
  return rowCount ?? 0;
}

/** verify() on the big table at concurrency 1 and 16, after a checkpoint (so that one does not land in it). */
async function verifyRows(pool: pg.Pool, store: PostgresStore, label: string) {
  await pool.query('CHECKPOINT', []);
  const rows: string[][] = [];
  for (const concurrency of [1, 16] as const) {
    const level = await verifyLoad(store, concurrency, `scale-${label}`);
    rows.push([
      label,
      String(concurrency),
      level.perSecond.toFixed(0),
      ms(level.p50),
      ms(level.p99),
    ]);
  }
  return rows;
}

/** Calls deleteExpired until it says there is no more; returns the totals and the calls. */
async function drain(store: PostgresStore, now: number) {
  let enrollments = 0;
  let records = 0;
  let calls = 0;
  for (;;) {
    const result = await store.deleteExpired(now);
    enrollments += result.enrollments;
    records += result.records;
    calls++;
    if (!result.more) return { enrollments, records, calls };
  }
}

/** Fills `table` (0.2's schema) with USERS users, in SQL. */
async function fill(pool: pg.Pool, table: string, now: number) {
  const factor = `jsonb_build_object('f' || i, jsonb_build_object('id', 'f' || i,
    'name', 'Authenticator', 'nameKey', 'authenticator',
    'sealedSecret', 'v1.k1.' || md5(i::text) || md5('s' || i) || md5('t' || i),
    'algorithm', 'SHA1', 'digits', '6', 'period', '30', 'lastStep', '56666666', 'drift', '0',
    'createdAt', ($1::bigint - ${90 * DAY})::text, 'activatedAt', ($1::bigint - ${90 * DAY})::text,
    'lastUsedAt', ($1::bigint - ${DAY})::text))`;
  const pending = (expiresAt: string) => `jsonb_build_object('id', 'p' || i, 'name', 'Phone',
    'nameKey', 'phone', 'sealedSecret', 'v1.k1.' || md5('p' || i) || md5('q' || i),
    'algorithm', 'SHA1', 'digits', '6', 'period', '30', 'createdAt', (${expiresAt} - 600000)::text,
    'expiresAt', (${expiresAt})::text, 'replaceFactorId', NULL)`;
  const expired = `($1::bigint - ${2 * DAY})`;
  const binders = `($1::bigint - ${3 * DAY})`;
  const live = `($1::bigint + 300000)`;
  await pool.query(
    `INSERT INTO ${table} (user_id, factors, pending, pending_expires_at, recovery_salt,
       recovery_hashes, otp_failures, otp_blocked_until)
     SELECT 'user-' || i,
       CASE WHEN i % 100 < 95 THEN ${factor} ELSE '{}'::jsonb END,
       CASE WHEN i % 100 IN (5, 96) THEN ${pending(expired)}
         WHEN i % 100 = 95 THEN ${pending(binders)} WHEN i % 100 IN (6, 99) THEN ${pending(live)} END,
       CASE WHEN i % 100 IN (5, 96) THEN ${expired} WHEN i % 100 = 95 THEN ${binders}
         WHEN i % 100 IN (6, 99) THEN ${live} END,
       CASE WHEN i % 100 < 95 THEN 'scrypt$n=16384,r=8,p=1$' || md5('salt' || i) END,
       CASE WHEN i % 100 < 95 THEN ARRAY[md5(i || 'a'), md5(i || 'b'), md5(i || 'c'),
         md5(i || 'd'), md5(i || 'e'), md5(i || 'f'), md5(i || 'g'), md5(i || 'h'),
         md5(i || 'i'), md5(i || 'j')] END,
       CASE WHEN i % 100 IN (97, 98) THEN 10 WHEN i % 100 = 95 THEN 3 ELSE 0 END,
       CASE WHEN i % 100 = 97 THEN $1::bigint - ${9 * DAY}
         WHEN i % 100 = 95 THEN ${binders} WHEN i % 100 = 98 THEN $1::bigint - ${DAY} ELSE 0 END
     FROM generate_series(1, $2::int) AS i`,
    [now, USERS],
  );
  await pool.query(`VACUUM ANALYZE ${table}`, []);
}

export async function benchPostgresScale(): Promise<void> {
  const plan = postgresPlan();
  if (!plan.run) {
    console.log(`\nskipped PostgreSQL at scale: ${plan.reason}`);
    return;
  }
  const run = Date.now().toString(36);
  const server: TestServer = await plan.start();
  const pools: pg.Pool[] = [];
  let bouncer: PgBouncer | undefined;
  try {
    const direct = new pg.Pool({ connectionString: server.url, max: 20 });
    direct.on('error', () => {});
    pools.push(direct);

    // 1. PgBouncer against direct.
    const subjects: { name: string; store: PostgresStore }[] = [];
    const table = `totpkit_scale_${run}`;
    const directStore = new PostgresStore({ client: direct, table });
    await directStore.migrate();
    subjects.push({ name: 'direct (pg.Pool, 20)', store: directStore });
    if (pgbouncerPlanned()) {
      bouncer = await startPgBouncer(server.url, { poolMode: 'transaction', poolSize: 20 });
      const viaBouncer = new pg.Pool({ connectionString: bouncer.url, max: 64 });
      viaBouncer.on('error', () => {});
      pools.push(viaBouncer);
      subjects.push({
        name: 'PgBouncer transaction, pool 20 (pg.Pool, 64)',
        store: new PostgresStore({ client: viaBouncer, table }),
      });
    } else console.log('skipped PgBouncer: /usr/sbin/pgbouncer not found');
    const rows: string[][] = [];
    for (const subject of subjects) {
      for (const concurrency of CONCURRENCY) {
        const level = await verifyLoad(subject.store, concurrency, `${run}-${rows.length}`);
        rows.push([
          subject.name,
          String(concurrency),
          level.perSecond.toFixed(0),
          ms(level.p50),
          ms(level.p99),
        ]);
      }
    }
    console.log(
      `\nPostgresStore verify(), direct and through PgBouncer, ${SECONDS_PER_LEVEL} s per level\n`,
    );
    printTable(['PostgreSQL', 'concurrency', 'verifies/s', 'p50 ms', 'p99 ms'], rows);

    // 2. A million users.
    const big = `totpkit_million_${run}`;
    const ddl = readFileSync(new URL('../test/fixtures/schema-0.2.sql', import.meta.url), 'utf8');
    await direct.query(
      `DO $$ BEGIN ${ddl.replaceAll('__TABLE__', big).replaceAll('__BARE__', big)} END $$`,
      [],
    );
    const now = T0;
    const filled = await timed(() => fill(direct, big, now));
    const { rows: size } = await direct.query(
      `SELECT pg_size_pretty(pg_total_relation_size($1)) AS size`,
      [big],
    );
    const results: string[][] = [];
    const note = (what: string, msValue: number, detail: string) =>
      results.push([
        what,
        msValue < 1000 ? `${ms(msValue)} ms` : `${(msValue / 1000).toFixed(2)} s`,
        detail,
      ]);
    note(
      `fill ${USERS.toLocaleString('en')} users (INSERT … SELECT, VACUUM ANALYZE)`,
      filled.ms,
      String(size[0]?.size),
    );

    // 0.2's deleteExpired. At `quiet` (2.5 days ago) nothing is due but the
    // binders' enrollments, expired 3 days ago and kept with their failures;
    // at `now` there is work to do (rolled back).
    const kept = Math.round(USERS / 100);
    const quiet = now - 2.5 * DAY;
    const medianOf5 = async (work: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) times.push((await timed(work)).ms);
      return times.sort((a, b) => a - b)[2]!;
    };
    note(
      '0.2: deleteExpired, nothing to delete (median of 5)',
      await medianOf5(() => deleteExpired02(direct, big, quiet)),
      `re-reads ${kept} kept enrollments`,
    );
    const client = await direct.connect();
    try {
      await client.query('BEGIN');
      const before = await timed(async () => {
        let total = 0;
        for (let n = -1; n !== 0; total += n) n = await deleteExpired02(client, big, now);
        return total;
      });
      await client.query('ROLLBACK');
      note(
        '0.2: deleteExpired until done, some to delete (rolled back)',
        before.ms,
        `${before.value} enrollments`,
      );
    } finally {
      client.release();
    }

    // The upgrade: migrate() takes the table to 0.3 in place (one rewrite).
    const store = new PostgresStore({ client: direct, table: big });
    const migrated = await timed(() => store.migrate());
    note('migrate(): 0.2 → 0.3 in place', migrated.ms, 'once');
    await direct.query(`VACUUM ANALYZE ${big}`, []);
    note(
      '0.3: deleteExpired, nothing to delete (median of 5)',
      await medianOf5(() => store.deleteExpired(quiet)),
      'reads no row',
    );

    const tx = await direct.connect();
    try {
      await tx.query('BEGIN');
      const inTx = new PostgresStore({ client: tx, table: big });
      const some = await timed(() => drain(inTx, now));
      await tx.query('ROLLBACK');
      note(
        '0.3: deleteExpired until done, some to delete (rolled back)',
        some.ms,
        `${some.value.enrollments} enrollments, ${some.value.records} rows, ${some.value.calls} calls`,
      );
    } finally {
      tx.release();
    }
    const real = await timed(() => drain(store, now));
    note(
      '0.3: the same, committed',
      real.ms,
      `${real.value.enrollments} enrollments, ${real.value.records} rows, ${real.value.calls} calls`,
    );
    await direct.query(`VACUUM ANALYZE ${big}`, []);
    note(
      '0.3: the same, once done (median of 5)',
      await medianOf5(() => store.deleteExpired(now)),
      'three index probes',
    );

    const verified = await verifyRows(direct, store, '0.3, after the upgrade');
    console.log(`\nA table of ${USERS.toLocaleString('en')} users\n`);
    printTable(['step', 'time', ''], results);
    console.log('');
    printTable(
      [
        `verify(), ${USERS.toLocaleString('en')} users`,
        'concurrency',
        'verifies/s',
        'p50 ms',
        'p99 ms',
      ],
      verified,
    );
    if (!server.owned) {
      await direct.query(`DROP TABLE ${big}`, []);
      await direct.query(`DROP TABLE ${table}`, []);
    }
  } finally {
    for (const pool of pools) await pool.end().catch(() => {});
    await bouncer?.stop();
    await server.stop();
  }
}

await benchPostgresScale();
