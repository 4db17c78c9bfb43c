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
import { decodeAccount as checkAccount } from '../_codec.ts';
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

/**
 * Reads the `account` column (a parsed `jsonb`, or its text): `null`, or the
 * document, checked as every store checks it (`decodeAccount` in
 * `_codec.ts`), with its keys back in the contract's order.
 */
export function decodeAccount(value: unknown): AccountState | null {
  const checked = checkAccount(value);
  if (checked === null) return null;
  const account = ordered(checked as unknown as Record<string, unknown>, KEYS.account);
  for (const list of Object.keys(KEYS).filter((k) => k !== 'account') as Lists[]) {
    account[list] = (account[list] as Record<string, unknown>[]).map((item) =>
      ordered(item, KEYS[list]),
    );
  }
  return account as unknown as AccountState;
}

/** Whether `value` is a JSON object (not `null`, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
