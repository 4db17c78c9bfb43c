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

/**
 * Why the `CLUSTER NODES` replies of every master (one string each) do not
 * describe one settled configuration yet, or `undefined` once they do: every
 * node reports the same config epoch and the same slots for every master,
 * no slot is importing or migrating, and no two masters share a config epoch.
 *
 * A manual slot move must start from such a state. `CLUSTER SETSLOT … NODE`
 * on the target gives it a new config epoch only if it does not already hold
 * the greatest one it knows of; if its knowledge is stale (another node's
 * bump or an epoch collision fix has not reached it yet), it keeps an epoch
 * lower than the source's, and the PONG it broadcasts at once claims the slot
 * with that lower epoch. The source, or a master not yet told of the move,
 * answers with an UPDATE that hands the slot back to the source (the target
 * even deletes its keys), and once the test tells the others the new owner,
 * the source and the target send each other MOVED for good.
 */
export function clusterUnsettled(views: readonly string[]): string | undefined {
  const seen = new Map<string, string>();
  for (const [i, view] of views.entries()) {
    const epochs = new Set<string>();
    for (const line of view.trim().split('\n')) {
      const [id, , flags, , , , epoch, , ...slots] = line.trim().split(' ');
      if (!flags?.includes('master')) continue;
      if (slots.some((s) => s.startsWith('['))) return `node ${i}: a slot is moving (${line})`;
      if (epochs.has(epoch!)) return `node ${i}: config epoch ${epoch} is not unique`;
      epochs.add(epoch!);
      const entry = `${epoch} ${slots.join(' ')}`;
      const other = seen.get(id!);
      if (other === undefined) seen.set(id!, entry);
      else if (other !== entry) return `node ${i} sees ${id} as "${entry}", another as "${other}"`;
    }
  }
  return undefined;
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
