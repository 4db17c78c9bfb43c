/**
 * Login: reading the user's keys, reserving an attempt before a code is
 * checked (with the read, in `readAndReserve`), recording an accepted code,
 * and the throttle's reset and refund, each one script.
 * @module
 */
import type {
  AttemptPolicy,
  AttemptRequirement,
  AttemptReservation,
  ReadAndReserveResult,
  ThrottleScope,
  UserRecord,
} from '../contract.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger, toText } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE, toArray, toRecord } from './record.ts';
import { SETTLE_THROTTLE } from './throttle.ts';

/** The seven keys. Writes nothing but an upgrade of 0.1.0 keys, so no WAIT. */
const GET_USER = script(
  `${PRELUDE}
return user()`,
  { writes: false },
);

/**
 * A Lua function shared by the two scripts that reserve an attempt:
 * `reserve(throttle key, args, factors)` with args failures field,
 * blockedUntil field, now, freeAttempts, baseDelayMs, maxDelayMs, maxFailures
 * ('none' for no limit), scope, throttleRetentionMs. The delay is
 * attemptDelayMs() and the otp limit attemptLimit() from the contract, in the
 * same double arithmetic. An attempt for a user without a factor (completing
 * an enrollment) sets the hash's expiry (settle()).
 */
const RESERVE_FUNCTION = `${SETTLE_THROTTLE}
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
  if factors == 0 then settle(a[9]) end
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

/** The reply of reserve(), in RESERVE_ATTEMPT and READ_AND_RESERVE. */
function toReservation(value: unknown): AttemptReservation {
  const reply = toArray(value, 'reservation');
  const outcome = toText(reply[0], 'reservation');
  if (outcome === 'ok') return { ok: true, failures: toInteger(reply[1], 'failures') };
  if (outcome === 'locked') return { ok: false, reason: 'locked' };
  return { ok: false, reason: 'throttled', retryAfterMs: toInteger(reply[1], 'retryAfterMs') };
}

/** ARGV of reserve(), after checking what the script trusts. */
function reserveArguments(
  scope: ThrottleScope,
  now: number,
  policy: AttemptPolicy,
  retentionMs: string,
): string[] {
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
    retentionMs,
  ];
}

/**
 * The login operations, run through `run` on the keys `keys` names for a user;
 * `retentionMs` is the store's `throttleRetentionMs` as a decimal string.
 */
export function loginOperations(run: Run, keys: (userId: string) => string[], retentionMs: string) {
  return {
    async getUser(userId: string, now: number): Promise<UserRecord | null> {
      void now;
      const reply = await run(GET_USER, keys(userId), []);
      return toRecord(userId, toArray(reply, 'getUser'));
    },

    async reserveAttempt(
      userId: string,
      scope: ThrottleScope,
      now: number,
      policy: AttemptPolicy,
    ): Promise<AttemptReservation> {
      const args = reserveArguments(scope, now, policy, retentionMs);
      return toReservation(await run(RESERVE_ATTEMPT, keys(userId), args));
    },

    async readAndReserve(
      userId: string,
      scope: ThrottleScope,
      now: number,
      policy: AttemptPolicy,
      requirement: AttemptRequirement,
    ): Promise<ReadAndReserveResult> {
      const args = [
        checkRequirement(requirement),
        ...reserveArguments(scope, now, policy, retentionMs),
      ];
      const reply = toArray(await run(READ_AND_RESERVE, keys(userId), args), 'readAndReserve');
      return {
        record: toRecord(userId, reply),
        reservation: reply[5] === undefined ? null : toReservation(reply[5]),
      };
    },

    async recordSuccess(
      userId: string,
      factorId: string,
      step: number,
      drift: number,
      now: number,
    ): Promise<boolean> {
      const args = [factorId, String(step), String(drift), String(now)];
      return toInteger(await run(RECORD_SUCCESS, keys(userId), args), 'reply') === 1;
    },

    async resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
      checkScope(scope);
      await run(RESET_THROTTLE, [keys(userId)[4]!], [`${scope}:failures`, `${scope}:blockedUntil`]);
    },

    async refundAttempt(
      userId: string,
      scope: ThrottleScope,
      failures: number,
      blockedUntil: number,
    ): Promise<boolean> {
      checkScope(scope);
      const reply = await run(
        REFUND_ATTEMPT,
        [keys(userId)[4]!],
        [`${scope}:failures`, `${scope}:blockedUntil`, String(failures), String(blockedUntil)],
      );
      return toInteger(reply, 'reply') === 1;
    },
  };
}

/** What {@link loginOperations} returns. */
export type LoginOperations = ReturnType<typeof loginOperations>;
