// The part of Bun's built-in `bun:sqlite` that the tests run under Bun use
// (test/store/sqlite.bun.ts); Bun ships its own types in bun-types, which the
// project does not install.
declare module 'bun:sqlite' {
  /** A SQLite database connection. */
  export class Database {
    constructor(path: string);
    /** Compiles (and caches) a statement. */
    query(sql: string): { all(...params: unknown[]): unknown[] };
    /** Runs SQL without results. */
    exec(sql: string): unknown;
    /** Wraps a function in a transaction. */
    transaction<A extends unknown[], R>(fn: (...args: A) => R): { immediate(...args: A): R };
    /** Closes the connection. */
    close(): void;
  }
}
