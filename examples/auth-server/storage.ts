// Chooses where the example keeps its data, from environment variables:
//   (default)      PGlite, embedded PostgreSQL, persisted in dataDir
//   DATABASE_URL   a PostgreSQL server for accounts and MFA state
//   REDIS_URL      MFA state in Redis; accounts stay in PostgreSQL or PGlite
//   SQLITE_PATH    MFA state in a SQLite file (better-sqlite3); accounts stay
//                  in PostgreSQL or PGlite
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MFAStore } from 'totpkit';
import { PostgresStore } from 'totpkit/postgres';
import { RedisStore } from 'totpkit/redis';
import { Accounts, type SqlClient } from './accounts.ts';

/** Which part of the storage failed to open, and why (`cause`): server.ts words the advice. */
export class StorageError extends Error {
  constructor(
    /**
     * `database`: PGlite or DATABASE_URL; `redis`: REDIS_URL could not be
     * reached; `redis-check`: Redis answered, but `RedisStore.check()` refused
     * it (an evicting `maxmemory-policy`, or one it cannot read).
     */
    readonly part: 'database' | 'redis' | 'redis-check',
    options: { cause: unknown },
  ) {
    super(`cannot open the ${part === 'database' ? 'database' : 'Redis store'}`, options);
  }
}

export interface Storage {
  accounts: Accounts;
  store: MFAStore;
  /** Where accounts and MFA state live, for the start-up message. */
  description: string;
  close: () => Promise<void>;
}

export async function openStorage(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
): Promise<Storage> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => {});
  };
  try {
    return await open(env, dataDir, closers, close);
  } catch (error) {
    await close(); // nothing left open by a start that failed
    throw error;
  }
}

async function open(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  closers: (() => Promise<void>)[],
  close: () => Promise<void>,
): Promise<Storage> {
  const failed = (part: StorageError['part']) => (cause: unknown) => {
    throw new StorageError(part, { cause });
  };
  let sql: SqlClient;
  let where: string;
  if (env.DATABASE_URL) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: env.DATABASE_URL });
    // An idle connection the server closes (a restart, a failover) is an
    // 'error' event; without a listener it would crash the process.
    pool.on('error', (error) =>
      console.warn(`PostgreSQL: idle connection failed: ${error.message}`),
    );
    closers.push(() => pool.end());
    sql = pool;
    where = 'PostgreSQL (DATABASE_URL)';
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    mkdirSync(dataDir, { recursive: true });
    const db = await PGlite.create(join(dataDir, 'pglite')).catch(failed('database'));
    closers.push(() => db.close());
    sql = db;
    where = `PGlite in ${join(dataDir, 'pglite')}`;
  }
  const accounts = new Accounts(sql);
  await accounts.migrate().catch(failed('database'));

  let store: MFAStore;
  let description: string;
  if (env.REDIS_URL && env.SQLITE_PATH) {
    throw new Error('set REDIS_URL or SQLITE_PATH, not both: MFA state lives in one store');
  }
  if (env.SQLITE_PATH) {
    const { default: Database } = await import('better-sqlite3');
    const { SQLiteStore, betterSqlite3Driver } = await import('totpkit/sqlite');
    const path = env.SQLITE_PATH;
    const db = (() => {
      try {
        return new Database(path);
      } catch (cause) {
        throw new StorageError('database', { cause });
      }
    })();
    closers.push(async () => void db.close());
    // WAL and a busy timeout, set by the driver: several server processes may share the file.
    const sqlite = new SQLiteStore({ driver: betterSqlite3Driver(db) });
    await sqlite.migrate().catch(failed('database'));
    store = sqlite;
    description = `accounts in ${where}; MFA state in SQLite (${path})`;
  } else if (env.REDIS_URL) {
    const { Redis } = await import('ioredis');
    const client = new Redis(env.REDIS_URL);
    client.on('error', (error: Error) => console.warn(`Redis: ${error.message}`));
    // QUIT when connected; a client still trying to connect is just dropped.
    closers.push(
      async () => void (client.status === 'ready' ? await client.quit() : client.disconnect()),
    );
    const redis = new RedisStore({ client });
    await client.ping().catch(failed('redis'));
    // Refuses a maxmemory-policy that could evict a user's factor or lock
    // (an evicted factor reads as "no two-factor sign-in"). Its message says
    // what to set.
    await redis.check().catch(failed('redis-check'));
    store = redis;
    description = `accounts in ${where}; MFA state in Redis (REDIS_URL)`;
  } else {
    const postgres = new PostgresStore({ client: sql });
    // Creates the store's tables if they are missing; safe at every start.
    await postgres.migrate().catch(failed('database'));
    store = postgres;
    description = `accounts and MFA state in ${where}`;
  }
  return {
    accounts,
    store,
    description,
    close,
  };
}

/**
 * The key that seals TOTP secrets at rest (and, derived from it, the HMAC key
 * of verification codes). In production it comes from a secret manager
 * (MFA_ENCRYPTION_KEY); for the demo, one is generated once and kept in
 * `dataDir`, readable by this user only. Throws for a key that is not 32
 * bytes in base64.
 */
export function encryptionKey(
  env: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  log: (line: string) => void,
): Uint8Array {
  if (env.MFA_ENCRYPTION_KEY) {
    const key = Buffer.from(env.MFA_ENCRYPTION_KEY, 'base64');
    if (key.length !== 32) throw new Error('MFA_ENCRYPTION_KEY must be 32 bytes in base64');
    return new Uint8Array(key);
  }
  const file = join(dataDir, 'mfa-encryption-key');
  try {
    return new Uint8Array(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
    log(`generated a demo encryption key in ${file} (use MFA_ENCRYPTION_KEY in production)`);
    return new Uint8Array(key);
  }
}
