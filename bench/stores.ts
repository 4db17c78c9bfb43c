// npm run bench:stores — the service's verify() over each store: verifies per
// second and latency at concurrency 1, 16 and 64, and how many store round
// trips one successful and one failed verify cost (counted by wrapping the
// database client; the target is at most 2), with the store's readAndReserve
// and, for comparison, without it (the path of an adapter that lacks it).
//
// PostgreSQL and Redis are the throwaway loopback servers of the tests, or
// TOTPKIT_PG_URL / TOTPKIT_REDIS_URL. SQLite is a WAL file through
// better-sqlite3, and D1 is Miniflare's (Node → workerd → D1 per round trip,
// so its latencies are the local simulator's, not Cloudflare's).
// TOTPKIT_BENCH_ONLY=sqlite,d1 measures only the stores whose names contain
// one of those words (case-insensitive), and skips the cluster and scale parts. Each worker has its own user and its own
// clock, which moves one step (30 s) per verify, so every verify is a success
// that records a new step: the write path, not a cached rejection.
//
// A second table compares a user with 1 active factor and one with 5 (4 of
// them imported), concurrency 1: a right code (the last factor's, so every
// other factor is tried first) and a wrong one (matching no factor), each
// timed for SECONDS_PER_LEVEL / 2 and counted in round trips. A third table
// gives sendVerificationCode and checkVerificationCode per store
// (bench/stores-verification.ts).
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { Miniflare } from 'miniflare';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createClient } from 'redis';
import mysql from 'mysql2/promise';
import { generateTOTP, MemoryStore } from '../src/index.ts';
import { MySQLStore, type MySQLPool } from '../src/store/mysql.ts';
import { PostgresStore, type PostgresQueryClient } from '../src/store/postgres.ts';
import { RedisStore, type RedisScriptClient } from '../src/store/redis.ts';
import {
  betterSqlite3Driver,
  d1Driver,
  SQLiteStore,
  type D1DatabaseLike,
  type SQLiteDriver,
} from '../src/store/sqlite.ts';
import type { MFAStore } from '../src/store/contract.ts';
import { REQUIRED_STORE_METHODS } from '../src/store/throttle.ts';
import { withoutReadAndReserve } from '../test/helpers/mfa.ts';
import { databaseURL, mariadbPlan } from '../test/helpers/mariadb.ts';
import { postgresPlan, redisPlan, type TestServer } from '../test/helpers/servers.ts';
import { enroll, OPEN_THROTTLE, T0, testMFA } from '../test/store/mfa-setup.ts';
import { percentile, SECONDS_PER_LEVEL, verifyLoad } from './_verify-load.ts';
import { benchCluster } from './stores-cluster.ts';
import { verificationCost } from './stores-verification.ts';

const CONCURRENCY = [1, 16, 64] as const;

const ONLY = (process.env.TOTPKIT_BENCH_ONLY ?? '')
  .split(',')
  .map((word) => word.trim().toLowerCase())
  .filter((word) => word !== '');

/** Whether to measure the store `name` (all of them unless TOTPKIT_BENCH_ONLY is set). */
function wanted(name: string): boolean {
  return ONLY.length === 0 || ONLY.some((word) => name.toLowerCase().includes(word));
}

/** A store under test, with a count of the round trips its client made. */
interface Subject {
  name: string;
  store: MFAStore;
  /** Round trips so far (for MemoryStore: store calls, which cost none). */
  trips: () => number;
}

/** Counts every method call on `target` whose name is in `methods`. */
function counted<T extends object>(
  target: T,
  methods: string[],
): { proxy: T; count: () => number } {
  let calls = 0;
  const proxy = new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      if (!methods.includes(String(property))) return value.bind(object);
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return { proxy, count: () => calls };
}

/**
 * Counts the round trips through a MySQL pool: each statement, and each
 * BEGIN, COMMIT or ROLLBACK of a transaction on one of its connections.
 */
function countedPool(pool: MySQLPool): { proxy: MySQLPool; count: () => number } {
  let trips = 0;
  const onConnection = ['query', 'beginTransaction', 'commit', 'rollback'];
  const proxy: MySQLPool = {
    query: (sql, values) => (trips++, pool.query(sql, values)),
    async getConnection() {
      const connection = await pool.getConnection();
      return new Proxy(connection, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (!onConnection.includes(String(property))) return value.bind(target);
          return (...args: unknown[]) => {
            trips++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
  };
  return { proxy, count: () => trips };
}

const STORE_METHODS = [...REQUIRED_STORE_METHODS, 'readAndReserve'];

interface LevelResult {
  concurrency: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function measure(subject: Subject, concurrency: number, run: string): Promise<LevelResult> {
  return {
    concurrency,
    ...(await verifyLoad(subject.store, concurrency, `${subject.name}-${run}`)),
  };
}

/**
 * Round trips of one successful verify and one failed one (a wrong code), in
 * the steady state: after a first pair has loaded Redis's scripts (a one-time
 * EVALSHA → NOSCRIPT → EVAL per script and server).
 */
async function roundTrips(
  subject: Subject,
  store: MFAStore,
  userId: string,
): Promise<{ success: number; failure: number }> {
  const { mfa, clock } = testMFA(store, { throttle: OPEN_THROTTLE });
  const { secret } = await enroll(mfa, clock, userId, T0);
  let counts = { success: 0, failure: 0 };
  for (let pass = 0; pass < 2; pass++) {
    clock.now += 30_000;
    const code = generateTOTP(secret, { now: clock.now });
    let before = subject.trips();
    if (!(await mfa.verify(userId, code)).ok) throw new Error('verify failed');
    const success = subject.trips() - before;
    clock.now += 30_000;
    const wrong = code === '000000' ? '111111' : '000000';
    before = subject.trips();
    if ((await mfa.verify(userId, wrong)).ok) throw new Error('a wrong code was accepted');
    counts = { success, failure: subject.trips() - before };
  }
  return counts;
}

/** A code that none of `secrets` gives within two steps of `now`. */
function wrongCode(secrets: Uint8Array[], now: number): string {
  const near = new Set(
    secrets.flatMap((secret) =>
      [-2, -1, 0, 1, 2].map((k) => generateTOTP(secret, { now: now + k * 30_000 })),
    ),
  );
  return ['000000', '111111', '222222', '333333'].find((code) => !near.has(code))!;
}

interface FactorResult {
  factors: number;
  right: { p50: number; p99: number; trips: number };
  wrong: { p50: number; p99: number; trips: number };
}

/**
 * verify() of a right and of a wrong code for a user with `factors` active
 * factors: the first enrolled, the others imported (distinct 20-byte secrets).
 */
async function factorCost(
  subject: Subject,
  factors: number,
  userId: string,
): Promise<FactorResult> {
  const { mfa, clock } = testMFA(subject.store, { throttle: OPEN_THROTTLE, maxFactors: factors });
  const secrets = [(await enroll(mfa, clock, userId, T0)).secret];
  for (let i = 1; i < factors; i++) {
    const secret = new Uint8Array(20).fill(i + 1);
    // lastStep -1: the bench verifies codes from the next step on.
    const imported = await mfa.importFactor(userId, {
      secret,
      name: `Imported ${i}`,
      lastStep: -1,
    });
    if (!imported.ok) throw new Error(`importFactor failed: ${imported.reason}`);
    secrets.push(secret);
  }
  const last = secrets[secrets.length - 1]!;
  const time = async (right: boolean) => {
    const latencies: number[] = [];
    let trips = 0;
    const deadline = performance.now() + (SECONDS_PER_LEVEL * 1000) / 2;
    while (performance.now() < deadline || latencies.length < 3) {
      clock.now += 30_000;
      const code = right ? generateTOTP(last, { now: clock.now }) : wrongCode(secrets, clock.now);
      const before = subject.trips();
      const t = performance.now();
      const result = await mfa.verify(userId, code);
      latencies.push(performance.now() - t);
      trips = subject.trips() - before;
      if (right ? !result.ok : result.ok || result.reason !== 'mismatch') {
        throw new Error(`${subject.name}: verify gave ${JSON.stringify(result)}`);
      }
      // Untimed: keeps the wrong codes below the lock, so each is a real check.
      if (!right) await subject.store.resetThrottle(userId, 'otp');
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), trips };
  };
  const right = await time(true); // the first calls also load Redis's scripts
  const wrong = await time(false);
  return { factors, right, wrong };
}

/** Prints a Markdown table, the first column left-aligned. */
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

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

async function main() {
  const cleanup: (() => Promise<unknown>)[] = [];
  const subjects: Subject[] = [];
  const skipped: string[] = [];
  const run = Date.now().toString(36);

  const memory = counted(new MemoryStore(), STORE_METHODS);
  if (wanted('MemoryStore')) {
    subjects.push({ name: 'MemoryStore', store: memory.proxy, trips: memory.count });
  }

  if (wanted('PostgresStore (PGlite)')) {
    const lite = new PGlite();
    cleanup.push(() => lite.close());
    // Writes go through exec() (the simple protocol: see src/store/postgres/statement.ts).
    const liteClient = counted<PostgresQueryClient>(lite, ['query', 'exec']);
    const liteStore = new PostgresStore({ client: liteClient.proxy, table: 'bench' });
    await liteStore.migrate();
    subjects.push({ name: 'PostgresStore (PGlite)', store: liteStore, trips: liteClient.count });
  }

  if (wanted('SQLiteStore (better-sqlite3, WAL file)')) {
    const dir = mkdtempSync(join(tmpdir(), 'totpkit-bench-sqlite-'));
    const db = new Database(join(dir, 'bench.db'));
    cleanup.push(async () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const driver = counted<SQLiteDriver>(betterSqlite3Driver(db), ['run', 'transaction']);
    const store = new SQLiteStore({ driver: driver.proxy, table: 'bench' });
    await store.migrate();
    subjects.push({
      name: 'SQLiteStore (better-sqlite3, WAL file)',
      store,
      trips: driver.count,
    });
  }

  if (wanted('SQLiteStore (D1, Miniflare)')) {
    const mf = new Miniflare({
      modules: true,
      script: 'export default { fetch: () => new Response(null) }',
      compatibilityDate: '2026-04-01',
      d1Databases: ['DB'],
    });
    cleanup.push(() => mf.dispose());
    const binding = (await mf.getD1Database('DB')) as unknown as D1DatabaseLike;
    const driver = counted<SQLiteDriver>(d1Driver(binding), ['run', 'transaction']);
    const store = new SQLiteStore({ driver: driver.proxy, table: 'bench' });
    await store.migrate();
    subjects.push({ name: 'SQLiteStore (D1, Miniflare)', store, trips: driver.count });
  }

  const servers: TestServer[] = [];
  const pgPlan = postgresPlan();
  if (!wanted('PostgresStore (pg.Pool, 20)')) {
    // not measured
  } else if (pgPlan.run) {
    const server = await pgPlan.start();
    servers.push(server);
    const pool = new pg.Pool({ connectionString: server.url, max: 20 });
    pool.on('error', () => {}); // an idle client told of the server's shutdown
    cleanup.push(() => pool.end());
    const client = counted<PostgresQueryClient>(pool, ['query']);
    const store = new PostgresStore({ client: client.proxy, table: `totpkit_bench_${run}` });
    await store.migrate();
    if (!server.owned) cleanup.push(() => pool.query(`DROP TABLE totpkit_bench_${run}`));
    subjects.push({ name: 'PostgresStore (pg.Pool, 20)', store, trips: client.count });
  } else skipped.push(`PostgreSQL: ${pgPlan.reason}`);

  const redis = redisPlan();
  if (!wanted('RedisStore (ioredis)') && !wanted('RedisStore (node-redis)')) {
    // not measured
  } else if (redis.run) {
    const server = await redis.start();
    servers.push(server);
    const ioredis = new Redis(server.url);
    cleanup.push(async () => ioredis.disconnect());
    const io = counted<RedisScriptClient>(ioredis, ['evalsha', 'eval']);
    const prefix = `totpkit-bench:${run}:`;
    subjects.push({
      name: 'RedisStore (ioredis)',
      store: new RedisStore({ client: io.proxy, prefix: `${prefix}io:` }),
      trips: io.count,
    });
    const nodeRedis = createClient({ url: server.url });
    await nodeRedis.connect();
    cleanup.push(() => nodeRedis.close());
    const node = counted<RedisScriptClient>(nodeRedis, ['evalSha', 'eval']);
    subjects.push({
      name: 'RedisStore (node-redis)',
      store: new RedisStore({ client: node.proxy, prefix: `${prefix}node:` }),
      trips: node.count,
    });
    if (!server.owned) {
      cleanup.push(async () => {
        const keys = await ioredis.keys(`${prefix}*`);
        if (keys.length > 0) await ioredis.del(...keys);
      });
    }
  } else skipped.push(`Redis: ${redis.reason}`);

  const maria = mariadbPlan();
  if (!wanted('MySQLStore (MariaDB, mysql2 pool, 20)')) {
    // not measured
  } else if (maria.run) {
    const server = await maria.start();
    servers.push(server);
    const url = new URL(await databaseURL(server, 'totpkit_bench'));
    const pool = mysql.createPool({ uri: url.toString(), connectionLimit: 20 });
    cleanup.push(() => pool.end());
    const client = countedPool(pool as unknown as MySQLPool);
    const store = new MySQLStore({ client: client.proxy, table: `totpkit_bench_${run}` });
    await store.migrate();
    if (!server.owned) cleanup.push(() => pool.query(`DROP TABLE totpkit_bench_${run}`));
    subjects.push({ name: 'MySQLStore (MariaDB, mysql2 pool, 20)', store, trips: client.count });
  } else skipped.push(`MariaDB: ${maria.reason}`);

  try {
    console.log(
      `verify() with AES-GCM sealed secrets, ${SECONDS_PER_LEVEL} s per level, ` +
        `Node ${process.version}, loopback servers\n`,
    );
    const rows: string[][] = [];
    for (const subject of subjects) {
      const trips = await roundTrips(subject, subject.store, `bench-trips-${run}`);
      const without = await roundTrips(
        subject,
        withoutReadAndReserve(subject.store),
        `bench-trips-without-${run}`,
      );
      for (const concurrency of CONCURRENCY) {
        const level = await measure(subject, concurrency, run);
        rows.push([
          subject.name,
          String(concurrency),
          level.perSecond.toFixed(0),
          ms(level.p50),
          ms(level.p99),
          concurrency === 1 ? `${trips.success} / ${trips.failure}` : '',
          concurrency === 1 ? `${without.success} / ${without.failure}` : '',
        ]);
      }
    }
    const header = [
      'store',
      'concurrency',
      'verifies/s',
      'p50 ms',
      'p99 ms',
      'trips ok / fail',
      'without readAndReserve',
    ];
    printTable(header, rows);
    console.log(
      '\ntrips: store round trips of one successful and one failed verify ' +
        '(MemoryStore: store calls). Target: at most 2. Without readAndReserve: the same ' +
        'store with the optional method hidden, as an adapter without it.',
    );
    const factorRows: string[][] = [];
    for (const subject of subjects) {
      for (const factors of [1, 5]) {
        const cost = await factorCost(subject, factors, `bench-factors-${factors}-${run}`);
        factorRows.push([
          subject.name,
          String(factors),
          ms(cost.right.p50),
          ms(cost.right.p99),
          ms(cost.wrong.p50),
          ms(cost.wrong.p99),
          `${cost.right.trips} / ${cost.wrong.trips}`,
        ]);
      }
    }
    console.log('\nverify() of a right and of a wrong code, by active factors, concurrency 1\n');
    printTable(
      [
        'store',
        'factors',
        'right p50 ms',
        'right p99 ms',
        'wrong p50 ms',
        'wrong p99 ms',
        'trips right / wrong',
      ],
      factorRows,
    );
    const verificationRows: string[][] = [];
    for (const subject of subjects) {
      const cost = await verificationCost(subject.store, subject.trips, `bench-codes-${run}`);
      verificationRows.push([
        subject.name,
        ms(cost.send.p50),
        ms(cost.send.p99),
        ms(cost.wrong.p50),
        ms(cost.wrong.p99),
        ms(cost.right.p50),
        ms(cost.right.p99),
        `${cost.send.trips} / ${cost.wrong.trips} / ${cost.right.trips}`,
      ]);
    }
    console.log(
      '\nsendVerificationCode and checkVerificationCode (a wrong code, then the right one), ' +
        'concurrency 1 (bench/stores-verification.ts)\n',
    );
    printTable(
      [
        'store',
        'send p50 ms',
        'send p99 ms',
        'check wrong p50 ms',
        'check wrong p99 ms',
        'check right p50 ms',
        'check right p99 ms',
        'trips send / wrong / right',
      ],
      verificationRows,
    );
    for (const reason of skipped) console.log(`skipped ${reason}`);
  } finally {
    for (const step of cleanup) await step().catch(() => {});
    for (const server of servers) await server.stop();
  }
}

await main();
if (ONLY.length === 0) {
  await benchCluster();
  await import('./stores-postgres-scale.ts'); // PostgreSQL behind PgBouncer, and a million users
}
