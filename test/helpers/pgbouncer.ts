// A throwaway PgBouncer (Debian's `pgbouncer`, /usr/sbin/pgbouncer) in front
// of a test PostgreSQL server, for the store tests and the scale bench: its
// own port on 127.0.0.1, its own config and log in a temporary directory,
// trust authentication for the `postgres` user, stopped by pid. Run as the
// `postgres` user when we are root (PgBouncer refuses to run as root).
// Whether a missing binary fails (CI) or skips is decided by ./integration.ts.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { mayRun } from './integration.ts';
import { freePort, spawnServer, terminate, waitFor } from './servers.ts';
import { findProgram } from './tools.ts';

/** PgBouncer's pool modes: when a server connection goes back to the pool. */
export type PoolMode = 'session' | 'transaction' | 'statement';

/** A running PgBouncer. */
export interface PgBouncer {
  /** A connection URL through it (database `postgres`, user `postgres`). */
  readonly url: string;
  /** Its pool mode. */
  readonly poolMode: PoolMode;
  /** Stops it (by pid) and removes its files. */
  stop(): Promise<void>;
}

/** The binary, or why there is none. */
function pgbouncerBinary(): string | undefined {
  return findProgram('pgbouncer') ?? ['/usr/sbin/pgbouncer'].find(existsSync);
}

/** Whether the PgBouncer tests run (throws under CI if the binary is missing). */
export function pgbouncerPlanned(): boolean {
  return mayRun(
    'PgBouncer',
    'program',
    pgbouncerBinary() === undefined
      ? '/usr/sbin/pgbouncer not found (Debian package pgbouncer)'
      : undefined,
  );
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts PgBouncer in front of the PostgreSQL server at `upstream` (a
 * `postgres://postgres@host:port/postgres` URL).
 */
export async function startPgBouncer(
  upstream: string,
  options: { poolMode: PoolMode; poolSize: number },
): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (binary === undefined) throw new Error('pgbouncer not found (Debian package pgbouncer)');
  const target = new URL(upstream);
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-pgbouncer-'));
  const port = await freePort();
  const config = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    config,
    [
      '[databases]',
      `postgres = host=${target.hostname} port=${target.port} dbname=postgres user=postgres`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 1000',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  let uid: number | undefined;
  let gid: number | undefined;
  if (process.getuid?.() === 0) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    for (const file of ['pgbouncer.ini', 'userlist.txt']) chownSync(join(dir, file), uid, gid);
  }
  const server = spawnServer(binary, [config], uid, gid);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const log = () => {
    const file = join(dir, 'pgbouncer.log');
    return `${server.output()}\n${existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : ''}`;
  };
  await waitFor('pgbouncer', () => reachable(url), log);
  return {
    url,
    poolMode: options.poolMode,
    async stop() {
      await terminate(server, 'SIGTERM'); // immediate shutdown (SIGINT would wait for clients)
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
