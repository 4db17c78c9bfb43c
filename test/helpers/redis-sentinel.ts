// A throwaway Redis Sentinel set-up for the failover tests: three
// `redis-server`s (a primary and two replicas) and three `redis-sentinel`s
// (quorum 2), each on a free loopback port with a temporary directory of its
// own. Stopped by the pids the tests started, never by name. Whether missing
// binaries fail the run (CI) or skip the suites is decided by ./integration.ts.
//
// Sentinel's timers are shortened through `SENTINEL DEBUG` (Redis 7) so that a
// failover takes seconds, not tens of seconds: INFO every 250 ms (replica
// priorities and offsets are current), hellos every 500 ms (so a deposed
// primary is turned into a replica 2 s after the switch instead of 8 s), and
// no TILT mode on a loaded machine (a late timer would otherwise freeze every
// Sentinel for 30 s). The failover itself (the down detection, the election,
// REPLICAOF NO ONE, the reconfiguration) is Sentinel's own.
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mayRun, noteSkip } from './integration.ts';
import {
  freePort,
  redisPlan,
  redisReady,
  spawnServer,
  terminate,
  waitFor,
  type TestServer,
} from './servers.ts';
import { findProgram } from './tools.ts';

/** The name the Sentinels monitor the primary under. */
export const SENTINEL_MASTER = 'totpkit';

/** A running set the tests own. */
export interface TestSentinelSet {
  /** The master's name for Sentinel clients. */
  readonly name: string;
  /** The Sentinels, as `{ host, port }` (the seed list for both clients). */
  readonly sentinels: readonly { host: string; port: number }[];
  /** The three data servers (index 0 was the first primary). */
  readonly servers: readonly TestServer[];
  /** Their ports, in the same order. */
  readonly ports: readonly number[];
  /** An admin connection to the data server on `port` (not through Sentinel). */
  admin(port: number): Redis;
  /** An admin connection to Sentinel `i`. */
  sentinel(i: number): Redis;
  /**
   * The primary's port once every Sentinel names the same one, it answers as
   * a master with `replicas` replicas online, and every Sentinel has
   * finished its failover; waits up to `timeoutMs`.
   */
  settled(replicas: number, timeoutMs?: number): Promise<number>;
  /** The tail of each Sentinel's log (for a failure's message). */
  logs(): string;
  /** Stops every process this set started and removes its files. */
  stop(): Promise<void>;
}

export type SentinelPlan =
  | { readonly run: true; start(): Promise<TestSentinelSet> }
  | { readonly run: false; readonly reason: string };

/** A plan for a Sentinel set: the Debian binaries, or why not. */
export function sentinelPlan(): SentinelPlan {
  const redis = redisPlan();
  if (!redis.run) return redis;
  if (process.env.TOTPKIT_REDIS_URL) {
    // An external server cannot be made a replica or killed by the tests.
    const reason = 'TOTPKIT_REDIS_URL is set: the Sentinel tests start servers of their own';
    noteSkip('Redis Sentinel', reason);
    return { run: false, reason };
  }
  const binary = findProgram('redis-sentinel');
  const missing =
    binary === undefined
      ? 'redis-sentinel not found on PATH (Debian package redis-sentinel)'
      : undefined;
  if (!mayRun('Redis Sentinel', 'server', missing)) {
    return { run: false, reason: missing ?? 'not part of the unit tier' };
  }
  return { run: true, start: () => startSet(redis.start, binary!) };
}

/** Fields of an `INFO` section. */
export function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** A reply of `SENTINEL MASTER` / `SENTINEL REPLICAS` entries as a map. */
export function pairs(reply: unknown): Map<string, string> {
  const list = reply as string[];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i]!, list[i + 1]!);
  return map;
}

async function startSet(
  startServer: (options?: { args?: readonly string[] }) => Promise<TestServer>,
  binary: string,
): Promise<TestSentinelSet> {
  const admins = new Map<number, Redis>();
  const sentinelAdmins: Redis[] = [];
  const sentinelProcesses: ReturnType<typeof spawnServer>[] = [];
  const servers: TestServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-sentinel-'));
  const connect = (port: number) => {
    const admin = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    });
    admin.on('error', () => {});
    return admin;
  };
  const stop = async () => {
    for (const admin of [...admins.values(), ...sentinelAdmins]) admin.disconnect();
    for (const sentinel of sentinelProcesses) await terminate(sentinel, 'SIGTERM');
    for (const server of servers) await server.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Diskless full resyncs without the default 5 s wait for more replicas.
    const args = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
    servers.push(...(await Promise.all([0, 1, 2].map(() => startServer({ args })))));
    const ports = servers.map((server) => Number(new URL(server.url).port));
    const admin = (port: number) => {
      let client = admins.get(port);
      if (client === undefined) {
        client = connect(port);
        admins.set(port, client);
      }
      return client;
    };
    for (const port of ports.slice(1)) {
      await admin(port).call('REPLICAOF', '127.0.0.1', String(ports[0]));
    }
    const sentinels: { host: string; port: number }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${ports[0]} 2`,
          // Short, but not so short that a loaded machine's late PONG starts
          // a second failover.
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 2000`,
          // Also how long a replica may point elsewhere (a test's proxy)
          // before Sentinel "fixes" it.
          `sentinel failover-timeout ${SENTINEL_MASTER} 30000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 2`,
          '',
        ].join('\n'),
      );
      const process = spawnServer(binary, [conf]);
      sentinelProcesses.push(process);
      await waitFor(
        'redis-sentinel',
        () => redisReady(port),
        () => process.output(),
      );
      const sentinel = connect(port);
      sentinelAdmins.push(sentinel);
      await sentinel.call(
        'SENTINEL',
        'DEBUG',
        'info-period',
        '250',
        'publish-period',
        '500',
        'tilt-trigger',
        '60000',
      );
      sentinels.push({ host: '127.0.0.1', port });
    }
    const set: TestSentinelSet = {
      name: SENTINEL_MASTER,
      sentinels,
      servers,
      ports,
      admin,
      sentinel: (i) => sentinelAdmins[i]!,
      async settled(replicas, timeoutMs = 30_000) {
        let port = 0;
        let why = '';
        await waitFor(
          'the Sentinel set',
          async () => {
            try {
              const views = await Promise.all(
                sentinelAdmins.map(async (s) =>
                  pairs(await s.call('SENTINEL', 'MASTER', SENTINEL_MASTER)),
                ),
              );
              const masters = new Set(views.map((v) => v.get('port')));
              if (masters.size !== 1) return !(why = `Sentinels disagree: ${[...masters]}`);
              if (views.some((v) => /failover|o_down|s_down/.test(v.get('flags') ?? ''))) {
                return !(why = `flags ${views.map((v) => v.get('flags'))}`);
              }
              if (views.some((v) => Number(v.get('num-other-sentinels')) !== 2)) {
                return !(why = 'Sentinels do not know each other yet');
              }
              port = Number([...masters][0]);
              const info = infoFields(await admin(port).info('replication'));
              if (info.get('role') !== 'master') return !(why = `${port} is not a master yet`);
              const online = [...info.keys()].filter(
                (k) => /^slave\d+$/.test(k) && /state=online/.test(info.get(k)!),
              ).length;
              if (online < replicas) return !(why = `${port} has ${online} replicas online`);
              // Acknowledging: a write of the admin's own that `replicas` replicas hold.
              await admin(port).set('sentinel:probe', String(Date.now()));
              const acked = Number(await admin(port).call('WAIT', String(replicas), '1000'));
              return acked >= replicas || !(why = `${acked} of ${replicas} acknowledged`);
            } catch (error) {
              why = String(error);
              return false;
            }
          },
          () => why,
          timeoutMs,
        );
        return port;
      },
      logs: () => sentinelProcesses.map((p, i) => `--- Sentinel ${i}:\n${p.output()}`).join('\n'),
      stop,
    };
    await set.settled(2);
    return set;
  } catch (error) {
    await stop();
    throw error;
  }
}
