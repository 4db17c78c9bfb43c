// Many server instances, one MySQLStore: four child processes, each with its
// own mysql2 pool, race on the same user through one MariaDB table.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe } from 'vitest';
import { MySQLStore } from '../../src/store/mysql.ts';
import { databaseURL, mariadbPlan } from '../helpers/mariadb.ts';
import type { TestServer } from '../helpers/servers.ts';
import { accountRaces } from './cross-process-account.ts';
import { crossProcessCases } from './cross-process-cases.ts';
import { crossProcessRaces } from './cross-process-races.ts';
import { startWorkers, type WorkerSpec, type Workers } from './workers.ts';

const run = Math.random().toString(36).slice(2, 8);
const plan = mariadbPlan();

describe.skipIf(!plan.run)('across processes: MySQLStore on MariaDB', () => {
  let server: TestServer;
  let pool: mysql.Pool;
  let workers: Workers;
  let store: MySQLStore;
  const table = `totpkit_cross_${run}`;

  beforeAll(async () => {
    if (!plan.run) return;
    server = await plan.start();
    const url = new URL(await databaseURL(server));
    pool = mysql.createPool({ uri: url.toString(), connectionLimit: 10 });
    store = new MySQLStore({ client: pool, table });
    await store.migrate();
    const spec: WorkerSpec = { client: 'mysql', url: url.toString(), name: table };
    workers = await startWorkers([spec, spec, spec, spec]);
  });

  afterAll(async () => {
    await workers?.close();
    if (server && !server.owned) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
    await server?.stop();
  });

  crossProcessCases(() => ({ store, workers }), run);
  accountRaces(() => ({ store, workers }), `mysql-${run}`);
  crossProcessRaces(
    () => ({
      store,
      workers,
      // Rows holding anything but an erasure guard, read with SQL of our own.
      leftovers: async (userIds) => {
        const [rows] = await pool.query(
          `SELECT count(*) AS n FROM ${table}
           WHERE user_id IN (?) AND state NOT LIKE '{"record":null,%'`,
          [userIds.map((id) => Buffer.from(id, 'utf8'))],
        );
        return Number((rows as { n: number }[])[0]!.n);
      },
    }),
    run,
  );
});
