/**
 * A user's row: the state as one JSON document, and the moments the
 * clean-up indexes, derived from it.
 * @module
 */
import { describe } from '../../_assert.ts';
import { decodeAccount, decodeFactors, decodePending } from '../_codec.ts';
import { toInteger, toText } from '../_database.ts';
import { idleSince } from '../_retention.ts';
import type { RecoveryCodeSet, ThrottleState, UserRecord } from '../contract.ts';
import type { UserState } from '../rules/state.ts';

/** The columns written for a state. */
interface StateColumns {
  state: string;
  pending_due: number | null;
  idle_since: number | null;
  guard_until: number | null;
}

/** Whether the expired enrollment stays with the row (its expiry keeps the throttle state). */
function pendingStays(record: UserRecord): boolean {
  return (
    record.factors.length === 0 &&
    record.throttle.otp.failures + record.throttle.recovery.failures > 0
  );
}

/**
 * When the row stops mattering but for the throttle retention (the
 * `idle_since` column, compared with `now − retentionMs`), or `null` while it
 * is kept for ever: an active factor, or an account document whose
 * `keepUntil` is `null`. A document with a `keepUntil` holds the row until
 * then, so the moment is at least `keepUntil − retentionMs`.
 */
function idleMoment(record: UserRecord, retentionMs: number): number | null {
  const since = idleSince(record);
  if (since === null || record.account === null) return since;
  const { keepUntil } = record.account;
  return keepUntil === null ? null : Math.max(since, keepUntil - retentionMs);
}

/**
 * The columns of a row holding `state`, or `null` if it holds nothing (no
 * row). `retentionMs` is the store's `throttleRetentionMs`.
 */
export function encodeState(state: UserState, retentionMs: number): StateColumns | null {
  const { record, guardUntil } = state;
  if (record === null && guardUntil === null) return null;
  const { userId: _id, ...rest } = record ?? { userId: '' };
  return {
    state: JSON.stringify({ record: record === null ? null : rest, guardUntil }),
    pending_due: record?.pending == null || pendingStays(record) ? null : record.pending.expiresAt,
    idle_since: record === null ? null : idleMoment(record, retentionMs),
    guard_until: guardUntil,
  };
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`the store returned a bad "${field}": ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function throttle(value: unknown, field: string): ThrottleState {
  const state = object(value, field);
  return {
    failures: toInteger(state.failures, `${field}.failures`),
    guesses: toInteger(state.guesses, `${field}.guesses`),
    blockedUntil: toInteger(state.blockedUntil, `${field}.blockedUntil`),
  };
}

function recoveryCodes(value: unknown): RecoveryCodeSet | null {
  if (value === null || value === undefined) return null;
  const set = object(value, 'recoveryCodes');
  if (!Array.isArray(set.hashes)) {
    throw new TypeError(`the store returned bad "recoveryCodes.hashes": ${describe(set.hashes)}`);
  }
  return {
    salt: toText(set.salt, 'recoveryCodes.salt'),
    hashes: set.hashes.map((hash: unknown) => toText(hash, 'recoveryCodes.hashes')),
  };
}

/** Reads a row's `state` column back, checking every field. */
export function decodeState(userId: string, text: unknown): UserState {
  const parsed = object(JSON.parse(toText(text, 'state')), 'state');
  return {
    record: parsed.record == null ? null : decodeRecord(userId, object(parsed.record, 'record')),
    guardUntil: parsed.guardUntil == null ? null : toInteger(parsed.guardUntil, 'guardUntil'),
  };
}

function decodeRecord(userId: string, parsed: Record<string, unknown>): UserRecord {
  const factors = parsed.factors;
  if (!Array.isArray(factors)) {
    throw new TypeError(`the store returned bad "factors": ${describe(factors)}`);
  }
  const throttles = object(parsed.throttle, 'throttle');
  return {
    userId,
    factors: decodeFactors(factors),
    pending: parsed.pending == null ? null : decodePending(parsed.pending),
    recoveryCodes: recoveryCodes(parsed.recoveryCodes),
    throttle: {
      otp: throttle(throttles.otp, 'throttle.otp'),
      recovery: throttle(throttles.recovery, 'throttle.recovery'),
    },
    // Absent from a document written by 0.2 or a 0.3 pre-release: none, version 0.
    account: decodeAccount(parsed.account),
    accountVersion:
      parsed.accountVersion == null ? 0 : toInteger(parsed.accountVersion, 'accountVersion'),
  };
}
