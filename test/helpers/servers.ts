// Throwaway PostgreSQL and Redis servers for the store tests, on loopback only.
//
// - TOTPKIT_PG_URL / TOTPKIT_REDIS_URL: use that server instead (never stopped
//   or restarted by the tests, so the restart faults are then left out).
// - Otherwise the Debian binaries are started in a temporary directory on a
//   free port of 127.0.0.1 and removed afterwards: PostgreSQL through initdb
//   and postgres (as the `postgres` user when we are root, because initdb
//   refuses to run as root), Redis as `redis-server` without persistence.
// - Whether a missing binary fails the run (CI) or skips the suites that need
//   it (locally, and always in the unit tier) is decided by ./integration.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { mayRun } from './integration.ts';
import { findProgram } from './tools.ts';

/** A server the tests can reach, and stop (and, if they own it, kill and restart). */
export interface TestServer {
  /** A connection URL. */
  readonly url: string;
  /** Whether the tests started it (only then can they restart it). */
  readonly owned: boolean;
  /** Kills the server abruptly, as a crash would (owned servers only). */
  kill(): Promise<void>;
  /** Starts a killed server again on the same port and data (owned servers only). */
  start(): Promise<void>;
  /** Stops the server and removes its files (nothing for external servers). */
  stop(): Promise<void>;
}

/** How to start a throwaway server. */
export interface ServerOptions {
  /**
   * Redis only: log every write to an append-only file fsynced at once, so a
   * killed server comes back with its data (the default keeps nothing).
   */
  persistent?: boolean;
  /** Redis only: further `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: readonly string[];
}

/** What a suite can count on: a way to start the server, or why not. */
export type ServerPlan =
  | { readonly run: true; start(options?: ServerOptions): Promise<TestServer> }
  | { readonly run: false; readonly reason: string };

/** The plan when `what` is missing or left out (see ./integration.ts), else undefined. */
function skipped(what: string, missing: string | undefined): ServerPlan | undefined {
  if (mayRun(what, 'server', missing)) return undefined;
  return { run: false, reason: missing ?? 'not part of the unit tier' };
}

// Servers run in process groups of their own (PostgreSQL's backends with
// their postmaster), so that a kill takes all of a server down at once.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export async function waitFor(
  what: string,
  ready: () => Promise<boolean>,
  log: () => string,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not become ready in ${timeoutMs / 1000} s:\n${log()}`);
}

/** Spawns a server process, keeping the tail of its output for error messages. */
export function spawnServer(command: string, args: string[], uid?: number, gid?: number) {
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(uid === undefined ? {} : { uid }),
    ...(gid === undefined ? {} : { gid }),
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  running.add(child);
  void exited.then(() => running.delete(child));
  return { child, exited, output: () => output };
}

export async function terminate(
  server: { child: ChildProcess; exited: Promise<void> },
  signal: NodeJS.Signals,
) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  // The leader alone for a clean shutdown (it stops its children); the group for a kill.
  if (signal === 'SIGKILL') killGroup(server.child, signal);
  else server.child.kill(signal);
  const timer = setTimeout(() => killGroup(server.child, 'SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(timer);
}

function external(url: string): TestServer {
  const refuse = async () => {
    throw new Error('cannot kill or restart an external server');
  };
  return { url, owned: false, kill: refuse, start: refuse, stop: async () => {} };
}

// ---------------------------------------------------------------- PostgreSQL

function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(root, version, 'bin');
      if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
    }
  }
  const initdb = findProgram('initdb');
  return initdb === undefined ? undefined : join(initdb, '..');
}

/** A plan for a PostgreSQL server: TOTPKIT_PG_URL, or a throwaway one. */
export function postgresPlan(): ServerPlan {
  const url = process.env.TOTPKIT_PG_URL;
  const bin = url ? undefined : postgresBinDir();
  const plan = skipped(
    'PostgreSQL',
    url || bin !== undefined
      ? undefined
      : 'initdb/postgres not found (Debian package postgresql, or set TOTPKIT_PG_URL)',
  );
  if (plan !== undefined) return plan;
  if (url) return { run: true, start: async () => external(url) };
  return { run: true, start: () => startPostgres(bin as string) };
}

async function postgresReady(url: string): Promise<boolean> {
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

async function startPostgres(bin: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-pg-'));
  const data = join(dir, 'data');
  let uid: number | undefined;
  let gid: number | undefined;
  if (process.getuid?.() === 0) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
    { stdio: 'pipe', cwd: dir, ...(uid === undefined ? {} : { uid, gid }) },
  );
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // No fsync, for speed: that only matters if the machine crashes. Commits
  // still reach the kernel before they are acknowledged, so a killed server
  // comes back with every acknowledged write (the restart test relies on it).
  const args = [
    ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir],
    ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
  ].flat();
  let server = spawnServer(join(bin, 'postgres'), args, uid, gid);
  const start = async () => {
    server = spawnServer(join(bin, 'postgres'), args, uid, gid);
    await waitFor(
      'postgres',
      () => postgresReady(url),
      () => server.output(),
    );
  };
  await waitFor(
    'postgres',
    () => postgresReady(url),
    () => server.output(),
  );
  return {
    url,
    owned: true,
    kill: () => terminate(server, 'SIGKILL'),
    start,
    async stop() {
      await terminate(server, 'SIGINT'); // fast shutdown
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// --------------------------------------------------------------------- Redis

/** A plan for a Redis server: TOTPKIT_REDIS_URL, or a throwaway one. */
export function redisPlan(): ServerPlan {
  const url = process.env.TOTPKIT_REDIS_URL;
  const binary = url
    ? undefined
    : (findProgram('redis-server') ?? ['/usr/bin/redis-server'].find(existsSync));
  const plan = skipped(
    'Redis',
    url || binary !== undefined
      ? undefined
      : 'redis-server not found (Debian package redis-server, or set TOTPKIT_REDIS_URL)',
  );
  if (plan !== undefined) return plan;
  if (url) return { run: true, start: async () => external(url) };
  return {
    run: true,
    start: (options) =>
      startRedis(binary as string, options?.persistent ?? false, options?.args ?? []),
  };
}

export async function redisReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(1000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function startRedis(
  binary: string,
  persistent: boolean,
  extra: readonly string[],
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-redis-'));
  const port = await freePort();
  const args = [
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    persistent ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'] : [],
    persistent ? [] : ['--save', '', '--appendonly', 'no'],
    extra,
  ].flat();
  let server = spawnServer(binary, args);
  await waitFor(
    'redis-server',
    () => redisReady(port),
    () => server.output(),
  );
  return {
    url: `redis://127.0.0.1:${port}`,
    owned: true,
    kill: () => terminate(server, 'SIGKILL'),
    async start() {
      server = spawnServer(binary, args);
      await waitFor(
        'redis-server',
        () => redisReady(port),
        () => server.output(),
      );
    },
    async stop() {
      await terminate(server, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
