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
 * | `totpkit:{alice}:factors` | hash | one field per factor id: the factor as JSON (name, sealed secret, parameters, its own `lastStep`, `drift`, times; numbers as decimal strings) |
 * | `totpkit:{alice}:enrollment` | string | the pending enrollment as JSON; expires by TTL |
 * | `totpkit:{alice}:recovery:salt` | string | the recovery code salt |
 * | `totpkit:{alice}:recovery:codes` | list | the unused recovery code hashes |
 * | `totpkit:{alice}:throttle` | hash | `otp:failures`, `otp:blockedUntil`, `recovery:failures`, `recovery:blockedUntil` |
 *
 * Keys written by 0.1.0 (`…:factor` and `…:pending` hashes) are read and
 * upgraded in place by the first script that touches the user.
 * @module totpkit/redis
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe } from '../_assert.ts';
import { isEmptyRecord } from './types.ts';
import type {
  ActiveFactor,
  AddFactorOptions,
  AddFactorResult,
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  MFAStore,
  PendingActivation,
  PendingEnrollment,
  FactorRemoval,
  FactorRenameOutcome,
  ReadAndReserveResult,
  RecoveryCodeSet,
  ThrottleScope,
  UserRecord,
} from './types.ts';
import { decodeFactors, decodePending, encodeFactor, encodePending } from './_codec.ts';
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

/**
 * Every script that reads or writes a user's factors gets the user's seven
 * keys, in this order: factors, enrollment, salt, codes, throttle, and the
 * two keys of 0.1.0's layout, factor and pending. `upgrade()` runs first in
 * each of them: it moves a 0.1.0 factor hash into the `factors` hash (named
 * "Authenticator") and a 0.1.0 pending hash into the `enrollment` string (its
 * TTL kept; replacing that factor once bound, as 0.1.0's `replaceActive`
 * did), so records written by 0.1.0 are read, and upgraded, in place.
 */

/** The upgrade of 0.1.0 keys, and helpers every factor script shares. */
const PRELUDE = `
local function hash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function upgrade()
  local legacy = nil
  if redis.call('EXISTS', KEYS[6]) == 1 then
    local f = hash(KEYS[6])
    legacy = f.id
    redis.call('HSET', KEYS[1], f.id, cjson.encode({id = f.id, name = 'Authenticator',
      nameKey = 'authenticator', sealedSecret = f.secret, algorithm = f.algorithm,
      digits = f.digits, period = f.period, lastStep = f.lastStep, drift = f.drift,
      createdAt = f.activatedAt, activatedAt = f.activatedAt, lastUsedAt = cjson.null}))
    redis.call('DEL', KEYS[6])
  end
  if redis.call('EXISTS', KEYS[7]) == 1 then
    local p = hash(KEYS[7])
    local ttl = redis.call('PTTL', KEYS[7])
    redis.call('SET', KEYS[2], cjson.encode({id = p.id, name = 'Authenticator',
      nameKey = 'authenticator', sealedSecret = p.secret, algorithm = p.algorithm,
      digits = p.digits, period = p.period, createdAt = p.createdAt, expiresAt = p.expiresAt,
      replaceFactorId = legacy or cjson.null}))
    if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
    redis.call('DEL', KEYS[7])
  end
end
upgrade()
local function nameTaken(nameKey, except)
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    local f = cjson.decode(v)
    if f.id ~= except and f.nameKey == nameKey then return true end
  end
  return false
end
local function firstSet(first, a, from)
  if first then
    redis.call('DEL', KEYS[3], KEYS[4])
    if a[from] == '1' then
      redis.call('SET', KEYS[3], a[from + 1])
      if #a > from + 1 then redis.call('RPUSH', KEYS[4], unpack(a, from + 2)) end
    end
  end
end
local function user()
  return {
    redis.call('HGETALL', KEYS[1]),
    redis.call('GET', KEYS[2]),
    redis.call('GET', KEYS[3]),
    redis.call('LRANGE', KEYS[4], 0, -1),
    redis.call('HGETALL', KEYS[5])
  }
end`;

/** The seven keys. */
const GET_USER = script(`${PRELUDE}
return user()`);

/** ARGV the enrollment's JSON, its TTL in ms. */
const PUT_PENDING = script(`${PRELUDE}
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1`);

/**
 * ARGV pendingId, lastStep, drift, now, maxFactors, then '1', salt and the
 * hashes of a first set ('0' for none). Replies 'ok:first:replaced' or the
 * refusal.
 */
const ACTIVATE_PENDING = script(`${PRELUDE}
local raw = redis.call('GET', KEYS[2])
if not raw then return 'not_pending' end
local p = cjson.decode(raw)
if p.id ~= ARGV[1] or tonumber(p.expiresAt) <= tonumber(ARGV[4]) then return 'not_pending' end
local count = redis.call('HLEN', KEYS[1])
local rep = p.replaceFactorId
local replaced = rep ~= cjson.null and rep ~= nil and redis.call('HEXISTS', KEYS[1], rep) == 1
local kept = count
if replaced then kept = count - 1 else rep = nil end
if kept + 1 > tonumber(ARGV[5]) then return 'factor_limit' end
if nameTaken(p.nameKey, rep) then return 'name_taken' end
if replaced then redis.call('HDEL', KEYS[1], rep) end
redis.call('HSET', KEYS[1], p.id, cjson.encode({id = p.id, name = p.name, nameKey = p.nameKey,
  sealedSecret = p.sealedSecret, algorithm = p.algorithm, digits = p.digits, period = p.period,
  lastStep = ARGV[2], drift = ARGV[3], createdAt = p.createdAt, activatedAt = ARGV[4],
  lastUsedAt = cjson.null}))
redis.call('DEL', KEYS[2], KEYS[5])
firstSet(count == 0, ARGV, 6)
return 'ok:' .. (count == 0 and '1' or '0') .. ':' .. (replaced and '1' or '0')`);

/** ARGV the factor's JSON, its id, its nameKey, maxFactors, then the first set as in ACTIVATE_PENDING. */
const ADD_FACTOR = script(`${PRELUDE}
local count = redis.call('HLEN', KEYS[1])
if count + 1 > tonumber(ARGV[4]) then return 'factor_limit' end
if nameTaken(ARGV[3], nil) then return 'name_taken' end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
firstSet(count == 0, ARGV, 5)
return 'ok:' .. (count == 0 and '1' or '0') .. ':0'`);

/**
 * A Lua function shared by the two scripts that reserve an attempt:
 * `reserve(throttle key, args, factors)` with args failures field,
 * blockedUntil field, now, freeAttempts, baseDelayMs, maxDelayMs, maxFailures
 * ('none' for no limit), scope. The delay is attemptDelayMs() and the otp
 * limit attemptLimit() from the contract, in the same double arithmetic.
 */
const RESERVE_FUNCTION = `
local function reserve(key, a, factors)
  local failures = tonumber(redis.call('HGET', key, a[1]) or '0')
  local blockedUntil = tonumber(redis.call('HGET', key, a[2]) or '0')
  local now = tonumber(a[3])
  if a[7] ~= 'none' then
    local limit = tonumber(a[7])
    if a[8] == 'otp' then limit = math.max(1, math.ceil(limit / math.max(1, factors))) end
    if failures >= limit then return {'locked'} end
  end
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

/** ARGV the arguments of reserve(). */
const RESERVE_ATTEMPT = script(`${PRELUDE}${RESERVE_FUNCTION}
return reserve(KEYS[5], ARGV, redis.call('HLEN', KEYS[1]))`);

/**
 * ARGV requirement ('active' or 'pending'), then the arguments of reserve().
 * Replies with GET_USER's five parts, read before the reservation, and a
 * sixth, reserve()'s reply, only if the requirement is met.
 */
const READ_AND_RESERVE = script(`${PRELUDE}${RESERVE_FUNCTION}
local u = user()
local factors = redis.call('HLEN', KEYS[1])
local met
if ARGV[1] == 'active' then
  met = factors > 0
else
  met = u[2] ~= false and tonumber(cjson.decode(u[2]).expiresAt) > tonumber(ARGV[4])
end
if met then u[6] = reserve(KEYS[5], {unpack(ARGV, 2)}, factors) end
return u`);

/** ARGV factorId, step, drift, now. */
const RECORD_SUCCESS = script(`${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local f = cjson.decode(raw)
if tonumber(f.lastStep) >= tonumber(ARGV[2]) then return 0 end
f.lastStep = ARGV[2]
f.drift = ARGV[3]
f.lastUsedAt = ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
redis.call('HDEL', KEYS[5], 'otp:failures', 'otp:blockedUntil')
return 1`);

/** ARGV salt, then the hashes. */
const REPLACE_RECOVERY_CODES = script(`${PRELUDE}
if redis.call('HLEN', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
if #ARGV > 1 then redis.call('RPUSH', KEYS[4], unpack(ARGV, 2)) end
return 1`);

/** ARGV id (a factor's or the enrollment's), sealedSecret. */
const REPLACE_SEALED_SECRET = script(`${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local f = cjson.decode(raw)
  f.sealedSecret = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
  return 1
end
raw = redis.call('GET', KEYS[2])
if not raw then return 0 end
local p = cjson.decode(raw)
if p.id ~= ARGV[1] then return 0 end
p.sealedSecret = ARGV[2]
redis.call('SET', KEYS[2], cjson.encode(p), 'KEEPTTL')
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

/** KEYS throttle. ARGV the scope's two fields, failures, blockedUntil. */
const REFUND_ATTEMPT = script(`
local failures = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if failures ~= tonumber(ARGV[3]) or failures < 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], failures - 1, ARGV[2], ARGV[4])
return 1`);

/** ARGV factorId, name, nameKey. */
const RENAME_FACTOR = script(`${PRELUDE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'not_found' end
if nameTaken(ARGV[3], ARGV[1]) then return 'name_taken' end
local f = cjson.decode(raw)
f.name = ARGV[2]
f.nameKey = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
return 'renamed'`);

/** ARGV factorId. Replies { removed (0/1), remaining }. */
const REMOVE_FACTOR = script(`${PRELUDE}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return {0, redis.call('HLEN', KEYS[1])} end
local left = redis.call('HLEN', KEYS[1])
if left == 0 then redis.call('DEL', KEYS[2], KEYS[3], KEYS[4]) end
return {1, left}`);

/** The seven keys. */
const DELETE_FACTORS = script(`${PRELUDE}
if redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) > 0 then return 1 end
return 0`);

/** The seven keys. Replies whether anything but zero failures was held. */
const DELETE_USER = script(`${PRELUDE}
local t = hash(KEYS[5])
local held = redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0
  or tonumber(t['otp:failures'] or '0') > 0 or tonumber(t['recovery:failures'] or '0') > 0
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
if held then return 1 end
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
  const [factorsReply, enrollmentReply, saltReply, codesReply, throttleReply] = reply;
  const throttle = toHash(throttleReply, 'throttle');
  const record: UserRecord = {
    userId,
    factors: decodeFactors(toHash(factorsReply, 'factors').values()),
    pending: enrollmentReply == null ? null : decodePending(toText(enrollmentReply, 'enrollment')),
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

/** ACTIVATE_PENDING's and ADD_FACTOR's reply. */
function toAddResult(reply: unknown): AddFactorResult {
  const text = toText(reply, 'outcome');
  const match = /^ok:([01]):([01])$/.exec(text);
  if (match) return { ok: true, firstFactor: match[1] === '1', replaced: match[2] === '1' };
  if (text === 'not_pending' || text === 'factor_limit' || text === 'name_taken') {
    return { ok: false, reason: text };
  }
  throw new TypeError(`the store returned a bad outcome: ${describe(text)}`);
}

/** The first set's ARGV: '1', salt and hashes, or '0'. */
function firstSetArguments(codes: RecoveryCodeSet | null): string[] {
  return codes === null ? ['0'] : ['1', codes.salt, ...codes.hashes];
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
    scope,
  ];
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

  /** The user's seven keys , all with the user id as their hash tag. */
  #keys(userId: string): string[] {
    // The braces make the user id the hash tag. A user id containing '}'
    // only shortens the tag, identically for all of that user's keys.
    const base = `${this.#prefix}{${userId}}:`;
    const keys = ['factors', 'enrollment', 'recovery:salt', 'recovery:codes', 'throttle'];
    const legacy = ['factor', 'pending']; // 0.1.0's layout, upgraded in place
    return [...keys, ...legacy].map((name) => `${base}${name}`);
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
    void now;
    const reply = await this.#run(GET_USER, this.#keys(userId), []);
    return toRecord(userId, toArray(reply, 'getUser'));
  }

  /**
   * Creates or replaces the pending enrollment ({@link MFAStore.putPending}). Its key expires a
   * minute after `expiresAt` (by the Redis server's clock).
   *
   * One script.
   *
   * @param userId - the user
   * @param pending - the enrollment, its secret sealed
   * @returns once stored
   */
  async putPending(userId: string, pending: PendingEnrollment): Promise<void> {
    const ttlMs = Math.max(0, pending.expiresAt - pending.createdAt) + PENDING_TTL_MARGIN_MS;
    await this.#run(PUT_PENDING, this.#keys(userId), [
      JSON.stringify(encodePending(pending)),
      String(ttlMs),
    ]);
  }

  /**
   * Binds the pending enrollment as a factor if it is still pending, `now < expiresAt`, the
   * limit and the name allow, removing its `replaceFactorId` and resetting both throttle scopes
   * ({@link MFAStore.activatePending}).
   *
   * One script.
   *
   * @param userId - the user
   * @param pendingId - the enrollment being bound
   * @param activation - its last step, drift, the time, the factor limit and recovery codes
   * @returns the outcome; a refusal writes nothing
   */
  async activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    const reply = await this.#run(ACTIVATE_PENDING, this.#keys(userId), [
      pendingId,
      String(activation.lastStep),
      String(activation.drift),
      String(activation.now),
      String(activation.maxFactors),
      ...firstSetArguments(activation.recoveryCodes),
    ]);
    return toAddResult(reply);
  }

  /**
   * Adds an active factor if the limit and the name allow ({@link MFAStore.addFactor}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factor - the factor, its secret sealed
   * @param options - the factor limit and the recovery codes for a first factor
   * @returns the outcome; a refusal writes nothing
   */
  async addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    const reply = await this.#run(ADD_FACTOR, this.#keys(userId), [
      JSON.stringify(encodeFactor(factor)),
      factor.id,
      factor.nameKey,
      String(options.maxFactors),
      ...firstSetArguments(options.recoveryCodes),
    ]);
    return toAddResult(reply);
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
    const args = reserveArguments(scope, now, policy);
    return toReservation(await this.#run(RESERVE_ATTEMPT, this.#keys(userId), args));
  }

  /**
   * Reads the user's keys and, if they meet `requirement`, counts one attempt in `scope`
   * ({@link MFAStore.readAndReserve}).
   *
   * One script.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param now - Unix milliseconds
   * @param policy - the throttle rules (safe integers; `maxFailures` may be `Infinity`)
   * @param requirement - `'active'` or `'pending'`
   * @returns the record as it was before the reservation, and the reservation (`null`, writing
   *   nothing, if the requirement is not met)
   */
  async readAndReserve(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
    requirement: AttemptRequirement,
  ): Promise<ReadAndReserveResult> {
    const args = [checkRequirement(requirement), ...reserveArguments(scope, now, policy)];
    const reply = toArray(
      await this.#run(READ_AND_RESERVE, this.#keys(userId), args),
      'readAndReserve',
    );
    return {
      record: toRecord(userId, reply),
      reservation: reply[5] === undefined ? null : toReservation(reply[5]),
    };
  }

  /**
   * Records an accepted code for factor `factorId` if `step` is above its last step
   * ({@link MFAStore.recordSuccess}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param step - the accepted time step
   * @param drift - the new drift estimate, in steps
   * @param now - Unix ms (becomes `lastUsedAt`)
   * @returns `false` (writing nothing) for a replay or a removed factor
   */
  async recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    const args = [factorId, String(step), String(drift), String(now)];
    return toInteger(await this.#run(RECORD_SUCCESS, this.#keys(userId), args), 'reply') === 1;
  }

  /**
   * Replaces the user's recovery codes if the user has a factor
   * ({@link MFAStore.replaceRecoveryCodes}).
   *
   * One script.
   *
   * @param userId - the user
   * @param codes - the salt and the hashes
   * @returns `false` if the user has no active factor
   */
  async replaceRecoveryCodes(userId: string, codes: RecoveryCodeSet): Promise<boolean> {
    const args = [codes.salt, ...codes.hashes];
    return (
      toInteger(await this.#run(REPLACE_RECOVERY_CODES, this.#keys(userId), args), 'reply') === 1
    );
  }

  /**
   * Replaces the sealed secret of the factor or pending enrollment `id`
   * ({@link MFAStore.replaceSealedSecret}).
   *
   * One script.
   *
   * @param userId - the user
   * @param id - the factor's or the pending enrollment's id
   * @param sealedSecret - the secret sealed anew
   * @returns `false` if there is no such factor or pending enrollment
   */
  async replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    const reply = await this.#run(REPLACE_SEALED_SECRET, this.#keys(userId), [id, sealedSecret]);
    return toInteger(reply, 'reply') === 1;
  }

  /**
   * Removes one recovery code hash and, if it was there, resets both throttle scopes
   * ({@link MFAStore.consumeRecoveryCode}).
   *
   * One script.
   *
   * @param userId - the user
   * @param hash - the hash of the submitted code
   * @returns `true` only for the one call that removed it
   */
  async consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    const keys = this.#keys(userId);
    const reply = await this.#run(CONSUME_RECOVERY_CODE, [keys[3]!, keys[4]!], [hash]);
    return toInteger(reply, 'reply') === 1;
  }

  /**
   * Resets a throttle scope ({@link MFAStore.resetThrottle}).
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
      [this.#keys(userId)[4]!],
      [`${scope}:failures`, `${scope}:blockedUntil`],
    );
  }

  /**
   * Takes back an unchecked attempt if the scope still counts `failures`
   * ({@link MFAStore.refundAttempt}).
   *
   * One script.
   *
   * @param userId - the user
   * @param scope - `'otp'` or `'recovery'`
   * @param failures - the count the reservation returned
   * @param blockedUntil - the scope's `blockedUntil` before the reservation
   * @returns whether the attempt was taken back
   */
  async refundAttempt(
    userId: string,
    scope: ThrottleScope,
    failures: number,
    blockedUntil: number,
  ): Promise<boolean> {
    checkScope(scope);
    const reply = await this.#run(
      REFUND_ATTEMPT,
      [this.#keys(userId)[4]!],
      [`${scope}:failures`, `${scope}:blockedUntil`, String(failures), String(blockedUntil)],
    );
    return toInteger(reply, 'reply') === 1;
  }

  /**
   * Renames a factor unless another has the same `nameKey` ({@link MFAStore.renameFactor}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @param name - the new name
   * @param nameKey - the name after NFKC and case folding
   * @returns `'renamed'`, `'not_found'` or `'name_taken'`
   */
  async renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    const reply = toText(
      await this.#run(RENAME_FACTOR, this.#keys(userId), [factorId, name, nameKey]),
      'outcome',
    );
    if (reply === 'renamed' || reply === 'not_found' || reply === 'name_taken') return reply;
    throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
  }

  /**
   * Removes a factor; the last one takes the enrollment and the recovery codes with it
   * ({@link MFAStore.removeFactor}).
   *
   * One script.
   *
   * @param userId - the user
   * @param factorId - the factor
   * @returns whether it was removed, and how many factors are left
   */
  async removeFactor(userId: string, factorId: string): Promise<FactorRemoval> {
    const reply = toArray(
      await this.#run(REMOVE_FACTOR, this.#keys(userId), [factorId]),
      'removeFactor',
    );
    return {
      removed: toInteger(reply[0], 'removed') === 1,
      remaining: toInteger(reply[1], 'remaining'),
    };
  }

  /**
   * Removes every factor, the enrollment and the recovery codes, keeping the throttle state
   * ({@link MFAStore.deleteFactors}).
   *
   * One script.
   *
   * @param userId - the user
   * @returns whether there was anything to remove
   */
  async deleteFactors(userId: string): Promise<boolean> {
    return toInteger(await this.#run(DELETE_FACTORS, this.#keys(userId), []), 'reply') === 1;
  }

  /**
   * Erases all of the user's keys, throttle state included ({@link MFAStore.deleteUser}).
   *
   * One script.
   *
   * @param userId - the user
   * @returns whether they held anything
   */
  async deleteUser(userId: string): Promise<boolean> {
    return toInteger(await this.#run(DELETE_USER, this.#keys(userId), []), 'reply') === 1;
  }
}
