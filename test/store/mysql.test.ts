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

  it('reads a row written before the account document (0.2, 0.3 pre-releases) as null, version 0', async () => {
    const store = await makeStore();
    const table = created[created.length - 1]!;
    const account = {
      generation: 1,
      keepUntil: null,
      codes: [],
      budgets: [],
      sends: [],
      proofs: [],
      devices: [],
    };
    await store.putPending('old', {
      id: 'p1',
      name: 'Phone',
      nameKey: 'phone',
      sealedSecret: 'sealed',
      secretDigest: null,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
      createdAt: 1,
      expiresAt: 600_001,
      replaceFactorId: null,
    });
    // The row as 0.2 wrote it: the same document without the two fields.
    const [rows] = (await pool.query(`SELECT state FROM ${table} WHERE user_id = ?`, [
      Buffer.from('old'),
    ])) as unknown as [Array<{ state: string }>];
    const state = JSON.parse(rows[0]!.state) as { record: Record<string, unknown> };
    delete state.record.account;
    delete state.record.accountVersion;
    await pool.query(`UPDATE ${table} SET state = ? WHERE user_id = ?`, [
      JSON.stringify(state),
      Buffer.from('old'),
    ]);
    const read = await store.getUser('old', 2);
    expect([read?.pending?.id, read?.account, read?.accountVersion]).toEqual(['p1', null, 0]);
    expect(
      await store.activatePending('old', 'p1', {
        lastStep: 1,
        drift: 0,
        now: 2,
        maxFactors: 5,
        recoveryCodes: null,
        account: { version: 0, account },
      }),
    ).toEqual({ ok: true, firstFactor: true, replaced: false });
    const after = await store.getUser('old', 2);
    expect([after?.factors.map((f) => f.id), after?.account, after?.accountVersion]).toEqual([
      ['p1'],
      account,
      1,
    ]);
  });

  it('indexes a row held by its account document by keepUntil, so deleteExpired gets past it', async () => {
    const R = 1_000;
    const store = await makeStore(R);
    const table = created[created.length - 1]!;
    const doc = (keepUntil: number | null) => ({
      generation: 0,
      keepUntil,
      codes: [],
      budgets: [],
      sends: [],
      proofs: [],
      devices: [],
    });
    // Rows that hold nothing but their document, held for ever or until 10_000.
    for (let i = 0; i < 3; i++) {
      await store.updateAccount(`held-${i}`, { version: 0, account: doc(null), now: 0 });
      await store.updateAccount(`until-${i}`, { version: 0, account: doc(10_000), now: 0 });
    }
    // A row whose throttle state stopped mattering at 5_000 + R.
    const policy = { freeAttempts: 0, baseDelayMs: 5_000, maxDelayMs: 5_000, maxFailures: 9 };
    await store.reserveAttempt('idle', { scope: 'otp', now: 0, policy, weight: 1 });
    const [rows] = (await pool.query(
      `SELECT user_id, idle_since FROM ${table} ORDER BY user_id`,
    )) as unknown as [Array<{ user_id: Buffer; idle_since: number | null }>];
    expect(
      rows.map((r) => [r.user_id.toString(), r.idle_since === null ? null : Number(r.idle_since)]),
    ).toEqual([
      ['held-0', null],
      ['held-1', null],
      ['held-2', null],
      ['idle', 5_000],
      ['until-0', 10_000 - R],
      ['until-1', 10_000 - R],
      ['until-2', 10_000 - R],
    ]);
    // With one row per step, the idle row is the first found, and the held ones never are.
    expect(await store.deleteExpired(5_000 + R, { limit: 1 })).toEqual({
      enrollments: 0,
      records: 1,
      more: true,
    });
    expect(await store.getUser('idle', 0)).toBeNull();
    expect(await store.deleteExpired(10_000 - 1, { limit: 1 })).toEqual({
      enrollments: 0,
      records: 0,
      more: false,
    });
    for (let i = 0; i < 3; i++) expect(await store.getUser(`until-${i}`, 0)).not.toBeNull();
    let deleted = 0;
    for (let call = 0; call < 3; call++) {
      deleted += (await store.deleteExpired(10_000, { limit: 1 })).records;
    }
    expect(deleted).toBe(3);
    expect(await store.deleteExpired(20_000)).toEqual({ enrollments: 0, records: 0, more: false });
    for (let i = 0; i < 3; i++)
      expect((await store.getUser(`held-${i}`, 0))?.account).toEqual(doc(null));
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
