// A throwaway MariaDB server for the MySQL store tests, on loopback only.
//
// - TOTPKIT_MYSQL_URL: use that server instead (never stopped or restarted by
//   the tests, so the restart faults are then left out).
// - Otherwise Debian's `mariadbd` is started on a free port of 127.0.0.1 with
//   a data directory made by `mariadb-install-db` in a temporary directory
//   (as the `mysql` user when we are root), and removed afterwards.
// - Whether a missing binary fails the run (CI) or skips the suites that need
//   it (locally, and always in the unit tier) is decided by ./integration.ts.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mayRun } from './integration.ts';
import {
  freePort,
  spawnServer,
  terminate,
  waitFor,
  type ServerPlan,
  type TestServer,
} from './servers.ts';
import { findProgram } from './tools.ts';

function binary(name: string): string | undefined {
  return findProgram(name) ?? [`/usr/sbin/${name}`, `/usr/bin/${name}`].find(existsSync);
}

/** A plan for a MariaDB (or MySQL) server: TOTPKIT_MYSQL_URL, or a throwaway MariaDB. */
export function mariadbPlan(): ServerPlan {
  const url = process.env.TOTPKIT_MYSQL_URL;
  const server = url ? undefined : binary('mariadbd');
  const install = url ? undefined : binary('mariadb-install-db');
  const missing =
    url || (server !== undefined && install !== undefined)
      ? undefined
      : 'mariadbd/mariadb-install-db not found (Debian package mariadb-server, or set TOTPKIT_MYSQL_URL)';
  if (!mayRun('MariaDB', 'server', missing)) {
    return { run: false, reason: missing ?? 'not part of the unit tier' };
  }
  if (url) {
    const refuse = async () => {
      throw new Error('cannot kill or restart an external server');
    };
    return {
      run: true,
      start: async () => ({ url, owned: false, kill: refuse, start: refuse, stop: async () => {} }),
    };
  }
  return { run: true, start: () => startMariaDB(server as string, install as string) };
}

/** Whether the server answers on its TCP port (a MySQL handshake starts with a packet). */
async function mariadbReady(url: string): Promise<boolean> {
  const { createConnection } = await import('mysql2/promise');
  try {
    const connection = await createConnection({ uri: url, connectTimeout: 1000 });
    await connection.query('SELECT 1');
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

async function startMariaDB(server: string, install: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-mariadb-'));
  const data = join(dir, 'data');
  let uid: number | undefined;
  let gid: number | undefined;
  let user: string[] = [];
  if (process.getuid?.() === 0) {
    uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
    user = ['--user=mysql'];
  }
  execFileSync(
    install,
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...user,
    ],
    { stdio: 'pipe', cwd: dir, ...(uid === undefined ? {} : { uid, gid }) },
  );
  const port = await freePort();
  const url = `mysql://root@127.0.0.1:${port}/mysql`;
  // No durability settings beyond the defaults that matter for a crash of the
  // server process (not of the machine): InnoDB still writes its log before a
  // commit returns, so a killed server comes back with every committed write.
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    '--bind-address=127.0.0.1',
    `--port=${port}`,
    `--socket=${join(dir, 'mysqld.sock')}`,
    `--pid-file=${join(dir, 'mysqld.pid')}`,
    '--skip-name-resolve',
    '--max-connections=300',
    '--innodb-flush-log-at-trx-commit=2',
    '--innodb-buffer-pool-size=64M',
    '--skip-log-bin',
    ...user,
  ];
  let process_ = spawnServer(server, args, uid, gid);
  const ready = () =>
    waitFor(
      'mariadbd',
      () => mariadbReady(url),
      () => process_.output(),
    );
  await ready();
  return {
    url,
    owned: true,
    kill: () => terminate(process_, 'SIGKILL'),
    async start() {
      process_ = spawnServer(server, args, uid, gid);
      await ready();
    },
    async stop() {
      await terminate(process_, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Creates the database `name` on `server` if it does not exist, and returns
 * the server's URL pointing at it (the tests keep their tables out of `mysql`).
 */
export async function databaseURL(server: TestServer, name = 'totpkit_test'): Promise<string> {
  const { createConnection } = await import('mysql2/promise');
  const admin = await createConnection({ uri: server.url });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${name}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return url.toString();
}
