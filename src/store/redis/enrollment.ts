/**
 * Enrollment: storing the pending enrollment (expiring by TTL), and binding
 * it as a factor in one script that checks the factor limit and the name and
 * replaces `replaceFactorId` (the first factor brings the recovery codes).
 * @module
 */
import { describe } from '../../_assert.ts';
import type {
  AddFactorResult,
  PendingActivation,
  PendingEnrollment,
  PutPendingOptions,
  PutPendingOutcome,
  RecoveryCodeSet,
} from '../contract.ts';
import { encodePending } from '../_codec.ts';
import { toText } from '../_database.ts';
import { script } from './client.ts';
import type { Run } from './client.ts';
import { PRELUDE } from './record.ts';
import { ACCOUNT_WRITE, accountArguments } from './account.ts';
import { SETTLE_THROTTLE } from './throttle.ts';

/**
 * How long a pending enrollment's key outlives its `expiresAt`. Expiry is
 * decided against the service's `now`; the TTL, counted by Redis's own clock,
 * only reclaims the key, so it gets a margin for clock differences.
 */
const PENDING_TTL_MARGIN_MS = 60_000;

/**
 * ARGV the account write (none, or a proof consumed), then the enrollment's
 * JSON, its TTL in ms, throttleRetentionMs (the enrollment's expiry can move
 * a factorless user's throttle expiry). Replies 'erased', writing nothing,
 * under an erasure guard at its createdAt, then 'conflict', writing nothing,
 * if the account version moved, else 'stored'. The enrollment it replaces, if unexpired at the new one's
 * createdAt and another one, becomes its `previous` (only the fields the
 * diagnosis needs; its own previous goes).
 */
const PUT_PENDING = script(`${PRELUDE}${SETTLE_THROTTLE}${ACCOUNT_WRITE}
local p = cjson.decode(ARGV[1])
if erased(p.createdAt) then return 'erased' end
if not current() then return 'conflict' end
p.previous = cjson.null
local raw = redis.call('GET', KEYS[2])
if raw then
  local o = cjson.decode(raw)
  if o.id ~= p.id and tonumber(o.expiresAt) > tonumber(p.createdAt) then
    p.previous = {id = o.id, sealedSecret = o.sealedSecret, algorithm = o.algorithm,
      digits = o.digits, period = o.period, expiresAt = o.expiresAt}
  end
end
redis.call('SET', KEYS[2], cjson.encode(p), 'PX', ARGV[2])
settle(ARGV[3])
writeAccount()
return 'stored'`);

/**
 * ARGV the account write, then pendingId, lastStep, drift, now, maxFactors, the parameters to bind
 * instead of the enrollment's as 'algorithm:digits:period' ('' for the
 * enrollment's), then '1', salt and the hashes of a first set ('0' for
 * none). Replies 'ok:first:replaced' or the refusal, checked in the
 * contract's order ('erased', 'conflict', then the rules;
 * 'duplicate_secret:<factor id>' for a duplicate). The account write is made
 * with the activation (the document loses its TTL: the user has a factor). The
 * factor keeps the enrollment's secretDigest (absent in a 0.2 enrollment:
 * null).
 */
const ACTIVATE_PENDING = script(`${PRELUDE}${ACCOUNT_WRITE}
if erased(ARGV[4]) then return 'erased' end
if not current() then return 'conflict' end
local raw = redis.call('GET', KEYS[2])
if not raw then return 'not_pending' end
local p = cjson.decode(raw)
if p.id ~= ARGV[1] or tonumber(p.expiresAt) <= tonumber(ARGV[4]) then return 'not_pending' end
local count = redis.call('HLEN', KEYS[1])
local rep = p.replaceFactorId
local replaced = rep ~= cjson.null and rep ~= nil and redis.call('HEXISTS', KEYS[1], rep) == 1
local kept = count
if replaced then kept = count - 1 else rep = nil end
local digest = digestOf(p.secretDigest)
local twin, taken = conflicts(p.nameKey, digest, rep)
if twin then return 'duplicate_secret:' .. twin end
if kept + 1 > tonumber(ARGV[5]) then return 'factor_limit' end
if taken then return 'name_taken' end
if replaced then redis.call('HDEL', KEYS[1], rep) end
local algorithm, digits, period = p.algorithm, p.digits, p.period
if ARGV[6] ~= '' then algorithm, digits, period = string.match(ARGV[6], '^(%w+):(%d+):(%d+)$') end
redis.call('HSET', KEYS[1], p.id, cjson.encode({id = p.id, name = p.name, nameKey = p.nameKey,
  sealedSecret = p.sealedSecret, secretDigest = digest or cjson.null, algorithm = algorithm,
  digits = digits, period = period, lastStep = ARGV[2], drift = ARGV[3],
  createdAt = p.createdAt, activatedAt = ARGV[4], lastUsedAt = cjson.null}))
redis.call('DEL', KEYS[2], KEYS[5])
firstSet(count == 0, ARGV, 7)
writeAccount()
return 'ok:' .. (count == 0 and '1' or '0') .. ':' .. (replaced and '1' or '0')`);

const DUPLICATE = 'duplicate_secret:';

/** ACTIVATE_PENDING's and ADD_FACTOR's reply. */
export function toAddResult(reply: unknown): AddFactorResult {
  const text = toText(reply, 'outcome');
  const match = /^ok:([01]):([01])$/.exec(text);
  if (match) return { ok: true, firstFactor: match[1] === '1', replaced: match[2] === '1' };
  if (text.startsWith(DUPLICATE)) {
    return { ok: false, reason: 'duplicate_secret', factorId: text.slice(DUPLICATE.length) };
  }
  if (
    text === 'not_pending' ||
    text === 'factor_limit' ||
    text === 'name_taken' ||
    text === 'erased' ||
    text === 'conflict'
  ) {
    return { ok: false, reason: text };
  }
  throw new TypeError(`the store returned a bad outcome: ${describe(text)}`);
}

/** The first set's ARGV: '1', salt and hashes, or '0'. */
export function firstSetArguments(codes: RecoveryCodeSet | null): string[] {
  return codes === null ? ['0'] : ['1', codes.salt, ...codes.hashes];
}

/**
 * The enrollment operations, run through `run` on the keys `keys` names for a
 * user; `retentionMs` is the store's `throttleRetentionMs` as a decimal string.
 */
export function enrollmentOperations(
  run: Run,
  keys: (userId: string) => string[],
  retentionMs: string,
) {
  return {
    async putPending(
      userId: string,
      pending: PendingEnrollment,
      options?: PutPendingOptions,
    ): Promise<PutPendingOutcome> {
      const userKeys = keys(userId);
      const ttlMs = Math.max(0, pending.expiresAt - pending.createdAt) + PENDING_TTL_MARGIN_MS;
      const reply = toText(
        await run(PUT_PENDING, userKeys, [
          ...accountArguments(options?.account, pending.createdAt),
          JSON.stringify(encodePending(pending)),
          String(ttlMs),
          retentionMs,
        ]),
        'outcome',
      );
      if (reply === 'stored' || reply === 'erased' || reply === 'conflict') return reply;
      throw new TypeError(`the store returned a bad outcome: ${describe(reply)}`);
    },

    async activatePending(
      userId: string,
      pendingId: string,
      activation: PendingActivation,
    ): Promise<AddFactorResult> {
      const userKeys = keys(userId);
      const reply = await run(ACTIVATE_PENDING, userKeys, [
        ...accountArguments(activation.account, activation.now),
        pendingId,
        String(activation.lastStep),
        String(activation.drift),
        String(activation.now),
        String(activation.maxFactors),
        activation.params === undefined
          ? ''
          : `${activation.params.algorithm}:${activation.params.digits}:${activation.params.period}`,
        ...firstSetArguments(activation.recoveryCodes),
      ]);
      return toAddResult(reply);
    },
  };
}

/** What {@link enrollmentOperations} returns. */
export type EnrollmentOperations = ReturnType<typeof enrollmentOperations>;
