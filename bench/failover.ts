// How long logins fail (ERR_STORE) during a Redis Sentinel failover, for four
// settings: none, the store's `replicas` option with `count: 1` and with
// `count: 2` (every replica), and the server's min-replicas-to-write. Numbers
// for the topology table in docs/stores.md ("Topologies and what failover
// costs").
//
//   npm run bench:failover
//
// Each run: a primary, two replicas and one Sentinel (quorum 1,
// down-after-milliseconds 5000, Sentinel's other timers at their defaults) on
// loopback, an ioredis Sentinel client that fails fast, and one login after
// another (the service's verify, a fresh code each time, the clock stepping
// 30 s per login). After 3 s, either the primary is killed (SIGKILL: Sentinel
// notices after 5 s and promotes a replica; once it names the new primary,
// the old one is restarted, empty as without persistence, and Sentinel makes
// it a replica) or Sentinel is asked to fail over (SENTINEL FAILOVER: the old
// primary stays a master until Sentinel makes it a replica, 8 s after the
// switch). With `count: 2` writes fail until the new primary has both
// replicas. The run ends 15 s after the first login that succeeds after a
// failure (or 30 s after the failover if none failed). Printed: the ERR_STORE
// window (first to last failure) and from the failover, logins accepted and
// failed, and codes accepted twice (every accepted code submitted again at
// the end; one user, so a later login hides a lost one: this undercounts, and
// test/store/redis-sentinel.test.ts counts the losses). Timing figures: run on
// a quiet machine before quoting them.
import { Redis } from 'ioredis';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMFA,
  generateSecret,
  generateTOTP,
  MFAError,
  plaintextCipher,
} from '../src/index.ts';
import { RedisStore } from '../src/store/redis.ts';
import { redisPlan, type TestServer } from '../test/helpers/servers.ts';

const PERIOD_MS = 30_000;
const DOWN_AFTER_MS = 5_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(),
      );
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const portOf = (server: TestServer) => Number(new URL(server.url).port);

type Setting = 'none' | 'count: 1' | 'count: 2' | 'min-replicas-to-write';
type Kind = 'kill' | 'graceful';

async function run(kind: Kind, setting: Setting) {
  const plan = redisPlan();
  if (!plan.run) throw new Error(plan.reason);
  const args = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
  const servers = await Promise.all([0, 1, 2].map(() => plan.start({ args })));
  const [primary, ...replicas] = servers as [TestServer, TestServer, TestServer];
  const admins = servers.map((server) => new Redis(server.url));
  for (const admin of admins) admin.on('error', () => {});
  for (const admin of admins.slice(1)) {
    await admin.call('REPLICAOF', '127.0.0.1', String(portOf(primary)));
  }
  if (setting === 'min-replicas-to-write') {
    for (const admin of admins) {
      await admin.config('SET', 'min-replicas-to-write', '1');
      await admin.config('SET', 'min-replicas-max-lag', '10');
    }
  }
  await waitFor(async () => {
    const info = await admins[0]!.info('replication');
    return /connected_slaves:2/.test(info) && !/state=(?!online)/.test(info);
  });

  const dir = mkdtempSync(join(tmpdir(), 'totpkit-sentinel-'));
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor m 127.0.0.1 ${portOf(primary)} 1`,
      `sentinel down-after-milliseconds m ${DOWN_AFTER_MS}`,
      'sentinel failover-timeout m 10000',
      '',
    ].join('\n'),
  );
  const sentinel = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
  await sleep(1_500); // Sentinel discovers the replicas

  const client = new Redis({
    sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
    name: 'm',
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    sentinelRetryStrategy: () => 100,
    retryStrategy: () => 100,
  });
  client.on('error', () => {});
  await waitFor(async () => (await client.ping()) === 'PONG');

  let clock = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS;
  const count = setting === 'count: 1' ? 1 : setting === 'count: 2' ? 2 : 0;
  const options = count > 0 ? { replicas: { count, timeoutMs: 500 } } : {};
  const store = new RedisStore({ client, prefix: `bench-failover:`, ...options });
  const mfa = createMFA({
    store,
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => clock,
    policy: { throttle: { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 } },
  });
  const secret = generateSecret();
  await mfa.importFactor('alice', { secret, lastStep: clock / PERIOD_MS });

  const sentinelAdmin = new Redis({ host: '127.0.0.1', port: sentinelPort });
  sentinelAdmin.on('error', () => {});
  const switched = async () => {
    const reply = (await sentinelAdmin.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'm')) as
      [string, string] | null;
    return reply !== null && Number(reply[1]) !== portOf(primary);
  };
  let restarted = false;
  const accepted: number[] = [];
  let failed = 0;
  let firstFailure = 0;
  let lastFailure = 0;
  let killedAt = 0;
  let recoveredAt = 0;
  const start = Date.now();
  let now = clock;
  while (recoveredAt === 0 || Date.now() < recoveredAt + 15_000) {
    if (killedAt === 0 && Date.now() - start > 3_000) {
      if (kind === 'kill') await primary.kill();
      else await sentinelAdmin.call('SENTINEL', 'FAILOVER', 'm');
      killedAt = Date.now();
    }
    if (kind === 'kill' && killedAt !== 0 && !restarted && (await switched())) {
      restarted = true;
      await primary.start(); // empty; Sentinel makes it a replica of the new primary
    }
    now += PERIOD_MS;
    clock = now;
    try {
      const result = await mfa.verify('alice', generateTOTP(secret, { now }));
      if (result.ok) {
        accepted.push(now);
        if (killedAt !== 0 && recoveredAt === 0 && lastFailure !== 0) recoveredAt = Date.now();
        // A graceful failover with count: 1 may cause no failure at all.
        if (killedAt !== 0 && recoveredAt === 0 && Date.now() - killedAt > 30_000) {
          recoveredAt = Date.now();
        }
      }
    } catch (error) {
      if (!(error instanceof MFAError)) throw error;
      failed += 1;
      lastFailure = Date.now();
      if (firstFailure === 0) firstFailure = lastFailure;
    }
    if (Date.now() - start > 60_000) break;
    await sleep(10);
  }
  // Every accepted code again, at its own time.
  let replays = 0;
  for (const at of accepted) {
    clock = at;
    const result = await mfa.verify('alice', generateTOTP(secret, { now: at })).catch(() => null);
    if (result?.ok) replays += 1;
  }
  client.disconnect();
  sentinelAdmin.disconnect();
  for (const admin of admins) admin.disconnect();
  sentinel.kill('SIGTERM');
  for (const server of servers) await server.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  return {
    failover: kind,
    setting,
    'ERR_STORE window s': firstFailure === 0 ? 0 : ((lastFailure - firstFailure) / 1000).toFixed(1),
    'from the failover s':
      killedAt && lastFailure ? ((lastFailure - killedAt) / 1000).toFixed(1) : '-',
    accepted: accepted.length,
    failed,
    'accepted twice': replays,
  };
}

async function waitFor(ready: () => Promise<boolean>) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('not ready in 30 s');
    await sleep(50);
  }
}

const rows = [];
for (const kind of ['kill', 'graceful'] as const) {
  for (const setting of ['none', 'count: 1', 'count: 2', 'min-replicas-to-write'] as const) {
    rows.push(await run(kind, setting));
  }
}
console.table(rows);
