/**
 * The model-based test (test/helpers/model-run.ts) and the claims oracle
 * (test/helpers/claims-run.ts) against the stores on real servers, each a
 * throwaway one on loopback (or TOTPKIT_PG_URL, TOTPKIT_REDIS_URL,
 * TOTPKIT_MYSQL_URL): PostgresStore through pg.Pool, RedisStore through
 * ioredis, MySQLStore on MariaDB through a mysql2 pool. The unit tier runs
 * both against MemoryStore and PGlite (test/mfa/model.test.ts,
 * test/mfa/claims.test.ts); this file's run counts are smaller, to keep it
 * within about two minutes: TOTPKIT_FUZZ_RUNS, TOTPKIT_FUZZ_SECONDS and
 * TOTPKIT_CLAIMS_SEED work here too.
 *
 * SQLiteStore (`totpkit/sqlite`, branch sqlite) joins here once it is in
 * main: a describe block like MySQL's below, with its Node driver on a file.
 */
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { MySQLStore } from 'totpkit/mysql';
import { PostgresStore } from 'totpkit/postgres';
import { RedisStore } from 'totpkit/redis';
import { describeClaims } from '../helpers/claims-run.ts';
import { databaseURL, mariadbPlan } from '../helpers/mariadb.ts';
import { describeModelTest } from '../helpers/model-run.ts';
import { postgresPlan, redisPlan, type TestServer } from '../helpers/servers.ts';

/**
 * Runs per store: the model test's, and the claims oracle's (of CLAIMS_STEPS
 * steps each). The file took 69 s with these on a 2-core machine under a load
 * of about 17 (the servers' start-up included).
 */
const MODEL_RUNS = 50;
const CLAIMS_RUNS = 10;
const CLAIMS_STEPS = 120;

const run = Math.random().toString(36).slice(2, 8);

const pgPlan = postgresPlan();
describe.skipIf(!pgPlan.run)('PostgreSQL', () => {
  let server: TestServer;
  let pool: pg.Pool;
  let tables = 0;
  const created: string[] = [];
  async function makeStore() {
    const table = `totpkit_model_${run}_${++tables}`;
    created.push(table);
    const store = new PostgresStore({ client: pool, table });
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    if (!pgPlan.run) return;
    server = await pgPlan.start();
    pool = new pg.Pool({ connectionString: server.url, max: 20 });
    pool.on('error', () => {}); // idle clients told of the server's shutdown in afterAll
  });
  afterAll(async () => {
    if (server && !server.owned) {
      for (const table of created) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await pool?.end();
    await server?.stop();
  });

  let shared: Promise<PostgresStore> | undefined;
  describeModelTest([
    { name: 'PostgresStore (pg.Pool)', runs: MODEL_RUNS, make: () => (shared ??= makeStore()) },
  ]);
  describeClaims([
    { name: 'PostgresStore (pg.Pool)', runs: CLAIMS_RUNS, steps: CLAIMS_STEPS, make: makeStore },
  ]);
});

const redis = redisPlan();
describe.skipIf(!redis.run)('Redis', () => {
  let server: TestServer;
  let client: Redis;
  let stores = 0;
  /**
   * The runs' clocks start in 2025 and 2027, and Redis expires a factorless
   * user's throttle hash at those times plus the retention by its own clock:
   * a century keeps every hash for the runs, as neither oracle's runs last
   * long enough for the retention rule.
   */
  const makeStore = async () =>
    new RedisStore({
      client,
      prefix: `totpkit-model:${run}:${++stores}:`,
      throttleRetentionMs: 100 * 365 * 86_400_000,
    });

  beforeAll(async () => {
    if (!redis.run) return;
    server = await redis.start();
    client = new Redis(server.url, { lazyConnect: true });
    await client.connect();
  });
  afterAll(async () => {
    if (server && !server.owned) {
      const keys = await client.keys(`totpkit-model:${run}:*`);
      if (keys.length > 0) await client.del(...keys);
    }
    client?.disconnect();
    await server?.stop();
  });

  let shared: Promise<RedisStore> | undefined;
  describeModelTest([
    { name: 'RedisStore (ioredis)', runs: MODEL_RUNS, make: () => (shared ??= makeStore()) },
  ]);
  describeClaims([
    { name: 'RedisStore (ioredis)', runs: CLAIMS_RUNS, steps: CLAIMS_STEPS, make: makeStore },
  ]);
});

const mariadb = mariadbPlan();
describe.skipIf(!mariadb.run)('MariaDB', () => {
  let server: TestServer;
  let pool: mysql.Pool;
  let tables = 0;
  const created: string[] = [];
  async function makeStore() {
    const table = `totpkit_model_${run}_${++tables}`;
    created.push(table);
    const store = new MySQLStore({ client: pool, table });
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    if (!mariadb.run) return;
    server = await mariadb.start();
    const url = new URL(await databaseURL(server));
    pool = mysql.createPool({ uri: url.toString(), connectionLimit: 20 });
  });
  afterAll(async () => {
    if (server && !server.owned) {
      for (const table of created) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await pool?.end();
    await server?.stop();
  });

  let shared: Promise<MySQLStore> | undefined;
  describeModelTest([
    { name: 'MySQLStore (mysql2 pool)', runs: MODEL_RUNS, make: () => (shared ??= makeStore()) },
  ]);
  describeClaims([
    { name: 'MySQLStore (mysql2 pool)', runs: CLAIMS_RUNS, steps: CLAIMS_STEPS, make: makeStore },
  ]);
});
