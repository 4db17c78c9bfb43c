/**
 * Reading the account document back from `jsonb` equal to what was written.
 *
 * `jsonb` keeps arrays in order and numbers exact (as `numeric`), but
 * reorders the keys of every object; reading rebuilds each object with the
 * keys of {@link AccountState} and its records in the contract's order (any
 * other key after them, as stored), so the document read equals the one
 * written, key order included when the writer followed the contract's.
 * @module
 */
import { describe } from '../../_assert.ts';
import type { AccountState } from '../contract.ts';

/** The keys of the document and of its records, in the contract's order. */
const KEYS = {
  account: ['generation', 'keepUntil', 'codes', 'budgets', 'sends', 'proofs', 'devices'],
  codes: [
    'id',
    'purpose',
    'channel',
    'destinationKey',
    'codeHash',
    'sentAt',
    'expiresAt',
    'attempts',
  ],
  budgets: ['purpose', 'failures', 'windowStart'],
  sends: ['key', 'count', 'windowStart', 'lastSentAt'],
  proofs: ['hash', 'purpose', 'kind', 'createdAt', 'expiresAt'],
  devices: ['id', 'name', 'hash', 'createdAt', 'lastUsedAt', 'expiresAt', 'generation'],
} as const;

type Lists = Exclude<keyof typeof KEYS, 'account'>;

/** `value` (a JSON object) with `keys` first, in that order, then its other keys. */
function ordered(value: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  // defineProperty: a key `__proto__` (JSON.parse makes it an own key) stays a key.
  const set = (key: string) =>
    Object.defineProperty(copy, key, {
      value: value[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  for (const key of keys) if (Object.hasOwn(value, key)) set(key);
  for (const key of Object.keys(value)) if (!Object.hasOwn(copy, key)) set(key);
  return copy;
}

/** Reads the `account` column (a parsed `jsonb`, or its text): `null`, or the document. */
export function decodeAccount(value: unknown): AccountState | null {
  if (value === null || value === undefined) return null;
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (!isObject(parsed) || !Number.isSafeInteger(parsed.generation)) {
    throw new TypeError(`the store returned a bad "account": ${describe(parsed)}`);
  }
  const account = ordered(parsed, KEYS.account);
  for (const list of Object.keys(KEYS).filter((k) => k !== 'account') as Lists[]) {
    const items = account[list];
    if (!Array.isArray(items)) {
      throw new TypeError(`the store returned a bad "account.${list}": ${describe(items)}`);
    }
    account[list] = items.map((item: unknown) =>
      isObject(item) ? ordered(item, KEYS[list]) : item,
    );
  }
  return account as unknown as AccountState;
}

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
