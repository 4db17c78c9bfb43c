// Part of npm run bench:stores (bench/stores.ts calls it): the service's
// verify() over RedisStore on a 3-master Redis Cluster against a single Redis
// server, through ioredis and node-redis, at concurrency 1, 16 and 64:
// verifies per second, p50 and p99 latency (medians of 3 rounds in which
// single and cluster alternate, as the load of a shared machine drifts). Both are the throwaway loopback
// servers of the tests (test/helpers/servers.ts, redis-cluster.ts), all on the
// same machine, so the cluster's three servers share its cores: the figures
// show what the cluster's routing costs a call, not what three machines add.
// Each worker has its own user and clock (one step per verify), so every
// verify is a success that records a new step.
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { RedisStore, type RedisScriptClient } from '../src/store/redis.ts';
import { redisClusterPlan } from '../test/helpers/redis-cluster.ts';
import { redisPlan } from '../test/helpers/servers.ts';
import { SECONDS_PER_LEVEL, verifyLoad } from './_verify-load.ts';

const CONCURRENCY = [1, 16, 64] as const;
const ROUNDS = 3;

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

/**
 * Prints the Redis Cluster against single Redis table; skips (saying why)
 * when redis-server or redis-cli is missing.
 */
export async function benchCluster(): Promise<void> {
  const single = redisPlan();
  const clusterPlan = redisClusterPlan();
  if (!single.run || !clusterPlan.run) {
    const reason = !single.run ? single.reason : !clusterPlan.run ? clusterPlan.reason : '';
    console.log(`\nskipped Redis Cluster against single Redis: ${reason}`);
    return;
  }
  const run = Date.now().toString(36);
  const server = await single.start();
  const cluster = await clusterPlan.start();
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const ioSingle = new Redis(server.url);
    closers.push(async () => ioSingle.disconnect());
    const nodeSingle = createClient({ url: server.url });
    await nodeSingle.connect();
    closers.push(() => nodeSingle.close());
    const ioCluster = new Cluster([...cluster.nodes]);
    closers.push(async () => ioCluster.disconnect());
    const nodeCluster = createCluster({
      rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
    });
    await nodeCluster.connect();
    closers.push(() => nodeCluster.close());
    const subjects: [string, string, RedisScriptClient][] = [
      ['single Redis', 'ioredis', ioSingle],
      ['Cluster, 3 masters', 'ioredis', ioCluster],
      ['single Redis', 'node-redis', nodeSingle],
      ['Cluster, 3 masters', 'node-redis', nodeCluster],
    ];
    const stores = new Map<string, RedisStore>();
    for (const [topology, client, redis] of subjects) {
      const store = new RedisStore({ client: redis, prefix: `totpkit-bench:${run}:${client}:` });
      await store.migrateKeys(); // on Cluster: sets the layout marker (a fresh prefix)
      stores.set(`${topology}/${client}`, store);
    }
    // On a shared machine the load drifts: each level runs ROUNDS times,
    // single and cluster alternating, and the table shows the medians.
    const samples = new Map<string, { perSecond: number; p50: number; p99: number }[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const concurrency of CONCURRENCY) {
        for (const [topology, client] of subjects) {
          const key = `${topology}/${client}/${concurrency}`;
          const store = stores.get(`${topology}/${client}`)!;
          const level = await verifyLoad(store, concurrency, `${run}-${round}-${key}`);
          samples.set(key, [...(samples.get(key) ?? []), level]);
        }
      }
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;
    const rows: string[][] = [];
    for (const [topology, client] of subjects) {
      for (const concurrency of CONCURRENCY) {
        const levels = samples.get(`${topology}/${client}/${concurrency}`)!;
        rows.push([
          topology,
          client,
          String(concurrency),
          median(levels.map((l) => l.perSecond)).toFixed(0),
          ms(median(levels.map((l) => l.p50))),
          ms(median(levels.map((l) => l.p99))),
        ]);
      }
    }
    console.log(
      `\nverify() on Redis Cluster (3 masters, no replicas) against a single Redis, ` +
        `${SECONDS_PER_LEVEL} s per level, median of ${ROUNDS} alternating rounds, all servers on this machine\n`,
    );
    const header = ['topology', 'client', 'concurrency', 'verifies/s', 'p50 ms', 'p99 ms'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    console.log(line(header));
    console.log(
      `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    );
    for (const row of rows) console.log(line(row));
  } finally {
    for (const close of closers) await close().catch(() => {});
    await cluster.stop();
    await server.stop();
  }
}
