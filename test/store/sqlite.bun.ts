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
import { bunSqliteDriver, SQLiteStore, type SQLiteDriver } from '../../src/store/sqlite.ts';
import { testMFAStore } from '../../src/testing.ts';
import { describeAdapterCases } from './adapter-cases.ts';
import { describeSQLiteCases } from './sqlite-cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'totpkit-bun-sqlite-'));
const file = join(dir, 'mfa.db');
const db = new Database(file);
const driver = bunSqliteDriver(db);
// bun:sqlite (1.4) leaves an EXPLAIN QUERY PLAN of an UPDATE or DELETE in
// progress, after which its connection commits nothing ("SQL statements in
// progress"): the plans are read on a connection of their own, one per statement.
const explain: SQLiteDriver = {
  run: async (statement) => {
    const connection = new Database(file);
    try {
      return await bunSqliteDriver(connection).run(statement);
    } finally {
      connection.close();
    }
  },
  transaction: () => Promise.reject(new Error('only plans are read on this connection')),
};
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
  () => explain,
);
