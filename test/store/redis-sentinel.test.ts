// RedisStore through Redis Sentinel failovers (issue 19, point 6): a real
// primary, two replicas and three Sentinels (test/helpers/redis-sentinel.ts),
// logins running through Sentinel clients while Sentinel itself fails over,
// gracefully (SENTINEL FAILOVER) or because the primary was killed (SIGKILL).
//
// Each round makes the loss certain rather than lucky:
// - the replica that Sentinel will promote (`replica-priority` 1, the other
//   100) replicates through a TCP proxy, which is stalled (it holds back what
//   the primary sends) after a moment of healthy logins. Every write the
//   primary acknowledges from then on is missing on the replica that wins;
// - the logins go on while Sentinel promotes it and reconfigures the others:
//   after a graceful promotion the old primary stays a writable master, with
//   the other replica still attached for about a second (it acknowledges
//   `WAIT 1`), until Sentinel turns it into a replica; a killed primary is
//   restarted (empty, as without persistence) once the promotion is done, and
//   Sentinel turns it into a replica too.
//
// Every login is a user of its own (one code each), so that no later login
// hides a lost one: after the round, a login counts as lost when the new
// primary's `lastStep` for its user is below its step, and its code is
// submitted again, counting as a replay if it is accepted.
//
// With the setting docs/stores.md gives for this topology, `replicas` with
// `count` = every replica (2), nothing is lost and nothing is accepted twice.
// With 0.2's advice, `count: 1`, both happen (in every round so far: the
// lagging replica's missing writes, and the old primary's writes after a
// graceful promotion, which the other replica acknowledged).
//
// Sentinel's timers are shortened (test/helpers/redis-sentinel.ts), so the
// figures it prints are shorter than with Sentinel's defaults; `npm run
// bench:failover` measures those.
import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMFA,
  generateSecret,
  generateTOTP,
  MFAError,
  plaintextCipher,
  type MFA,
} from '../../src/index.ts';
import { RedisStore, type RedisScriptClient } from '../../src/store/redis.ts';
import { emptyAccount } from '../helpers/account-write.ts';
import { FAST_KDF } from '../helpers/mfa.ts';
import { pairs, sentinelPlan, type TestSentinelSet } from '../helpers/redis-sentinel.ts';
import { waitFor } from '../helpers/servers.ts';
import { startTCPProxy } from '../helpers/tcp-proxy.ts';

const plan = sentinelPlan();

const PERIOD_MS = 30_000;
/** Every user's login is at this time (one code per user). */
const AT = Math.floor(Date.UTC(2026, 0, 1) / PERIOD_MS) * PERIOD_MS;
const STEP = AT / PERIOD_MS;
/** Concurrent login loops. */
const WORKERS = 3;
/** Users set up per round (each logs in at most once). */
const USERS_PER_ROUND = 500;
/**
 * The failovers each client goes through: one graceful, one killed. Set
 * TOTPKIT_SENTINEL_ROUNDS=n for n of each (the figures in docs/stores.md).
 */
const ROUNDS = Number(process.env.TOTPKIT_SENTINEL_ROUNDS ?? 1);
const KINDS = Array.from({ length: ROUNDS }, () => ['graceful', 'kill'] as const).flat();
/** The setting docs/stores.md gives for a primary with two replicas behind Sentinel. */
const DOCUMENTED = { count: 2, timeoutMs: 250 } as const;
/** The setting docs/stores.md gave in 0.2 (issue 19: codes accepted twice). */
const FORMER = { count: 1, timeoutMs: 250 } as const;

type ClientName = 'ioredis' | 'node-redis';
type Kind = 'graceful' | 'kill';
type Phase = 'healthy' | 'lagging' | 'failover' | 'after';

/** What the rounds of one run counted. */
interface Counts {
  failovers: number;
  /** Logins accepted (ok: true), by phase. */
  accepted: Record<Phase, number>;
  /** Logins that failed with MFAError ERR_STORE, by phase. */
  failed: Record<Phase, number>;
  /** Accepted logins whose step the new primary does not have. */
  lost: number;
  /** `lost`, round by round. */
  lostByRound: number[];
  /** Failovers whose final primary was not the lagging replica (a second failover). */
  otherPromoted: number;
  /** Accepted codes accepted a second time after the failover. */
  replays: number;
  /** Milliseconds from the failover's start until every login loop had a login accepted again. */
  recoveryMs: number[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fail-fast Sentinel client of `name` for the set. */
async function appClient(set: TestSentinelSet, name: ClientName) {
  if (name === 'ioredis') {
    const client = new Redis({
      sentinels: [...set.sentinels],
      name: set.name,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => 20,
      sentinelRetryStrategy: () => 20,
      // Not `failoverDetector: true`: its disconnect, racing the reconnection
      // after a kill, left the client ended for good ("Connection is
      // closed.") in 2 of 6 failovers here (ioredis 6.0.0).
      lazyConnect: true,
    });
    client.on('error', () => {});
    await client.connect();
    return { client: client as RedisScriptClient, close: async () => client.disconnect() };
  }
  const client = createSentinel({
    name: set.name,
    sentinelRootNodes: [...set.sentinels],
    nodeClientOptions: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 20 } },
    sentinelClientOptions: { socket: { reconnectStrategy: () => 20 } },
  });
  client.on('error', () => {});
  await client.connect();
  return {
    client: client as unknown as RedisScriptClient,
    close: () => client.close().catch(() => {}),
  };
}

/** Waits until every Sentinel reports `priority` for the replica on `port`. */
async function priorityKnown(set: TestSentinelSet, port: number, priority: number) {
  await waitFor(
    'Sentinel to see the replica priorities',
    async () => {
      for (let i = 0; i < set.sentinels.length; i += 1) {
        const replicas = (await set
          .sentinel(i)
          .call('SENTINEL', 'REPLICAS', set.name)) as unknown[];
        const entry = replicas.map(pairs).find((r) => Number(r.get('port')) === port);
        if (Number(entry?.get('slave-priority')) !== priority) return false;
      }
      return true;
    },
    () => `replica ${port}, priority ${priority}`,
  );
}

/** Waits until every Sentinel names the same primary, other than `old`; returns its port. */
async function switched(set: TestSentinelSet, old: number): Promise<number> {
  let port = 0;
  await waitFor(
    'the Sentinels to switch to a promoted replica',
    async () => {
      const ports = new Set<number>();
      for (let i = 0; i < set.sentinels.length; i += 1) {
        const [, p] = (await set
          .sentinel(i)
          .call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', set.name)) as [string, string];
        ports.add(Number(p));
      }
      port = [...ports][0]!;
      return ports.size === 1 && port !== old;
    },
    () => `the old primary was ${old}\n${set.logs()}`,
  );
  return port;
}

/**
 * One failover of `kind` while logins run through `store`: see the file's
 * header. Returns what it counted, added into `counts`.
 */
async function round(
  set: TestSentinelSet,
  run: string,
  store: RedisStore,
  kind: Kind,
  counts: Counts,
) {
  const primary = await set.settled(2);
  const [next, other] = set.ports.filter((p) => p !== primary) as [number, number];
  // Sentinel promotes the replica with the lowest priority: the lagging one.
  await set.admin(next).config('SET', 'replica-priority', '1');
  await set.admin(other).config('SET', 'replica-priority', '100');
  await priorityKnown(set, next, 1);
  await priorityKnown(set, other, 100);
  // Its replication goes through a proxy the round can stall.
  const link = await startTCPProxy('127.0.0.1', primary);
  await set.admin(next).call('REPLICAOF', '127.0.0.1', String(link.port));
  await set.settled(2);

  // The round's users, set up without WAIT and then waited for once.
  const setup = new RedisStore({ client: set.admin(primary), prefix: run });
  const secrets: Uint8Array[] = [];
  const setupMFA = createMFA({
    store: setup,
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => AT - PERIOD_MS,
    policy: { recoveryCodeCount: 1, recoveryCodeScrypt: FAST_KDF },
  });
  for (let u = 0; u < USERS_PER_ROUND; u += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const secret = generateSecret();
        secrets[u + i] = secret;
        const result = await setupMFA.importFactor(`u${u + i}`, { secret, lastStep: STEP - 1 });
        expect(result.ok).toBe(true);
      }),
    );
  }
  expect(Number(await set.admin(primary).call('WAIT', '2', '10000'))).toBe(2);

  const mfa: MFA = createMFA({
    store,
    issuer: 'Acme',
    cipher: plaintextCipher(),
    clock: () => AT,
    policy: { throttle: { freeAttempts: 100, baseDelayMs: 0, maxDelayMs: 0, maxFailures: 100 } },
  });
  let phase: Phase = 'healthy';
  let stop = false;
  let nextUser = 0;
  const accepted: number[] = [];
  let failoverAt = 0;
  let promoted = next;
  const recovered = new Set<number>();
  let recoveredAt = 0;
  // A login that failed is tried again later (its write may or may not have
  // been kept: the same code is then accepted, or refused as replayed).
  const retry: number[] = [];
  let lastError = '';
  const failedBefore = new Set<number>();
  const worker = async (w: number) => {
    while (!stop && (retry.length > 0 || nextUser < USERS_PER_ROUND)) {
      const user = retry.shift() ?? nextUser++;
      const at = phase;
      try {
        const result = await mfa.verify(`u${user}`, generateTOTP(secrets[user]!, { now: AT }));
        if (result.ok) {
          accepted.push(user);
          counts.accepted[at] += 1;
          if (failoverAt !== 0) {
            recovered.add(w);
            if (recovered.size === WORKERS && recoveredAt === 0) recoveredAt = Date.now();
          }
        } else if (!(result.reason === 'replayed' && failedBefore.has(user))) {
          throw new Error(`a fresh code was refused: ${JSON.stringify(result)}`);
        }
      } catch (error) {
        if (!(error instanceof MFAError) || error.code !== 'ERR_STORE') throw error;
        counts.failed[at] += 1;
        lastError = error.cause instanceof Error ? error.cause.message : error.message;
        failedBefore.add(user);
        retry.push(user);
        await sleep(20); // a client without a connection fails at once
      }
      await sleep(25);
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  try {
    await sleep(300);
    phase = 'lagging';
    link.pause();
    await sleep(600);
    phase = 'failover';
    recovered.clear();
    failoverAt = Date.now();
    const old = set.ports.indexOf(primary);
    if (kind === 'graceful') {
      await set.sentinel(0).call('SENTINEL', 'FAILOVER', set.name);
      await switched(set, primary);
    } else {
      await set.servers[old]!.kill();
      await switched(set, primary);
      await set.servers[old]!.start(); // empty: Sentinel makes it a replica
    }
    // Normally the lagging replica; on a loaded machine Sentinel sometimes
    // fails over a second time (the new primary missed its pings), which the
    // claims must survive too.
    promoted = await set.settled(2);
    if (promoted !== next) counts.otherPromoted += 1;
    phase = 'after';
    await waitFor(
      'every login loop to have a login accepted after the failover',
      async () => recoveredAt !== 0 || (nextUser >= USERS_PER_ROUND && retry.length === 0),
      () => `${recovered.size} of ${WORKERS}; last error: ${lastError}\n${set.logs()}`,
    );
  } finally {
    stop = true;
    await Promise.all(workers);
    await link.close();
  }
  if (recoveredAt === 0) {
    throw new Error(
      `no login accepted after the ${kind} failover: ${JSON.stringify({ nextUser, counts })}`,
    );
  }
  counts.recoveryMs.push(recoveredAt - failoverAt);
  counts.failovers += 1;

  // What the new primary holds, read directly, and every accepted code again.
  const check = new RedisStore({ client: set.admin(promoted), prefix: run });
  for (const user of accepted) {
    const record = await check.getUser(`u${user}`, AT);
    if ((record?.factors[0]?.lastStep ?? -1) < STEP) counts.lost += 1;
  }
  for (const user of accepted) {
    const code = generateTOTP(secrets[user]!, { now: AT });
    for (let attempt = 0; ; attempt += 1) {
      try {
        if ((await mfa.verify(`u${user}`, code)).ok) counts.replays += 1;
        break;
      } catch (error) {
        if (attempt >= 20 || !(error instanceof MFAError)) throw error;
        await sleep(50);
      }
    }
  }
}

/** Runs `kinds` in turn through a client of `name` with `replicas`. */
async function failovers(
  set: TestSentinelSet,
  name: ClientName,
  replicas: { count: number; timeoutMs: number },
  kinds: readonly Kind[],
): Promise<Counts> {
  const zero = () => ({ healthy: 0, lagging: 0, failover: 0, after: 0 });
  const counts: Counts = {
    failovers: 0,
    accepted: zero(),
    failed: zero(),
    lost: 0,
    lostByRound: [],
    otherPromoted: 0,
    replays: 0,
    recoveryMs: [],
  };
  const { client, close } = await appClient(set, name);
  try {
    for (const [i, kind] of kinds.entries()) {
      const run = `sentinel:${name}:${replicas.count}:${i}:`;
      const lost = counts.lost;
      await round(set, run, new RedisStore({ client, prefix: run, replicas }), kind, counts);
      counts.lostByRound.push(counts.lost - lost);
    }
  } finally {
    await close();
  }
  return counts;
}

describe.skipIf(!plan.run)('RedisStore through Redis Sentinel failovers', () => {
  let set: TestSentinelSet;

  beforeAll(async () => {
    if (plan.run) set = await plan.start();
  }, 60_000);

  afterAll(async () => {
    await set?.stop();
  });

  it('both Sentinel clients run the store, with and without replicas: check(), migrateKeys(), a login and its replay', async () => {
    for (const name of ['ioredis', 'node-redis'] as const) {
      const { client, close } = await appClient(set, name);
      try {
        for (const replicas of [undefined, DOCUMENTED]) {
          const prefix = `sentinel:plain:${name}:${replicas ? 'wait' : 'nowait'}:`;
          const store = new RedisStore({ client, prefix, ...(replicas ? { replicas } : {}) });
          await store.check();
          expect(await store.migrateKeys()).toEqual({ users: 0 });
          const mfa = createMFA({
            store,
            issuer: 'Acme',
            cipher: plaintextCipher(),
            clock: () => AT,
            policy: { recoveryCodeScrypt: FAST_KDF },
          });
          const secret = generateSecret();
          expect(await mfa.importFactor('alice', { secret, lastStep: STEP - 1 })).toMatchObject({
            ok: true,
          });
          const code = generateTOTP(secret, { now: AT });
          expect(await mfa.verify('alice', code)).toMatchObject({ ok: true });
          expect(await mfa.verify('alice', code)).toMatchObject({ ok: false, reason: 'replayed' });
          if (replicas === undefined) continue;
          // The 0.3 account writes wait for every replica too: once they
          // resolve, each replica holds the document (read there directly).
          const version = (await store.getUser('alice', AT))!.accountVersion;
          const doc = { ...emptyAccount(5), keepUntil: null };
          const account = { version, account: doc, now: AT };
          expect(await store.updateAccount('alice', account)).toBe('updated');
          expect(await store.resetUser('alice', { ...account, version: version + 1 })).toBe(
            'reset',
          );
          const primary = await set.settled(2);
          const key = `${prefix}{${Buffer.from('alice').toString('base64url')}}/account`;
          for (const port of set.ports.filter((p) => p !== primary)) {
            const held = await set.admin(port).hgetall(key);
            expect(held, `replica ${port}`).toEqual({
              v: String(version + 2),
              doc: JSON.stringify(doc),
            });
            expect(await set.admin(port).exists(`${prefix}{YWxpY2U}/factors`)).toBe(0);
          }
        }
      } finally {
        await close();
      }
    }
  });

  for (const name of ['ioredis', 'node-redis'] as const) {
    it(
      `${name}: with replicas: { count: every replica }, graceful and killed failovers with lagging replication lose no acknowledged login and accept no code twice`,
      async () => {
        const counts = await failovers(set, name, DOCUMENTED, KINDS);
        console.log(
          `Sentinel failovers (${name}, replicas ${JSON.stringify(DOCUMENTED)}):`,
          counts,
        );
        expect(counts.failovers).toBe(KINDS.length);
        expect(counts.lost).toBe(0);
        expect(counts.replays).toBe(0);
        // Logins went through before the stall and after the failover, and
        // logins made while the promoted replica lagged failed closed. (One
        // begun then can still be accepted: node-redis sends a pipeline cut by
        // the kill again to the new primary, where it is kept.)
        expect(counts.accepted.healthy).toBeGreaterThan(0);
        expect(counts.accepted.after + counts.accepted.failover).toBeGreaterThan(0);
        expect(counts.failed.lagging).toBeGreaterThan(0);
      },
      120_000 * ROUNDS,
    );
  }

  it(
    'ioredis: with 0.2 advice, replicas: { count: 1 }, both kinds of failover lose acknowledged logins and accept their codes again',
    async () => {
      const counts = await failovers(set, 'ioredis', FORMER, KINDS);
      console.log(`Sentinel failovers (ioredis, replicas ${JSON.stringify(FORMER)}):`, counts);
      expect(counts.failovers).toBe(KINDS.length);
      expect(counts.lost).toBeGreaterThan(0);
      // Every lost login's code is accepted again. (More can be: a loaded
      // machine sometimes makes Sentinel fail over a second time while the
      // codes are checked, and with count: 1 that loses more.)
      expect(counts.replays).toBeGreaterThanOrEqual(counts.lost);
    },
    120_000 * ROUNDS,
  );
});
