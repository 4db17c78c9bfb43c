/**
 * Model-based fuzzing of the MFA service (issue 10, point 16) in the unit
 * tier: MemoryStore (with and without readAndReserve), PostgresStore on
 * PGlite and SQLiteStore on better-sqlite3. The test itself (steps, faults,
 * parallel calls, the reference model's checks) is test/helpers/model-run.ts; test/store/model-servers.test.ts runs
 * it against the stores on real servers.
 *
 * CI runs a fixed seed and a size well under a minute. Locally:
 * TOTPKIT_FUZZ_RUNS (runs per store), TOTPKIT_FUZZ_SEED, and
 * TOTPKIT_FUZZ_SECONDS (stop each store's run after this long, passing).
 */
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { MemoryStore } from '../../src/index.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { betterSqlite3Driver, SQLiteStore } from '../../src/store/sqlite.ts';
import { withoutReadAndReserve } from '../helpers/mfa.ts';
import { unitTier } from '../helpers/integration.ts';
import { describeModelTest, type ModelTestStore } from '../helpers/model-run.ts';

// PGlite starts only when its test does (seconds of WebAssembly start-up, more
// on a loaded machine), inside that test's own time limit.
let db: PGlite | undefined;
afterAll(() => db?.close());
let pgStore: Promise<PostgresStore> | undefined;
let sqlite: Database.Database | undefined;
afterAll(() => sqlite?.close());
let sqliteStore: Promise<SQLiteStore> | undefined;

const STORES: ModelTestStore[] = [
  { name: 'MemoryStore', runs: 60, make: async () => new MemoryStore() },
  {
    name: 'MemoryStore without readAndReserve',
    runs: 30,
    make: async () => withoutReadAndReserve(new MemoryStore()),
  },
  {
    name: 'PostgresStore (PGlite)',
    // Fewer than the others: PGlite's WebAssembly makes each run several times
    // slower, and the 0.3 account calls doubled a run's store operations.
    runs: 6,
    make: () => {
      pgStore ??= (async () => {
        db = new PGlite();
        await db.waitReady;
        const store = new PostgresStore({ client: db, table: 'fuzz' });
        await store.migrate();
        return store;
      })();
      return pgStore;
    },
  },
  {
    name: 'SQLiteStore (better-sqlite3)',
    runs: 15,
    make: () => {
      sqliteStore ??= (async () => {
        sqlite = new Database(':memory:');
        const store = new SQLiteStore({ driver: betterSqlite3Driver(sqlite), table: 'fuzz' });
        await store.migrate();
        return store;
      })();
      return sqliteStore;
    },
  },
];

// The unit tier (npm run test:unit, under a minute on 2 cores) leaves out the
// PGlite run (about a sixth of the tier's CPU time, for WebAssembly PostgreSQL);
// npm test runs it, and test/store/model-servers.test.ts a real PostgreSQL.
describeModelTest(unitTier ? STORES.filter((s) => !s.name.includes('PGlite')) : STORES);
