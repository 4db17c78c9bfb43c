/**
 * The Redis eviction check behind `RedisStore.check()` (internal).
 *
 * Under `maxmemory` with an `allkeys-*` policy, Redis may evict any key when
 * memory runs short, including a user's factor and throttle state. An
 * evicted record reads as "no factor, no lock": an app that asks `status()`
 * whether to request a code then signs the user in with the password alone,
 * and a locked attacker gets a fresh guess budget. The keys of a user with a
 * factor carry no TTL, so the `volatile-*` policies never evict them, and
 * `noeviction` refuses writes instead (`OOM`, an `ERR_STORE`).
 *
 * The `volatile-*` policies stay accepted, knowing what they can evict: a
 * pending enrollment (completing it then fails closed, `not_pending`), the
 * throttle hash of a user without an active factor, which has a TTL
 * (`throttleRetentionMs`), and an erasure guard (it expires `guardMs` after
 * the erasure). Evicting the hash ends a lock kept after `disable` before its
 * retention is over; it no longer guards any factor. Evicting a guard ends it
 * early, so a call in flight during the erasure could bring state back. The
 * alternative, refusing the policy most managed Redis services default to,
 * would push deployments to `assumeNoEviction` or away from `check()`.
 * @module
 * @internal
 */
import { MFAError } from '../../errors.ts';
import { storeError } from '../_scrub.ts';

/** `maxmemory-policy` values under which the store's durable keys are never evicted. */
export const SAFE_EVICTION_POLICIES: readonly string[] = Object.freeze([
  'noeviction',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
]);

/** Options for `RedisStore.check()`. */
export interface RedisCheckOptions {
  /**
   * Set this only when the server refuses `CONFIG GET` (managed services often
   * rename or forbid `CONFIG`) and you have confirmed in the provider's
   * settings that `maxmemory-policy` is `noeviction` or `volatile-*`. Then a
   * refused `CONFIG GET` is not an error. A policy that can be read is still
   * checked. Default `false`: a policy that cannot be read is an `ERR_STORE`.
   */
  assumeNoEviction?: boolean;
}

type ConfigClient = {
  config?: (...args: string[]) => Promise<unknown>;
  configGet?: (parameter: string) => Promise<unknown>;
  nodes?: (role: string) => unknown[];
};

/** The `maxmemory-policy` value in a CONFIG GET reply of either client, or `undefined`. */
function policyFrom(reply: unknown): string | undefined {
  if (Array.isArray(reply)) {
    // ioredis: ['maxmemory-policy', 'noeviction']
    const value: unknown = reply[1];
    return typeof value === 'string' ? value : undefined;
  }
  if (reply instanceof Map) {
    const value: unknown = reply.get('maxmemory-policy');
    return typeof value === 'string' ? value : undefined;
  }
  if (reply !== null && typeof reply === 'object' && Object.hasOwn(reply, 'maxmemory-policy')) {
    // node-redis: { 'maxmemory-policy': 'noeviction' }
    const value: unknown = (reply as Record<string, unknown>)['maxmemory-policy'];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** The clients to ask: each master of an ioredis Cluster, or the client itself. */
function targets(client: ConfigClient): ConfigClient[] {
  if (typeof client.nodes === 'function' && typeof client.config === 'function') {
    const masters = client.nodes('master') as ConfigClient[];
    if (masters.length > 0) return masters;
  }
  return [client];
}

/** Whether a CONFIG GET failed because the server (or the user's ACL) forbids it. */
function isRefused(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /^(?:NOPERM|ERR unknown command|ERR unknown subcommand)/.test(message);
}

async function readPolicy(client: ConfigClient): Promise<string | undefined> {
  if (typeof client.configGet === 'function') {
    return policyFrom(await client.configGet('maxmemory-policy'));
  }
  if (typeof client.config === 'function') {
    return policyFrom(await client.config('GET', 'maxmemory-policy'));
  }
  return undefined;
}

/**
 * Reads `maxmemory-policy` (on every master of an ioredis Cluster) and
 * refuses a policy that can evict the store's keys.
 *
 * @param client - the store's ioredis or node-redis client
 * @param options - see {@link RedisCheckOptions}
 * @throws MFAError `ERR_STORE` naming `maxmemory-policy` and the safe values
 */
export async function checkEvictionPolicy(
  client: unknown,
  options: RedisCheckOptions = {},
): Promise<void> {
  const assume = options.assumeNoEviction === true;
  const safe = SAFE_EVICTION_POLICIES.join(', ');
  for (const target of targets(client as ConfigClient)) {
    let policy: string | undefined;
    let refused: unknown;
    try {
      policy = await readPolicy(target);
    } catch (error) {
      if (!isRefused(error)) throw storeError('RedisStore.check', error);
      refused = error;
    }
    if (policy === undefined) {
      if (assume) continue;
      throw storeError(
        'RedisStore.check',
        refused ?? new Error('the client has no config or configGet method'),
        [],
        `could not read maxmemory-policy (CONFIG GET). Grant the Redis user +config|get, or, ` +
          `where the provider forbids CONFIG, confirm in its settings that maxmemory-policy is ` +
          `one of ${safe} and call check({ assumeNoEviction: true })`,
      );
    }
    if (!SAFE_EVICTION_POLICIES.includes(policy)) {
      throw new MFAError(
        'ERR_STORE',
        `RedisStore.check failed: the server's maxmemory-policy is ${JSON.stringify(policy.slice(0, 32))}, ` +
          `which can evict a user's factor and lock (an evicted record reads as no factor). ` +
          `Set maxmemory-policy to one of ${safe} (CONFIG SET maxmemory-policy noeviction, and in redis.conf)`,
      );
    }
  }
}
