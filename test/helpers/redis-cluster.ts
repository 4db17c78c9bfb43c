// A throwaway Redis Cluster for the store tests: three masters, each a
// `redis-server --cluster-enabled yes` on free loopback ports (client and
// cluster bus), its own temporary directory and config file, joined by
// `redis-cli --cluster create`. Stopped by the pids the tests started, never
// by name. Whether missing binaries fail the run (CI) or skip the suites is
// decided by ./integration.ts.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mayRun } from './integration.ts';
import { freePort, redisReady, spawnServer, terminate, waitFor } from './servers.ts';
import { findProgram } from './tools.ts';

const run = promisify(execFile);

/** A running cluster the tests own. */
export interface TestCluster {
  /** The masters, as `{ host, port }` (the seed list for both clients). */
  readonly nodes: readonly { host: string; port: number }[];
  /** `redis-cli -p port …args` against one node; resolves to its stdout. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** `redis-cli --cluster …args` (e.g. reshard); resolves to its stdout. */
  clusterCli(...args: string[]): Promise<string>;
  /** Stops every server this cluster started and removes its files. */
  stop(): Promise<void>;
}

/** What a suite can count on: a way to start a cluster, or why not. */
export type ClusterPlan =
  | { readonly run: true; start(): Promise<TestCluster> }
  | { readonly run: false; readonly reason: string };

/** A plan for a 3-master Redis Cluster from the Debian binaries. */
export function redisClusterPlan(): ClusterPlan {
  const server = findProgram('redis-server') ?? ['/usr/bin/redis-server'].find(existsSync);
  const cli = findProgram('redis-cli') ?? ['/usr/bin/redis-cli'].find(existsSync);
  const missing =
    server === undefined || cli === undefined
      ? 'redis-server or redis-cli not found (Debian packages redis-server, redis-tools)'
      : undefined;
  if (!mayRun('Redis Cluster', 'server', missing)) {
    return { run: false, reason: missing ?? 'not part of the unit tier' };
  }
  return { run: true, start: () => startCluster(server as string, cli as string) };
}

async function startCluster(server: string, cli: string): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-cluster-'));
  const started: ReturnType<typeof spawnServer>[] = [];
  const nodes: { host: string; port: number }[] = [];
  const redisCli = async (...args: string[]) =>
    (await run(cli, args, { encoding: 'utf8', timeout: 120_000 })).stdout;
  const stop = async () => {
    await Promise.all(started.map((s) => terminate(s, 'SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const busPort = await freePort();
      const args = [
        ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'],
        ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`],
        ['--cluster-node-timeout', '5000', '--dir', dir, '--dbfilename', `dump-${i}.rdb`],
        ['--save', '', '--appendonly', 'no'],
      ].flat();
      const child = spawnServer(server, args);
      started.push(child);
      await waitFor(
        'redis-server (cluster node)',
        () => redisReady(port),
        () => child.output(),
      );
      nodes.push({ host: '127.0.0.1', port });
    }
    await redisCli(
      '--cluster',
      'create',
      ...nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    );
    await waitFor(
      'the cluster',
      async () => {
        for (const n of nodes) {
          const info = await redisCli('-p', String(n.port), 'cluster', 'info');
          if (!info.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      () => started.map((s) => s.output()).join('\n'),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    cli: (port, ...args) => redisCli('-p', String(port), ...args),
    clusterCli: (...args) => redisCli('--cluster', ...args),
    stop,
  };
}
