// SQLiteStore on bun:sqlite, run by `bun test` (Bun maps the suite's `vitest`
// imports to its own runner): the conformance suite, the adapter cases and
// the SQL-level cases, on a database file in WAL mode. Started by
// sqlite-bun.test.ts, which checks the counts; by hand:
//   node_modules/.bin/bun test ./test/store/sqlite.bun.ts
import { Database } from 'bun:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { bunSqliteDriver, SQLiteStore } from '../../src/store/sqlite.ts';
import { testMFAStore } from '../../src/testing.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeSQLiteCases } from './sqlite-cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'totpkit-bun-sqlite-'));
const db = new Database(join(dir, 'mfa.db'));
const driver = bunSqliteDriver(db);
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let tables = 0;
const shared = new SQLiteStore({ driver, table: 'conformance' });
const migrated = shared.migrate();
testMFAStore('SQLiteStore (bun:sqlite)', async () => {
  await migrated;
  return shared;
});

describeAdapterCases('SQLiteStore (bun:sqlite)', async () => {
  const store = new SQLiteStore({ driver, table: `store_${++tables}` });
  await store.migrate();
  return store;
});
describeSQLiteCases(
  'SQLiteStore (bun:sqlite)',
  () => driver,
  () => `sql_${++tables}`,
);
