// MySQLStore on a real MariaDB server (a throwaway one on loopback, from
// Debian's mariadb-server, or TOTPKIT_MYSQL_URL), through a mysql2 pool.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySQLStore } from '../../src/store/mysql.ts';
import { testMFAStore } from '../../src/testing.ts';
import { databaseURL, mariadbPlan } from '../helpers/mariadb.ts';
import type { TestServer } from '../helpers/servers.ts';
import { startTCPProxy, type TCPProxy } from '../helpers/tcp-proxy.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { faultCases, restartCase, type FaultTarget } from './faults.ts';
import { describeRetentionCases } from './retention-cases.ts';

const plan = mariadbPlan();
const external = Boolean(process.env.TOTPKIT_MYSQL_URL);
if (external) console.warn('TOTPKIT_MYSQL_URL is set: the server restart case is left out');
const run = Math.random().toString(36).slice(2, 8);

describe.skipIf(!plan.run)('MySQLStore on MariaDB', () => {
  let server: TestServer;
  let pool: mysql.Pool;
  let tables = 0;
  const created: string[] = [];

  function tableName() {
    const table = `totpkit_test_${run}_${++tables}`;
    created.push(table);
    return table;
  }

  async function makeStore(throttleRetentionMs?: number) {
    const table = tableName();
    const store =
      throttleRetentionMs === undefined
        ? new MySQLStore({ client: pool, table })
        : new MySQLStore({ client: pool, table, throttleRetentionMs });
    await store.migrate();
    return store;
  }

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
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
  testMFAStore('MySQLStore (mysql2 pool)', () => (shared ??= makeStore()));
  describeAdapterCases('MySQLStore (mysql2 pool)', () => makeStore());
  describeRetentionCases('MySQLStore (mysql2 pool)', makeStore);

  it('migrates from several connections at once, under its named lock', async () => {
    const table = tableName();
    const stores = Array.from({ length: 8 }, () => new MySQLStore({ client: pool, table }));
    await Promise.all(stores.map((store) => store.migrate()));
    await stores[0]!.migrate();
    const [rows] = await pool.query(`SELECT count(*) AS n FROM ${table}`);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('keeps ids that differ only in trailing spaces or case apart', async () => {
    const store = await makeStore();
    const policy = { freeAttempts: 9, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 9 };
    await store.reserveAttempt('alice', { scope: 'otp', now: 0, policy, weight: 1 });
    for (const id of ['alice ', 'Alice', 'alice\u00a0']) {
      expect(await store.getUser(id, 0)).toBeNull();
    }
    expect((await store.getUser('alice', 0))?.throttle.otp.failures).toBe(1);
  });

  it('finds the rows of deleteExpired through its indexes (EXPLAIN names the key)', async () => {
    const table = tableName();
    await new MySQLStore({ client: pool, table }).migrate();
    for (const column of ['pending_due', 'idle_since', 'guard_until']) {
      const [plan] = (await pool.query(
        `EXPLAIN SELECT user_id FROM ${table} WHERE ${column} <= ? ORDER BY ${column} LIMIT 10`,
        [1],
      )) as unknown as [Array<{ key: string | null; type: string }>];
      expect(plan[0]?.key).toBe(`${table}_${column}`);
    }
  });

  it('refuses a client that is not a pool, naming the option', () => {
    expect(() => new MySQLStore({ client: {} as never })).toThrow(/"client" must be a mysql2/);
    expect(() => new MySQLStore({ client: pool, table: 'Bad-Name' })).toThrow(RangeError);
  });

  describe('faults', () => {
    let proxy: TCPProxy;
    let proxiedPool: mysql.Pool;
    let target: FaultTarget;

    beforeAll(async () => {
      const url = new URL(server.url);
      proxy = await startTCPProxy(url.hostname, Number(url.port));
      url.port = String(proxy.port);
      url.pathname = '/totpkit_test';
      proxiedPool = mysql.createPool({ uri: url.toString(), connectionLimit: 10 });
      const direct = await makeStore();
      const table = created[created.length - 1]!;
      target = { proxied: new MySQLStore({ client: proxiedPool, table }), proxy, direct };
    });

    afterAll(async () => {
      await proxiedPool?.end().catch(() => {});
      await proxy?.close();
    });

    faultCases(() => target);
    // Last in the file: it kills the server the other tests use.
    describe.skipIf(external)('restart', () => {
      restartCase(() => ({ ...target, server }));
    });
  });
});
