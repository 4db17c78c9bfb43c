/**
 * {@link RedisStore}: the MFA store in Redis, one Lua script per operation.
 *
 * Redis runs a script without interleaving any other command, so each
 * operation of the {@link MFAStore} contract is atomic. All of a user's keys
 * carry the user id as a hash tag, so they share a cluster slot and a script
 * may touch them together.
 *
 * Key layout, with the default prefix `totpkit:` and user id `alice`:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `totpkit:{alice}:factor` | hash | the active factor: `id`, `secret`, `algorithm`, `digits`, `period`, `lastStep`, `drift`, `activatedAt` |
 * | `totpkit:{alice}:pending` | hash | the pending enrollment: `id`, `secret`, `algorithm`, `digits`, `period`, `createdAt`, `expiresAt`; expires by TTL |
 * | `totpkit:{alice}:recovery:salt` | string | the recovery code salt |
 * | `totpkit:{alice}:recovery:codes` | list | the unused recovery code hashes |
 * | `totpkit:{alice}:throttle` | hash | `otp:failures`, `otp:blockedUntil`, `recovery:failures`, `recovery:blockedUntil` |
 * @module totpkit/redis
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { checkAlgorithm, checkDigits, describe } from '../_assert.ts';
import { isEmptyRecord } from './types.ts';
import type {
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from './types.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger, toText } from './_database.ts';
import { checkEvictionPolicy, type RedisCheckOptions } from './_eviction.ts';

export type { RedisCheckOptions } from './_eviction.ts';

/**
 * An ioredis client (`Redis` or `Cluster`): scripts run through
 * `evalsha(sha, numkeys, ...keys, ...args)` and `eval(script, numkeys, ...)`.
 */
export interface IORedisScriptClient {
  /**
   * Runs a cached script.
   *
   * @param sha - the script's SHA-1 in hex
   * @param numkeys - how many of the following arguments are keys
   * @param args - the keys, then the other arguments
   * @returns the script's reply
   */
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>;
  /**
   * Runs a script (and caches it on the server).
   *
   * @param script - the Lua source
   * @param numkeys - how many of the following arguments are keys
   * @param args - the keys, then the other arguments
   * @returns the script's reply
   */
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>;
}

/**
 * A node-redis client (the `redis` package, v5 or later; a client or a
 * cluster): scripts run through `evalSha(sha, { keys, arguments })` and
 * `eval(script, { keys, arguments })`.
 */
export interface NodeRedisScriptClient {
  /**
   * Runs a cached script.
   *
   * @param sha - the script's SHA-1 in hex
   * @param options - the keys and the other arguments
   * @returns the script's reply
   */
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /**
   * Runs a script (and caches it on the server).
   *
   * @param script - the Lua source
   * @param options - the keys and the other arguments
   * @returns the script's reply
   */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis client the store can run scripts through: ioredis or node-redis. */
export type RedisScriptClient = IORedisScriptClient | NodeRedisScriptClient;

/** Options for {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected ioredis or node-redis client (or cluster client). */
  client: RedisScriptClient;
  /**
   * Prepended to every key, at most 100 characters, without `{` or `}` (they
   * would move the hash tag). Default `'totpkit:'`.
   */
  prefix?: string;
}

const DEFAULT_PREFIX = 'totpkit:';

/**
 * How long a pending enrollment's key outlives its `expiresAt`. Expiry is
 * decided against the service's `now`; the TTL, counted by Redis's own clock,
 * only reclaims the key, so it gets a margin for clock differences.
 */
const PENDING_TTL_MARGIN_MS = 60_000;

/** A Lua script with its SHA-1, the name EVALSHA knows it by. */
interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: bytesToHex(sha1(utf8ToBytes(source))) };
}

// Number arguments are sent as decimal strings formatted by JavaScript and
// stored as given; Lua converts them with tonumber() only to compare or add.
// Lua numbers are doubles, exact for the safe integers the contract uses, and
// Redis writes a number argument to a command with 17 significant digits.

/** KEYS factor, pending, salt, codes, throttle. */
const GET_USER = script(`
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('GET', KEYS[3]),
  redis.call('LRANGE', KEYS[4], 0, -1),
  redis.call('HGETALL', KEYS[5])
}`);

/**
 * KEYS factor, pending. ARGV replaceActive ('1'/'0'), ttlMs, then the
 * pending fields.
 */
const PUT_PENDING = script(`
if ARGV[1] ~= '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'secret', ARGV[4], 'algorithm', ARGV[5],
  'digits', ARGV[6], 'period', ARGV[7], 'createdAt', ARGV[8], 'expiresAt', ARGV[9])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`);

/**
 * KEYS factor, pending, salt, codes, throttle. ARGV pendingId, factorId,
 * lastStep, drift, now, salt, then the recovery code hashes.
 */
const ACTIVATE_PENDING = script(`
local p = redis.call('HMGET', KEYS[2], 'id', 'secret', 'algorithm', 'digits', 'period', 'expiresAt')
if p[1] ~= ARGV[1] or tonumber(p[6]) <= tonumber(ARGV[5]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'secret', p[2], 'algorithm', p[3], 'digits', p[4],
  'period', p[5], 'lastStep', ARGV[3], 'drift', ARGV[4], 'activatedAt', ARGV[5])
redis.call('SET', KEYS[3], ARGV[6])
if #ARGV > 6 then redis.call('RPUSH', KEYS[4], unpack(ARGV, 7)) end
return 1`);

/**
 * A Lua function shared by the two scripts that reserve an attempt:
 * `reserve(throttle key, args)` with args failures field, blockedUntil field,
 * now, freeAttempts, baseDelayMs, maxDelayMs, maxFailures ('none' for no
 * limit). The delay is attemptDelayMs() from the contract, in the same double
 * arithmetic.
 */
const RESERVE_FUNCTION = `
local function reserve(key, a)
  local failures = tonumber(redis.call('HGET', key, a[1]) or '0')
  local blockedUntil = tonumber(redis.call('HGET', key, a[2]) or '0')
  local now = tonumber(a[3])
  if a[7] ~= 'none' and failures >= tonumber(a[7]) then return {'locked'} end
  if now < blockedUntil then return {'throttled', blockedUntil - now} end
  failures = failures + 1
  local exponent = failures - tonumber(a[4])
  local delay = 0
  if exponent >= 52 then
    delay = tonumber(a[6])
  elseif exponent >= 0 then
    delay = math.min(tonumber(a[6]), tonumber(a[5]) * 2 ^ exponent)
  end
  redis.call('HSET', key, a[1], failures, a[2], now + delay)
  return {'ok', failures}
end`;

/** KEYS throttle. ARGV the arguments of reserve(). */
const RESERVE_ATTEMPT = script(`${RESERVE_FUNCTION}
return reserve(KEYS[1], ARGV)`);

/**
 * KEYS factor, pending, salt, codes, throttle. ARGV requirement ('active' or
 * 'pending'), then the arguments of reserve(). Replies with GET_USER's five
 * parts, read before the reservation, and a sixth, reserve()'s reply, only if
 * the requirement is met.
 */
const READ_AND_RESERVE = script(`${RESERVE_FUNCTION}
local user = {
  redis.call('HGETALL', KEYS[1]),
  redis.call('HGETALL', KEYS[2]),
  redis.call('GET', KEYS[3]),
  redis.call('LRANGE', KEYS[4], 0, -1),
  redis.call('HGETALL', KEYS[5])
}
local met
if ARGV[1] == 'active' then
  met = redis.call('EXISTS', KEYS[1]) == 1
else
  local expiresAt = redis.call('HGET', KEYS[2], 'expiresAt')
  met = expiresAt ~= false and tonumber(expiresAt) > tonumber(ARGV[4])
end
if met then user[6] = reserve(KEYS[5], {unpack(ARGV, 2)}) end
return user`);

/** KEYS factor, throttle. ARGV factorId, step, drift. */
const RECORD_SUCCESS = script(`
local f = redis.call('HMGET', KEYS[1], 'id', 'lastStep')
if f[1] ~= ARGV[1] or tonumber(f[2]) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lastStep', ARGV[2], 'drift', ARGV[3])
redis.call('HDEL', KEYS[2], 'otp:failures', 'otp:blockedUntil')
return 1`);

/** KEYS factor, salt, codes. ARGV factorId, salt, then the hashes. */
const REPLACE_RECOVERY_CODES = script(`
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
if #ARGV > 2 then redis.call('RPUSH', KEYS[3], unpack(ARGV, 3)) end
return 1`);

/** KEYS factor. ARGV factorId, sealedSecret. */
const REPLACE_SEALED_SECRET = script(`
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'secret', ARGV[2])
return 1`);

/** KEYS codes, throttle. ARGV hash. */
const CONSUME_RECOVERY_CODE = script(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
return 1`);

/** KEYS throttle. ARGV the scope's two fields. */
const RESET_THROTTLE = script(`
redis.call('HDEL', KEYS[1], ARGV[1], ARGV[2])
return 1`);

/** KEYS factor, pending, salt, codes. */
const DELETE_FACTOR = script(`
if redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) > 0 then return 1 end
return 0`);

type Run = (script: Script, keys: string[], args: string[]) => Promise<unknown>;

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Adapts a client to one way of running a script: EVALSHA, then EVAL if not cached. */
function scriptRunner(client: RedisScriptClient): Run {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(
      `"client" must be an ioredis or node-redis client, got ${describe(client)}`,
    );
  }
  if ('evalSha' in client && typeof client.evalSha === 'function') {
    const nodeRedis = client;
    return async ({ source, sha }, keys, args) => {
      const options = { keys, arguments: args };
      try {
        return await nodeRedis.evalSha(sha, options);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return nodeRedis.eval(source, options);
      }
    };
  }
  if ('evalsha' in client && typeof client.evalsha === 'function') {
    const ioredis = client;
    return async ({ source, sha }, keys, args) => {
      try {
        return await ioredis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return ioredis.eval(source, keys.length, ...keys, ...args);
      }
    };
  }
  throw new TypeError(
    `"client" must be an ioredis or node-redis client (with evalsha or evalSha), got ${describe(client)}`,
  );
}

function toArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`the store returned a bad "${field}": ${describe(value)}`);
  }
  return value;
}

/** A flat HGETALL reply as a map (an empty map for a missing key). */
function toHash(value: unknown, field: string): Map<string, unknown> {
  const flat = toArray(value, field);
  const hash = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) hash.set(toText(flat[i], field), flat[i + 1]);
  return hash;
}

function factorParams(hash: Map<string, unknown>, key: string) {
  return {
    algorithm: checkAlgorithm(toText(hash.get('algorithm'), `${key}.algorithm`)),
    digits: checkDigits(toInteger(hash.get('digits'), `${key}.digits`)),
    period: toInteger(hash.get('period'), `${key}.period`),
  };
}

/** The reply of reserve(), in RESERVE_ATTEMPT and READ_AND_RESERVE. */
function toReservation(value: unknown): AttemptReservation {
  const reply = toArray(value, 'reservation');
  const outcome = toText(reply[0], 'reservation');
  if (outcome === 'ok') return { ok: true, failures: toInteger(reply[1], 'failures') };
  if (outcome === 'locked') return { ok: false, reason: 'locked' };
  return { ok: false, reason: 'throttled', retryAfterMs: toInteger(reply[1], 'retryAfterMs') };
}

/** GET_USER's reply, or the first five parts of READ_AND_RESERVE's, as a record. */
function toRecord(userId: string, reply: unknown[]): UserRecord | null {
  const [factorReply, pendingReply, saltReply, codesReply, throttleReply] = reply;
  const factor = toHash(factorReply, 'factor');
  const pending = toHash(pendingReply, 'pending');
  const throttle = toHash(throttleReply, 'throttle');
  const record: UserRecord = {
    userId,
    active:
      factor.size === 0
        ? null
        : {
            id: toText(factor.get('id'), 'factor.id'),
            sealedSecret: toText(factor.get('secret'), 'factor.secret'),
            ...factorParams(factor, 'factor'),
            lastStep: toInteger(factor.get('lastStep'), 'factor.lastStep'),
            drift: toInteger(factor.get('drift'), 'factor.drift'),
            activatedAt: toInteger(factor.get('activatedAt'), 'factor.activatedAt'),
          },
    pending:
      pending.size === 0
        ? null
        : {
            id: toText(pending.get('id'), 'pending.id'),
            sealedSecret: toText(pending.get('secret'), 'pending.secret'),
            ...factorParams(pending, 'pending'),
            createdAt: toInteger(pending.get('createdAt'), 'pending.createdAt'),
            expiresAt: toInteger(pending.get('expiresAt'), 'pending.expiresAt'),
          },
    recoveryCodes:
      saltReply == null
        ? null
        : {
            salt: toText(saltReply, 'recovery.salt'),
            hashes: toArray(codesReply, 'recovery.codes').map((hash) =>
              toText(hash, 'recovery.codes'),
            ),
          },
    throttle: {
      otp: {
        failures: toInteger(throttle.get('otp:failures') ?? 0, 'otp:failures'),
        blockedUntil: toInteger(throttle.get('otp:blockedUntil') ?? 0, 'otp:blockedUntil'),
      },
      recovery: {
        failures: toInteger(throttle.get('recovery:failures') ?? 0, 'recovery:failures'),
        blockedUntil: toInteger(
          throttle.get('recovery:blockedUntil') ?? 0,
          'recovery:blockedUntil',
        ),
      },
    },
  };
  return isEmptyRecord(record) ? null : record;
}

/** ARGV of reserve(), after checking what the script trusts. */
function reserveArguments(scope: ThrottleScope, now: number, policy: AttemptPolicy): string[] {
  checkScope(scope);
  checkPolicy(policy);
  return [
    `${scope}:failures`,
    `${scope}:blockedUntil`,
    String(now),
    String(policy.freeAttempts),
    String(policy.baseDelayMs),
    String(policy.maxDelayMs),
    policy.maxFailures === Infinity ? 'none' : String(policy.maxFailures),
  ];
}

/** The keys of one user, all with the user id as their hash tag. */
interface UserKeys {
  factor: string;
  pending: string;
  salt: string;
  codes: string;
  throttle: string;
}

/**
 * An {@link MFAStore} in Redis (tested with Redis 7), through an ioredis or a
 * node-redis client. Each operation is one `EVALSHA` of a small Lua script
 * (falling back to `EVAL` when the server's script cache is empty), so each is
 * atomic and costs one round trip. Pending enrollments expire by TTL.
 *
 * Replay protection and lockouts are only as durable as Redis itself: a
 * server that restarts without its data forgets which codes were used. Run it
 * with an append-only file (`appendonly yes`; `appendfsync always` to lose
 * nothing) if that matters to you; `docs/stores.md` has the details.
 *
 * @example
 * ```ts fragment
 * import { Redis } from 'ioredis'; // or: import { createClient } from 'redis';
 * import { createMFA, createAESGCMCipher } from 'totpkit';
 * import { RedisStore } from 'totpkit/redis';
 *
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL!) });
 * const cipher = createAESGCMCipher({ keys: { k1: keyFromYourSecretManager }, primaryKeyId: 'k1' });
 * const mfa = createMFA({ store, issuer: 'Acme', cipher });
 * ```
 */
export class RedisStore implements MFAStore {
  readonly #run: Run;
  readonly #prefix: string;
  readonly #client: RedisScriptClient;

  /**
   * @param options - the client and, optionally, the key prefix
   * @throws TypeError if `client` is neither an ioredis nor a node-redis client,
   *   or `prefix` is not a string
   * @throws RangeError if `prefix` is too long or contains `{` or `}`
   */
  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`"options" must be an object, got ${describe(options)}`);
    }
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    if (typeof prefix !== 'string') {
      throw new TypeError(`"prefix" must be a string, got ${describe(prefix)}`);
    }
    if (prefix.length > 100 || /[{}]/.test(prefix)) {
      throw new RangeError(`"prefix" must be at most 100 characters, without { or }`);
    }
    this.#run = scriptRunner(options.client);
    this.#prefix = prefix;
    this.#client = options.client;
  }

  /**
   * Checks that the server cannot evict the store's keys: run it once at
   * startup, as `migrate()` for PostgreSQL. Under `maxmemory` with an
   * `allkeys-*` policy, Redis may evict a user's factor and lock when memory
   * runs short; the user then reads as "no factor, no lock", and an app that
   * asks `status()` whether to request a code signs them in with the password
   * alone. `noeviction` and the `volatile-*` policies are safe (the store's
   * durable keys have no TTL). On an ioredis Cluster, every master is asked.
   *
   * When the server refuses `CONFIG GET` (a renamed or forbidden `CONFIG`, or
   * an ACL without `+config|get`), the check fails too, unless you pass
   * `assumeNoEviction: true` after confirming the policy in your provider's
   * settings.
   *
   * @param options - see {@link RedisCheckOptions}
   * @returns once the policy is known to be safe
   * @throws MFAError `ERR_STORE` whose message names `maxmemory-policy` and
   *   the safe values, for an evicting policy or one that cannot be read
   * @example
   * ```ts
   * import { Redis } from 'ioredis';
   * import { RedisStore } from 'totpkit/redis';
   * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL!) });
   * await store.check(); // at startup: refuses maxmemory-policy allkeys-*
   * ```
   */
  async check(options?: RedisCheckOptions): Promise<void> {
    await checkEvictionPolicy(this.#client, options);
  }

  #keys(userId: string): UserKeys {
    // The braces make the user id the hash tag. A user id containing '}'
    // only shortens the tag, identically for all of that user's keys.
    const base = `${this.#prefix}{${userId}}:`;
    return {
      factor: `${base}factor`,
      pending: `${base}pending`,
      salt: `${base}recovery:salt`,
      codes: `${base}recovery:codes`,
      throttle: `${base}throttle`,
    };
  }

  /**
   * Reads the user's keys in one script ({@link MFAStore.getUser}). An expired pending enrollment
   * is returned until its key's TTL (its lifetime plus one minute, by the Redis server's clock)
   * removes it: the service checks expiry.
   *
   * @param userId - the user
   * @param now - Unix milliseconds (unused: expiry is decided by the service)
   * @returns the record, or `null` if the store holds nothing for the user
   */
  async getUser(userId: string, now: number): Promise<UserRecord | null> {
    const keys = this.#keys(userId);
    const reply = await this.#run(
      GET_USER,
      [keys.factor, keys.pending, keys.salt, keys.codes, keys.throttle],
      [],
    );
    return toRecord(userId, toArray(reply, 'user'));
  }

  /**
   * Creates or replaces the user's pending enrollment, unless the user has an active factor and
   * `replaceActive` is false ({@link MFAStore.putPending}).
   *
   * One script; the pending hash gets a TTL of its lifetime plus one minute.
   *
   * @param userId - the user
   * @param pending - the enrollment, its secret sealed
   * @param replaceActive - whether an active factor may be replaced once this enrollment is bound
   * @returns `false` (writing nothing) if an active factor is in the way
   */
  async putPending(
    userId: string,
    pending: PendingEnrollment,
    replaceActive: boolean,
  ): Promise<boolean> {
    const keys = this.#keys(userId);
    const ttlMs = Math.max(0, pending.expiresAt - pending.createdAt) + PENDING_TTL_MARGIN_MS;
    const reply = await this.#run(
      PUT_PENDING,
      [keys.factor, keys.pending],
      [
        replaceActive ? '1' : '0',
        String(ttlMs),
        pending.id,
        pending.sealedSecret,
        pending.algorithm,
        String(pending.digits),
        String(pending.period),
        String(pending.createdAt),
        String(pending.expiresAt),
      ],
    );
    return toInteger(reply, 'putPending') === 1;
  }

  /**
   * Promotes the pending enrollment `pendingId` to the active factor if it is still pending and
   * `now < expiresAt`, replacing any previous factor and its recovery codes and resetting both
   * throttle scopes ({@link MFAStore.activatePending}).
   *
   * One script.
   *
   * @param userId - the user
   * @param pendingId - the enrollment being bound
   * @param activation - the new factor's id, last step, drift and recovery codes, and the time
   * @returns `false` (writing nothing) if the enrollment is gone, replaced or expired
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(
      ACTIVATE_PENDING,
      [keys.factor, keys.pending, keys.salt, keys.codes, keys.throttle],
      [
        pendingId,
        activation.factorId,
        String(activation.lastStep),
        String(activation.drift),
        String(activation.now),
        activation.recoveryCodes.salt,
        ...activation.recoveryCodes.hashes,
      ],
    );
    return toInteger(reply, 'activatePending') === 1;
  }

  /**
   * Counts one attempt in `scope` before the code is checked, unless the scope is locked or inside
   * a back-off delay ({@link MFAStore.reserveAttempt}).
   *
   * One script.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix milliseconds
   * @param policy - the throttle rules (safe integers; `maxFailures` may be `Infinity`)
   * @returns the reservation, or why there is none
   */
  async reserveAttempt(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): Promise<AttemptReservation> {
    const reply = await this.#run(
      RESERVE_ATTEMPT,
      [this.#keys(userId).throttle],
      reserveArguments(scope, now, policy),
    );
    return toReservation(reply);
  }

  /**
   * Reads the user's keys and, if they meet `requirement`, counts one attempt in `scope` unless the
   * scope is locked or inside a back-off delay ({@link MFAStore.readAndReserve}).
   *
   * One script: GET_USER's reads, then the reservation of {@link RedisStore.reserveAttempt} if the
   * requirement is met. Nothing is written for a user who does not meet it.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix milliseconds
   * @param policy - the throttle rules (safe integers; `maxFailures` may be `Infinity`)
   * @param requirement - `'active'` (an active factor) or `'pending'` (a pending enrollment with
   *   `now < expiresAt`)
   * @returns the record as {@link RedisStore.getUser} would have returned it before the
   *   reservation, and the reservation (`null`, writing nothing, if the requirement is not met)
   */
  async readAndReserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
    requirement: AttemptRequirement,
  ): Promise<ReadAndReserveResult> {
    checkRequirement(requirement);
    const keys = this.#keys(userId);
    const reply = toArray(
      await this.#run(
        READ_AND_RESERVE,
        [keys.factor, keys.pending, keys.salt, keys.codes, keys.throttle],
        [requirement, ...reserveArguments(scope, now, policy)],
      ),
      'readAndReserve',
    );
    const record = toRecord(userId, reply);
    return { record, reservation: reply[5] == null ? null : toReservation(reply[5]) };
  }

  /**
   * Records an accepted code: if factor `factorId` is still active and `step` is above its last
   * step, stores `step` and `drift` and resets the `otp` scope ({@link MFAStore.recordSuccess}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor the code was checked against
   * @param step - the accepted time step
   * @param drift - the new drift estimate, in steps
   * @returns `false` (writing nothing) for a replay or a factor that changed
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
  ): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(
      RECORD_SUCCESS,
      [keys.factor, keys.throttle],
      [factorId, String(step), String(drift)],
    );
    return toInteger(reply, 'recordSuccess') === 1;
  }

  /**
   * Replaces the recovery codes of factor `factorId` if it is still active
   * ({@link MFAStore.replaceRecoveryCodes}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor the codes belong to
   * @param codes - the salt and the hashes
   * @returns `false` if the factor is gone or changed
   */
  async replaceRecoveryCodes(
    userId: string,
    factorId: string,
    codes: RecoveryCodeSet,
  ): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(
      REPLACE_RECOVERY_CODES,
      [keys.factor, keys.salt, keys.codes],
      [factorId, codes.salt, ...codes.hashes],
    );
    return toInteger(reply, 'replaceRecoveryCodes') === 1;
  }

  /**
   * Replaces the sealed secret of factor `factorId` if it is still active, changing nothing else
   * ({@link MFAStore.replaceSealedSecret}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param sealedSecret - the secret sealed anew
   * @returns `false` if the factor is gone or changed
   */
  async replaceSealedSecret(
    userId: string,
    factorId: string,
    sealedSecret: string,
  ): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(REPLACE_SEALED_SECRET, [keys.factor], [factorId, sealedSecret]);
    return toInteger(reply, 'replaceSealedSecret') === 1;
  }

  /**
   * Removes one recovery code hash and, if it was there, resets both throttle scopes
   * ({@link MFAStore.consumeRecoveryCode}).
   *
   * One script (`LREM` of one occurrence).
   *
   * @param userId - the user
   * @param hash - the hash of the submitted code
   * @returns `true` only for the one call that removed it
   */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(CONSUME_RECOVERY_CODE, [keys.codes, keys.throttle], [hash]);
    return toInteger(reply, 'consumeRecoveryCode') === 1;
  }

  /**
   * Resets a throttle scope to no failures and no delay: an admin unlock
   * ({@link MFAStore.resetThrottle}).
   *
   * One script.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @returns once the scope is reset
   */
  async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    checkScope(scope);
    await this.#run(
      RESET_THROTTLE,
      [this.#keys(userId).throttle],
      [`${scope}:failures`, `${scope}:blockedUntil`],
    );
  }

  /**
   * Removes the active factor, the pending enrollment and the recovery codes, keeping the throttle
   * state ({@link MFAStore.deleteFactor}).
   *
   * One script (`DEL` of all but the throttle key).
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactor(userId: string): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(
      DELETE_FACTOR,
      [keys.factor, keys.pending, keys.salt, keys.codes],
      [],
    );
    return toInteger(reply, 'deleteFactor') === 1;
  }
}
