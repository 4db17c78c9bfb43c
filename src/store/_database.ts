/**
 * Checks and conversions shared by the database adapters (internal).
 *
 * The adapters do throttle arithmetic inside the database (SQL or Lua), so the
 * policy numbers they send must be ones both sides compute exactly: safe
 * integers, with `Infinity` allowed only for `maxFailures`.
 * @module
 * @internal
 */
import { describe } from '../_assert.ts';
import type { AttemptPolicy, AttemptRequirement, ThrottleScope } from './contract.ts';

/** Checks a throttle scope, which selects fixed column or field names. */
export function checkScope(scope: unknown): ThrottleScope {
  if (scope !== 'otp' && scope !== 'recovery') {
    throw new TypeError(`"scope" must be 'otp' or 'recovery', got ${describe(scope)}`);
  }
  return scope;
}

/** Checks a `readAndReserve` requirement, which selects a fixed condition. */
export function checkRequirement(requirement: unknown): AttemptRequirement {
  if (requirement !== 'active' && requirement !== 'pending') {
    throw new TypeError(
      `"requirement" must be 'active' or 'pending', got ${describe(requirement)}`,
    );
  }
  return requirement;
}

function checkCount(value: unknown, field: string, min = 0): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`"${field}" must be a safe integer ≥ ${min}, got ${describe(value)}`);
  }
}

/** Checks the numbers of an {@link AttemptPolicy} before they reach the database. */
export function checkPolicy(policy: AttemptPolicy): void {
  if (policy === null || typeof policy !== 'object') {
    throw new TypeError(`"policy" must be an object, got ${describe(policy)}`);
  }
  checkCount(policy.freeAttempts, 'policy.freeAttempts');
  checkCount(policy.baseDelayMs, 'policy.baseDelayMs');
  checkCount(policy.maxDelayMs, 'policy.maxDelayMs');
  // ≥ 1: a new user's first reservation is granted by an insert, unchecked.
  if (policy.maxFailures !== Infinity) checkCount(policy.maxFailures, 'policy.maxFailures', 1);
}

/**
 * Reads an integer column or reply. Drivers differ: `pg` returns `bigint`
 * columns as strings, PGlite as numbers, Redis replies are strings or numbers.
 */
export function toInteger(value: unknown, field: string): number {
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' || typeof value === 'bigint'
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(number)) {
    throw new TypeError(`the store returned a bad "${field}": ${describe(value)}`);
  }
  return number;
}

/** Reads a text column or reply (a driver may hand back bytes). */
export function toText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  throw new TypeError(`the store returned a bad "${field}": ${describe(value)}`);
}
