// Many server instances, one store: four child processes, each with its own
// connections, race on the same user through PostgreSQL, through Redis
// (two processes on ioredis, two on node-redis, sharing the keys), and on
// one SQLite file (two processes on better-sqlite3 under Node, two on
// bun:sqlite under Bun).
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres.ts';
import { RedisStore } from '../../src/store/redis.ts';
import { betterSqlite3Driver, SQLiteStore } from '../../src/store/sqlite.ts';
import { mayRun } from '../helpers/integration.ts';
import { postgresPlan, redisPlan, type TestServer } from '../helpers/servers.ts';
import { accountRaces } from './cross-process-account.ts';
import { crossProcessCases } from './cross-process-cases.ts';
import { crossProcessRaces } from './cross-process-races.ts';
import { bunPath, startWorkers, type WorkerSpec, type Workers } from './workers.ts';

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
  accountRaces(() => ({ store, workers }), `pg-${run}`);
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
  accountRaces(() => ({ store, workers }), `redis-${run}`);
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

const haveBun = mayRun(
  'SQLite across processes (Bun workers)',
  'program',
  existsSync(bunPath()) ? undefined : 'the bun devDependency is not installed (npm ci installs it)',
);
describe.skipIf(!haveBun)('across processes: SQLiteStore on one file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-sqlite-cross-'));
  const file = join(dir, 'mfa.db');
  let db: Database.Database;
  let workers: Workers;
  let store: SQLiteStore;

  beforeAll(async () => {
    db = new Database(file);
    store = new SQLiteStore({ driver: betterSqlite3Driver(db), table: 'cross' });
    await store.migrate();
    const node: WorkerSpec = { client: 'better-sqlite3', url: file, name: 'cross' };
    const bun: WorkerSpec = { client: 'bun-sqlite', url: file, name: 'cross' };
    workers = await startWorkers([node, bun, node, bun]);
  });

  afterAll(async () => {
    await workers?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  crossProcessCases(() => ({ store, workers }), run);
  crossProcessRaces(
    () => ({
      store,
      workers,
      leftovers: async (userIds) => {
        const row = db
          .prepare(
            `SELECT count(*) AS n FROM cross WHERE user_id IN (${userIds.map(() => '?').join(', ')})
             AND erased_until IS NULL`,
          )
          .get(...userIds) as { n: number };
        return row.n;
      },
    }),
    run,
  );
  accountRaces(() => ({ store, workers }), `sqlite-${run}`);

  /** Starts the 4 processes of sqlite-migrate.ts at once on `file`; each migrates and stores. */
  async function startFour(file: string, round: string) {
    const script = fileURLToPath(new URL('../fixtures/sqlite-migrate.ts', import.meta.url));
    const users = ['node-1', 'bun-1', 'node-2', 'bun-2'];
    const exits = await Promise.all(
      users.map((user) => {
        const [command, args] = user.startsWith('bun')
          ? [bunPath(), [script, file, 'mfa', user]]
          : [process.execPath, ['--import', 'tsx', script, file, 'mfa', user]];
        return new Promise<{ code: number | null; output: string }>((resolve) => {
          const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.on('close', (code) => resolve({ code, output }));
        });
      }),
    );
    for (const { code, output } of exits) {
      expect({ code, output: output.trim() }, round).toEqual({ code: 0, output: 'stored' });
    }
    return users;
  }

  it('4 processes (2 Node, 2 Bun) start at once on a new file: each migrates and stores, 5 times', async () => {
    for (let round = 1; round <= 5; round++) {
      const fresh = join(dir, `new-${round}.db`);
      const users = await startFour(fresh, `round ${round}`);
      const check = new Database(fresh);
      const rows = check.prepare('SELECT user_id FROM mfa ORDER BY user_id').all();
      expect(rows).toEqual([...users].sort().map((user_id) => ({ user_id })));
      expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
      check.close();
    }
  }, 120_000);

  it('4 processes start at once on a file of the 0.3 development schema: one upgrades it in place, 5 times', async () => {
    const fixture = (name: string) =>
      readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
        .replaceAll('__TABLE__', 'mfa')
        .replaceAll('__BARE__', 'mfa');
    for (let round = 1; round <= 5; round++) {
      const old = join(dir, `dev-${round}.db`);
      const setup = new Database(old);
      setup.exec(fixture('sqlite-schema-0.3-dev.sql'));
      setup.exec(fixture('sqlite-data-0.3-dev.sql'));
      const before = setup.prepare('SELECT user_id FROM mfa ORDER BY user_id').all();
      setup.close();
      const users = await startFour(old, `round ${round}`);
      const check = new Database(old);
      const rows = check.prepare('SELECT user_id FROM mfa ORDER BY user_id').all();
      expect(rows).toEqual(
        [...before, ...users.map((user_id) => ({ user_id }))].sort((a, b) =>
          (a as { user_id: string }).user_id < (b as { user_id: string }).user_id ? -1 : 1,
        ),
      );
      const columns = check.prepare('SELECT name FROM pragma_table_xinfo(?)').all('mfa');
      expect(columns.slice(-3)).toEqual([
        { name: 'account' },
        { name: 'account_version' },
        { name: 'kept_until' },
      ]);
      check.close();
    }
  }, 120_000);
});
