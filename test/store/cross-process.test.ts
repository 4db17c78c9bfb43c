// Many server instances, one store: four child processes, each with its own
// connections, race on the same user through PostgreSQL and through Redis
// (two processes on ioredis, two on node-redis, sharing the keys).
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { postgresPlan, redisPlan, type TestServer } from '../helpers/servers.ts';
import { crossProcessCases } from './cross-process-cases.ts';
import { crossProcessRaces } from './cross-process-races.ts';
import { startWorkers, type WorkerSpec, type Workers } from './workers.ts';

const run = Math.random().toString(36).slice(2, 8);

const pgPlan = postgresPlan();
describe.skipIf(!pgPlan.run)('across processes: PostgresStore', () => {
  let server: TestServer;
  let pool: pg.Pool;
  let workers: Workers;
  let store: PostgresStore;
  const table = `totpkit_cross_${run}`;

  beforeAll(async () => {
    if (!pgPlan.run) return;
    server = await pgPlan.start();
    pool = new pg.Pool({ connectionString: server.url });
    pool.on('error', () => {}); // an idle client told of the server's shutdown
    store = new PostgresStore({ client: pool, table });
    await store.migrate();
    const spec: WorkerSpec = { client: 'pg', url: server.url, name: table };
    workers = await startWorkers([spec, spec, spec, spec]);
  });

  afterAll(async () => {
    await workers?.close();
    if (server && !server.owned) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
    await server?.stop();
  });

  crossProcessCases(() => ({ store, workers }), run);
  crossProcessRaces(
    () => ({
      store,
      workers,
      leftovers: async (userIds) => {
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM ${table}
           WHERE user_id = ANY($1) AND erased_until IS NULL`,
          [userIds],
        );
        return (rows[0] as { n: number }).n;
      },
    }),
    run,
  );
});

const redis = redisPlan();
describe.skipIf(!redis.run)('across processes: RedisStore', () => {
  let server: TestServer;
  let client: Redis;
  let workers: Workers;
  let store: RedisStore;
  const prefix = `totpkit-cross:${run}:`;

  beforeAll(async () => {
    if (!redis.run) return;
    server = await redis.start();
    client = new Redis(server.url);
    // A century: the races run in 2023 (see test/fixtures/store-worker.ts).
    store = new RedisStore({ client, prefix, throttleRetentionMs: 100 * 365 * 86_400_000 });
    const io: WorkerSpec = { client: 'ioredis', url: server.url, name: prefix };
    const node: WorkerSpec = { client: 'node-redis', url: server.url, name: prefix };
    workers = await startWorkers([io, node, io, node]);
  });

  afterAll(async () => {
    await workers?.close();
    if (server && !server.owned) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
    }
    client?.disconnect();
    await server?.stop();
  });

  crossProcessCases(() => ({ store, workers }), run);
  crossProcessRaces(
    () => ({
      store,
      workers,
      // Users with a key left beside the erasure guard: a SCAN of each one's hash tag.
      leftovers: async (userIds) => {
        let left = 0;
        for (const userId of userIds) {
          const tag = Buffer.from(userId).toString('base64url');
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await client.scan(
              cursor,
              'MATCH',
              `${prefix}{${tag}}/*`,
              'COUNT',
              1000,
            );
            cursor = next;
            keys.push(...batch.filter((key) => !key.endsWith('/erased')));
          } while (cursor !== '0');
          if (keys.length > 0) left += 1;
        }
        return left;
      },
    }),
    run,
  );
});
