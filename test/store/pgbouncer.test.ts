// PostgresStore through PgBouncer (Debian's pgbouncer) in transaction mode,
// pool size 20, in front of a throwaway PostgreSQL: the conformance suite, the
// adapter cases, deleteExpired, and migrate() from many connections at once
// and on a 0.1.0 table. It works because every operation is one statement
// sent as an unnamed prepared statement, and migrate()'s advisory lock is
// transaction-scoped: nothing outlives a transaction on the server connection
// PgBouncer lends. Statement mode works for the same reason; session mode
// trivially. A session-level feature (here, a named prepared statement used
// across transactions) shows what transaction mode breaks.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.ts';
import { testMFAStore } from '../../src/testing.ts';
import { pgbouncerPlanned, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.ts';
import { postgresPlan, type TestServer } from '../helpers/servers.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeAccountCases } from './postgres-account-cases.ts';
import { describeRetentionCases } from './retention-cases.ts';
import { checkUpgraded, seed010 } from './upgrade-0.1.0.ts';
import { checkUpgraded02, checkUpgradedRecords, seed02, seed03dev } from './upgrade-0.2.ts';

const plan = postgresPlan();
const run = plan.run && pgbouncerPlanned();
const id = Math.random().toString(36).slice(2, 8);

describe.skipIf(!run)('PostgresStore through PgBouncer', () => {
  let server: TestServer;
  const bouncers: Partial<Record<'transaction' | 'statement', PgBouncer>> = {};
  const pools: Partial<Record<'transaction' | 'statement', pg.Pool>> = {};
  let tables = 0;

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
    for (const poolMode of ['transaction', 'statement'] as const) {
      const bouncer = await startPgBouncer(server.url, { poolMode, poolSize: 20 });
      bouncers[poolMode] = bouncer;
      // More clients than server connections, so that PgBouncer multiplexes.
      const pool = new pg.Pool({ connectionString: bouncer.url, max: 40 });
      pool.on('error', () => {});
      pools[poolMode] = pool;
    }
  }, 60_000);

  afterAll(async () => {
    for (const pool of Object.values(pools)) await pool.end();
    for (const bouncer of Object.values(bouncers)) await bouncer.stop();
    await server?.stop();
  });

  async function makeStore(mode: 'transaction' | 'statement' = 'transaction') {
    const store = new PostgresStore({ client: pools[mode]!, table: `bouncer_${id}_${++tables}` });
    await store.migrate();
    return store;
  }

  describe('transaction mode, pool size 20', () => {
    let shared: Promise<PostgresStore> | undefined;
    testMFAStore('PostgresStore (PgBouncer, transaction mode)', () => (shared ??= makeStore()));
    describeAdapterCases('PostgresStore (PgBouncer, transaction mode)', () => makeStore());
    describeRetentionCases('PostgresStore (PgBouncer, transaction mode)', async (retention) => {
      const table = `bouncer_${id}_${++tables}`;
      const client = pools.transaction!;
      const store =
        retention === undefined
          ? new PostgresStore({ client, table })
          : new PostgresStore({ client, table, throttleRetentionMs: retention });
      await store.migrate();
      return store;
    });
    describeAccountCases('PostgresStore (PgBouncer, transaction mode)', async (retention) => {
      const table = `bouncer_${id}_${++tables}`;
      const client = pools.transaction!;
      const store =
        retention === undefined
          ? new PostgresStore({ client, table })
          : new PostgresStore({ client, table, throttleRetentionMs: retention });
      await store.migrate();
      return store;
    });

    it('migrates from 30 connections at once (more than the pool), once', async () => {
      const table = `bouncer_${id}_concurrent`;
      const clients = await Promise.all(
        Array.from({ length: 30 }, async () => {
          const client = new pg.Client({ connectionString: bouncers.transaction!.url });
          await client.connect();
          return client;
        }),
      );
      try {
        await Promise.all(clients.map((client) => new PostgresStore({ client, table }).migrate()));
        const { rows } = await pools.transaction!.query(
          `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = $1`,
          [table],
        );
        expect(rows).toEqual([{ n: 5 }]);
      } finally {
        await Promise.all(clients.map((client) => client.end()));
      }
    });

    it('upgrades a 0.1.0 table in place, 4 migrate() calls at once', async () => {
      const table = `bouncer_${id}_legacy`;
      await seed010(pools.transaction!, table);
      const stores = Array.from(
        { length: 4 },
        () => new PostgresStore({ client: pools.transaction!, table }),
      );
      await Promise.all(stores.map((store) => store.migrate()));
      await checkUpgraded(stores[0]!);
    });

    it('upgrades a 0.3-dev table in place, 4 migrate() calls at once', async () => {
      const table = `bouncer_${id}_from03dev`;
      await seed03dev(pools.transaction!, table);
      const stores = Array.from(
        { length: 4 },
        () => new PostgresStore({ client: pools.transaction!, table }),
      );
      await Promise.all(stores.map((store) => store.migrate()));
      await checkUpgradedRecords(stores[0]!);
    });

    it('upgrades a 0.2 table in place, 4 migrate() calls at once', async () => {
      const table = `bouncer_${id}_from02`;
      await seed02(pools.transaction!, table);
      const stores = Array.from(
        { length: 4 },
        () => new PostgresStore({ client: pools.transaction!, table }),
      );
      await Promise.all(stores.map((store) => store.migrate()));
      await checkUpgraded02(stores[0]!);
    });

    it('breaks what outlives a transaction: a named prepared statement (the store uses none)', async () => {
      // Two clients keep two server connections busy in turn; a name prepared
      // on one is unknown on the other. This is why the store never names one.
      const clients = await Promise.all(
        Array.from({ length: 25 }, async () => {
          const client = new pg.Client({ connectionString: bouncers.transaction!.url });
          await client.connect();
          return client;
        }),
      );
      try {
        const results = await Promise.allSettled(
          clients.map(async (client, i) => {
            for (let j = 0; j < 5; j++) {
              await client.query({ name: `stmt_${i}`, text: 'SELECT $1::int AS n', values: [j] });
            }
          }),
        );
        expect(results.some((result) => result.status === 'rejected')).toBe(true);
      } finally {
        await Promise.all(clients.map((client) => client.end().catch(() => {})));
      }
    });
  });

  describe('statement mode', () => {
    let shared: Promise<PostgresStore> | undefined;
    testMFAStore(
      'PostgresStore (PgBouncer, statement mode)',
      () => (shared ??= makeStore('statement')),
    );

    it('refuses a multi-statement transaction, which the store never opens', async () => {
      const client = await pools.statement!.connect();
      try {
        await expect(client.query('BEGIN')).rejects.toThrow(
          /transaction blocks not allowed in statement pooling mode/,
        );
      } finally {
        client.release(true);
      }
    });
  });
});
