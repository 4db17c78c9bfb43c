/**
 * The claims oracle (test/helpers/claims-run.ts: a second oracle, written
 * from the documents' claims, not from the code's rules) in the unit tier:
 * MemoryStore, PostgresStore on PGlite and SQLiteStore on better-sqlite3 (in
 * memory). test/store/model-servers.test.ts
 * runs it against the stores on real servers.
 *
 * TOTPKIT_CLAIMS_SEED replays a run (a failure names its seed);
 * TOTPKIT_CLAIMS_WITHOUT=erase leaves the erasure race out.
 */
import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll } from 'vitest';
import { MemoryStore } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { betterSqlite3Driver, SQLiteStore } from 'totpkit/sqlite';
import { describeClaims, type ClaimsTestStore } from '../helpers/claims-run.ts';
import { unitTier } from '../helpers/integration.ts';

const STORES: ClaimsTestStore[] = [
  { name: 'MemoryStore', runs: 40, steps: 150, make: async () => new MemoryStore() },
  {
    name: 'PostgresStore (PGlite)',
    runs: 2,
    steps: 120,
    make: async () => {
      const store = new PostgresStore({ client: await pglite(), table: `claims_${tables++}` });
      await store.migrate();
      return store;
    },
  },
  {
    name: 'SQLiteStore (better-sqlite3)',
    runs: 8,
    steps: 120,
    make: async () => {
      const store = new SQLiteStore({ driver: sqliteDriver(), table: `claims_${tables++}` });
      await store.migrate();
      return store;
    },
  },
];

let sqlite: Database.Database | undefined;
afterAll(() => sqlite?.close());
const sqliteDriver = () => betterSqlite3Driver((sqlite ??= new Database(':memory:')));

let lite: Promise<PGlite> | undefined;
let tables = 0;
const pglite = () => (lite ??= PGlite.create());

// The unit tier (npm run test:unit, under a minute on 2 cores) leaves out the
// PGlite run (about a sixth of the tier's CPU time, for WebAssembly PostgreSQL);
// npm test runs it, and test/store/model-servers.test.ts a real PostgreSQL.
describeClaims(unitTier ? STORES.filter((s) => !s.name.includes('PGlite')) : STORES);
