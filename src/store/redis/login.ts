/**
 * Login: reading the user's keys, reserving an attempt before a code is
 * checked (with the read, in `readAndReserve`), recording an accepted code,
 * and the throttle's reset and refund, each one script.
 * @module
 */
import { checkInteger, describe } from '../../_assert.ts';
import type {
  AttemptPolicy,
  AttemptReservation,
  ReadAndReserveOptions,
  ReadAndReserveResult,
  RefundAttemptOptions,
  ReserveAttemptOptions,
  ThrottleScope,
  UserRecord,
} from '../contract.ts';
import { MAX_ATTEMPT_WEIGHT } from '../throttle.ts';
import { checkPolicy, checkRequirement, checkScope, toInteger, toText } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE, toArray, toRecord } from './record.ts';
import { SETTLE_THROTTLE } from './throttle.ts';

/** The user's keys. Writes nothing but an upgrade of earlier data, so no WAIT. */
const GET_USER = script(
  `${PRELUDE}
return user()`,
  { writes: false },
);

/**
 * A Lua function shared by the two scripts that reserve an attempt:
 * `reserve(a, weight, factors)` with `a` = scope, now, freeAttempts,
 * baseDelayMs, maxDelayMs, maxFailures ('none' for no limit),
 * throttleRetentionMs. Refuses under an erasure guard, then when the scope's
 * guesses reached maxFailures (locked), then inside the back-off delay;
 * otherwise adds one failure and `weight` guesses. The delay is
 * attemptDelayMs() of the contract, in the same double arithmetic. An attempt
 * for a user without a factor (completing an enrollment) sets the hash's
 * expiry (settle()).
 */
const RESERVE_FUNCTION = `${SETTLE_THROTTLE}
local function reserve(a, weight, factors)
  local scope, now = a[1], tonumber(a[2])
  if erased(now) then return {'erased'} end
  local fields = {scope .. ':failures', scope .. ':guesses', scope .. ':blockedUntil'}
  local t = redis.call('HMGET', KEYS[5], unpack(fields))
  local failures = tonumber(t[1] or '0')
  local guesses = tonumber(t[2] or '0')
  local blockedUntil = tonumber(t[3] or '0')
  if a[6] ~= 'none' and guesses >= tonumber(a[6]) then return {'locked'} end
  if now < blockedUntil then return {'throttled', blockedUntil - now} end
  failures = failures + 1
  guesses = guesses + weight
  local exponent = failures - tonumber(a[3])
  local delay = 0
  if exponent >= 52 then
    delay = tonumber(a[5])
  elseif exponent >= 0 then
    delay = math.min(tonumber(a[5]), tonumber(a[4]) * 2 ^ exponent)
  end
  redis.call('HSET', KEYS[5], fields[1], failures, fields[2], guesses, fields[3], now + delay)
  if factors == 0 then settle(a[7]) end
  return {'ok', failures, guesses}
end`;

/** ARGV weight, then the arguments of reserve(). */
const RESERVE_ATTEMPT = script(`${PRELUDE}${RESERVE_FUNCTION}
return reserve({unpack(ARGV, 2)}, tonumber(ARGV[1]), redis.call('HLEN', KEYS[1]))`);

/**
 * ARGV requirement ('active' or 'pending'), then the arguments of reserve().
 * Replies with GET_USER's six parts, read before the reservation, and a
 * seventh, reserve()'s reply, only if the requirement is met. The weight is
 * the number of active factors for a login code ('otp', 'active'), else 1.
 */
const READ_AND_RESERVE = script(`${PRELUDE}${RESERVE_FUNCTION}
local u = user()
local factors = redis.call('HLEN', KEYS[1])
local met, weight = false, 1
if ARGV[1] == 'active' then
  met = factors > 0
  if ARGV[2] == 'otp' then weight = math.max(1, factors) end
else
  met = u[2] ~= false and tonumber(cjson.decode(u[2]).expiresAt) > tonumber(ARGV[3])
end
if met then u[7] = reserve({unpack(ARGV, 2)}, weight, factors) end
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
redis.call('HDEL', KEYS[5], 'otp:failures', 'otp:guesses', 'otp:blockedUntil')
return 1`);

/** KEYS throttle. ARGV scope. Deletes fields only: creates nothing. */
const RESET_THROTTLE = script(`
local s = ARGV[1]
redis.call('HDEL', KEYS[1], s .. ':failures', s .. ':guesses', s .. ':blockedUntil')
return 1`);

/**
 * KEYS throttle. ARGV scope, failures, guesses, weight, blockedUntil. Writes
 * only where the reservation's figures are still there, so the hash exists.
 */
const REFUND_ATTEMPT = script(`
local s = ARGV[1]
local t = redis.call('HMGET', KEYS[1], s .. ':failures', s .. ':guesses')
local failures, guesses = tonumber(t[1] or '0'), tonumber(t[2] or '0')
if failures ~= tonumber(ARGV[2]) or guesses ~= tonumber(ARGV[3]) or failures < 1 then return 0 end
redis.call('HSET', KEYS[1], s .. ':failures', failures - 1,
  s .. ':guesses', math.max(0, guesses - tonumber(ARGV[4])), s .. ':blockedUntil', ARGV[5])
return 1`);

/** The reply of reserve(), in RESERVE_ATTEMPT and READ_AND_RESERVE. */
function toReservation(value: unknown): AttemptReservation {
  const reply = toArray(value, 'reservation');
  const outcome = toText(reply[0], 'reservation');
  if (outcome === 'ok') {
    return {
      ok: true,
      failures: toInteger(reply[1], 'failures'),
      guesses: toInteger(reply[2], 'guesses'),
    };
  }
  if (outcome === 'locked' || outcome === 'erased') return { ok: false, reason: outcome };
  if (outcome === 'throttled') {
    return { ok: false, reason: 'throttled', retryAfterMs: toInteger(reply[1], 'retryAfterMs') };
  }
  throw new TypeError(`the store returned a bad reservation: ${describe(outcome)}`);
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
    scope,
    String(now),
    String(policy.freeAttempts),
    String(policy.baseDelayMs),
    String(policy.maxDelayMs),
    policy.maxFailures === Infinity ? 'none' : String(policy.maxFailures),
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
      { scope, now, policy, weight }: ReserveAttemptOptions,
    ): Promise<AttemptReservation> {
      const args = [
        String(checkInteger(weight, 'weight', 1, MAX_ATTEMPT_WEIGHT)),
        ...reserveArguments(scope, now, policy, retentionMs),
      ];
      return toReservation(await run(RESERVE_ATTEMPT, keys(userId), args));
    },

    async readAndReserve(
      userId: string,
      { scope, now, policy, requirement }: ReadAndReserveOptions,
    ): Promise<ReadAndReserveResult> {
      const args = [
        checkRequirement(requirement),
        ...reserveArguments(scope, now, policy, retentionMs),
      ];
      const reply = toArray(await run(READ_AND_RESERVE, keys(userId), args), 'readAndReserve');
      return {
        record: toRecord(userId, reply),
        reservation: reply[6] === undefined ? null : toReservation(reply[6]),
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
      await run(RESET_THROTTLE, [keys(userId)[4]!], [checkScope(scope)]);
    },

    async refundAttempt(
      userId: string,
      { scope, failures, guesses, weight, blockedUntil }: RefundAttemptOptions,
    ): Promise<boolean> {
      const args = [
        checkScope(scope),
        String(failures),
        String(guesses),
        String(checkInteger(weight, 'weight', 1, MAX_ATTEMPT_WEIGHT)),
        String(blockedUntil),
      ];
      const reply = await run(REFUND_ATTEMPT, [keys(userId)[4]!], args);
      return toInteger(reply, 'reply') === 1;
    },
  };
}

/** What {@link loginOperations} returns. */
export type LoginOperations = ReturnType<typeof loginOperations>;
