// PostgresStore on a real PostgreSQL server (a throwaway one on loopback, or
// TOTPKIT_PG_URL), through pg.Pool and pg.Client.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.ts';
import { testMFAStore } from '../../src/testing.ts';
import { postgresPlan, type TestServer } from '../helpers/servers.ts';
import { startTCPProxy, type TCPProxy } from '../helpers/tcp-proxy.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeAccountCases } from './postgres-account-cases.ts';
import { faultCases, restartCase, type FaultTarget } from './faults.ts';
import { describePostgresCleanup } from './postgres-cleanup-cases.ts';
import { describeRetentionCases } from './retention-cases.ts';
import { checkUpgraded, seed010 } from './upgrade-0.1.0.ts';
import { checkUpgraded02, checkUpgradedRecords, seed02, seed03dev } from './upgrade-0.2.ts';

const plan = postgresPlan();
const external = Boolean(process.env.TOTPKIT_PG_URL);
if (external) console.warn('TOTPKIT_PG_URL is set: the server restart case is left out');
const run = Math.random().toString(36).slice(2, 8);

describe.skipIf(!plan.run)('PostgresStore on PostgreSQL', () => {
  let server: TestServer;
  let pool: pg.Pool;
  let tables = 0;
  const created: string[] = [];

  async function makeStore() {
    const table = `totpkit_test_${run}_${++tables}`;
    created.push(table);
    const store = new PostgresStore({ client: pool, table });
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
    pool = new pg.Pool({ connectionString: server.url, max: 20 });
    pool.on('error', () => {}); // idle clients cut by a server restart
  });

  afterAll(async () => {
    if (!server.owned) {
      for (const table of created) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await pool?.end();
    await server?.stop();
  });

  let shared: Promise<PostgresStore> | undefined;
  testMFAStore('PostgresStore (pg.Pool)', () => (shared ??= makeStore()));
  describeAdapterCases('PostgresStore (pg.Pool)', makeStore);
  describeAccountCases('PostgresStore (pg.Pool)', async (throttleRetentionMs) => {
    const table = `totpkit_test_${run}_${++tables}`;
    created.push(table);
    const store =
      throttleRetentionMs === undefined
        ? new PostgresStore({ client: pool, table })
        : new PostgresStore({ client: pool, table, throttleRetentionMs });
    await store.migrate();
    return store;
  });
  describeRetentionCases('PostgresStore (pg.Pool)', async (throttleRetentionMs) => {
    const table = `totpkit_test_${run}_${++tables}`;
    created.push(table);
    const store =
      throttleRetentionMs === undefined
        ? new PostgresStore({ client: pool, table })
        : new PostgresStore({ client: pool, table, throttleRetentionMs });
    await store.migrate();
    return store;
  });
  describePostgresCleanup(
    'PostgresStore (pg.Pool)',
    () => pool,
    () => {
      const table = `totpkit_test_${run}_${++tables}`;
      created.push(table);
      return table;
    },
  );

  it('migrates from several connections at once', async () => {
    const table = `totpkit_test_${run}_concurrent`;
    created.push(table);
    const stores = Array.from({ length: 8 }, () => new PostgresStore({ client: pool, table }));
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${table}`);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('upgrades a 0.1.0 table holding data in place, with 4 processes calling migrate() at once', async () => {
    const table = `totpkit_test_${run}_legacy`;
    created.push(table);
    await seed010(pool, table);
    const worker = fileURLToPath(new URL('../fixtures/migrate-worker.ts', import.meta.url));
    const startAt = Date.now() + 1500; // after all four have connected
    const times = await Promise.all(
      Array.from({ length: 4 }, () =>
        promisify(execFile)(process.execPath, [
          '--import',
          'tsx',
          worker,
          server.url,
          table,
          String(startAt),
        ]),
      ),
    );
    const ms = times.map(({ stdout }) => Number(stdout.trim()));
    expect(ms.every((t) => t >= 0)).toBe(true);
    console.log(`0.1.0 upgrade, 4 processes: migrate() took ${ms.join(', ')} ms`);
    await checkUpgraded(new PostgresStore({ client: pool, table }));
  }, 60_000);

  it('upgrades a 0.2 table holding data in place, with 4 processes calling migrate() at once', async () => {
    const table = `totpkit_test_${run}_from02`;
    created.push(table);
    await seed02(pool, table);
    const worker = fileURLToPath(new URL('../fixtures/migrate-worker.ts', import.meta.url));
    const startAt = Date.now() + 1500; // after all four have connected
    await Promise.all(
      Array.from({ length: 4 }, () =>
        promisify(execFile)(process.execPath, [
          '--import',
          'tsx',
          worker,
          server.url,
          table,
          String(startAt),
        ]),
      ),
    );
    await checkUpgraded02(new PostgresStore({ client: pool, table }));
  }, 60_000);

  it('upgrades a 0.3-dev table (before the account document) in place, with 4 processes calling migrate() at once', async () => {
    const table = `totpkit_test_${run}_from03dev`;
    created.push(table);
    await seed03dev(pool, table);
    const worker = fileURLToPath(new URL('../fixtures/migrate-worker.ts', import.meta.url));
    const startAt = Date.now() + 1500; // after all four have connected
    await Promise.all(
      Array.from({ length: 4 }, () =>
        promisify(execFile)(process.execPath, [
          '--import',
          'tsx',
          worker,
          server.url,
          table,
          String(startAt),
        ]),
      ),
    );
    await checkUpgradedRecords(new PostgresStore({ client: pool, table }));
  }, 60_000);

  it('works through a single pg.Client', async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const table = `totpkit_test_${run}_client`;
      created.push(table);
      const store = new PostgresStore({ client, table });
      await store.migrate();
      const policy = { freeAttempts: 3, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 3 };
      const all = [];
      for (let i = 0; i < 5; i++)
        all.push(await store.reserveAttempt('u', { scope: 'otp', now: 0, policy, weight: 1 }));
      expect(all.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    } finally {
      await client.end();
    }
  });

  describe('faults', () => {
    let proxy: TCPProxy;
    let proxiedPool: pg.Pool;
    let target: FaultTarget;

    beforeAll(async () => {
      const url = new URL(server.url);
      proxy = await startTCPProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      proxiedPool = new pg.Pool({ connectionString: url.toString(), max: 10 });
      proxiedPool.on('error', () => {}); // idle clients cut by the proxy
      const direct = await makeStore();
      const table = `totpkit_test_${run}_${tables}`; // the one makeStore just created
      target = { proxied: new PostgresStore({ client: proxiedPool, table }), proxy, direct };
    });

    afterAll(async () => {
      await proxiedPool?.end();
      await proxy?.close();
    });

    faultCases(() => target);
    // Last in the file: it kills the server the other tests use.
    describe.skipIf(external)('restart', () => {
      restartCase(() => ({ ...target, server }));
    });
  });
});
