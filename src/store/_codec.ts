/**
 * The record codec shared by the database stores (internal).
 *
 * A factor and a pending enrollment are stored as JSON objects whose numbers
 * are decimal strings: PostgreSQL keeps them in `jsonb` columns and Redis in
 * hash fields, and both compare or change them inside the database (SQL
 * `::bigint`, Lua `tonumber`). Strings keep every safe integer exact through
 * Lua's cjson, which writes numbers with 14 significant digits.
 *
 * Decoding reads own properties only, checks every field, and accepts a JSON
 * text (Redis) or an already parsed object (`jsonb` through pg or PGlite).
 * @module
 * @internal
 */
import { checkAlgorithm, checkDigits, describe } from '../_assert.ts';
import type { AccountState, ActiveFactor, PendingEnrollment, ReplacedPending } from './contract.ts';
import { toInteger, toText } from './_database.ts';

/** A factor or pending enrollment as stored: strings, and `null` for "none". */
type StoredObject = Record<string, string | null>;

/** Encodes a factor for storage. */
export function encodeFactor(factor: ActiveFactor): StoredObject {
  return {
    id: factor.id,
    name: factor.name,
    nameKey: factor.nameKey,
    sealedSecret: factor.sealedSecret,
    secretDigest: factor.secretDigest,
    algorithm: factor.algorithm,
    digits: String(factor.digits),
    period: String(factor.period),
    lastStep: String(factor.lastStep),
    drift: String(factor.drift),
    createdAt: String(factor.createdAt),
    activatedAt: String(factor.activatedAt),
    lastUsedAt: factor.lastUsedAt === null ? null : String(factor.lastUsedAt),
  };
}

/**
 * Encodes a pending enrollment for storage, without `previous`: the store
 * operation that replaces the enrollment sets that from the stored one.
 */
export function encodePending(pending: PendingEnrollment): StoredObject {
  return {
    id: pending.id,
    name: pending.name,
    nameKey: pending.nameKey,
    sealedSecret: pending.sealedSecret,
    secretDigest: pending.secretDigest,
    algorithm: pending.algorithm,
    digits: String(pending.digits),
    period: String(pending.period),
    createdAt: String(pending.createdAt),
    expiresAt: String(pending.expiresAt),
    replaceFactorId: pending.replaceFactorId,
  };
}

function fieldsOf(value: unknown, what: string): Record<string, unknown> {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TypeError(`the store returned a bad ${what}: ${describe(parsed)}`);
  }
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(parsed)) fields[key] = (parsed as Record<string, unknown>)[key];
  return fields;
}

function params(f: Record<string, unknown>, what: string) {
  return {
    algorithm: checkAlgorithm(f.algorithm, `${what}.algorithm`),
    digits: checkDigits(toInteger(f.digits, `${what}.digits`), `${what}.digits`),
    period: toInteger(f.period, `${what}.period`),
  };
}

/** `secretDigest`, absent (`null`) in records written by 0.2 or earlier. */
function digestOf(f: Record<string, unknown>, what: string): string | null {
  return f.secretDigest == null ? null : toText(f.secretDigest, `${what}.secretDigest`);
}

/** Decodes a stored factor (JSON text or a parsed object). */
function decodeFactor(value: unknown): ActiveFactor {
  const f = fieldsOf(value, 'factor');
  return {
    id: toText(f.id, 'factor.id'),
    name: toText(f.name, 'factor.name'),
    nameKey: toText(f.nameKey, 'factor.nameKey'),
    sealedSecret: toText(f.sealedSecret, 'factor.sealedSecret'),
    secretDigest: digestOf(f, 'factor'),
    ...params(f, 'factor'),
    lastStep: toInteger(f.lastStep, 'factor.lastStep'),
    drift: toInteger(f.drift, 'factor.drift'),
    createdAt: toInteger(f.createdAt, 'factor.createdAt'),
    activatedAt: toInteger(f.activatedAt, 'factor.activatedAt'),
    lastUsedAt: f.lastUsedAt == null ? null : toInteger(f.lastUsedAt, 'factor.lastUsedAt'),
  };
}

/** Decodes a stored pending enrollment (JSON text or a parsed object). */
export function decodePending(value: unknown): PendingEnrollment {
  const f = fieldsOf(value, 'pending enrollment');
  return {
    id: toText(f.id, 'pending.id'),
    name: toText(f.name, 'pending.name'),
    nameKey: toText(f.nameKey, 'pending.nameKey'),
    sealedSecret: toText(f.sealedSecret, 'pending.sealedSecret'),
    secretDigest: digestOf(f, 'pending'),
    ...params(f, 'pending'),
    createdAt: toInteger(f.createdAt, 'pending.createdAt'),
    expiresAt: toInteger(f.expiresAt, 'pending.expiresAt'),
    replaceFactorId:
      f.replaceFactorId == null ? null : toText(f.replaceFactorId, 'pending.replaceFactorId'),
    // Absent in records written without it (0.1.0): none.
    previous: f.previous == null ? null : decodeReplaced(f.previous),
  };
}

/** Decodes a pending enrollment's `previous` (nested in its stored object). */
function decodeReplaced(value: unknown): ReplacedPending {
  const f = fieldsOf(value, 'pending.previous');
  return {
    id: toText(f.id, 'pending.previous.id'),
    sealedSecret: toText(f.sealedSecret, 'pending.previous.sealedSecret'),
    ...params(f, 'pending.previous'),
    expiresAt: toInteger(f.expiresAt, 'pending.previous.expiresAt'),
  };
}

/** Decodes stored factors, in the contract's order: by `createdAt`, then `id`. */
export function decodeFactors(values: Iterable<unknown>): ActiveFactor[] {
  return [...values]
    .map(decodeFactor)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The lists of an account document. */
const ACCOUNT_LISTS = ['codes', 'budgets', 'sends', 'proofs', 'devices'] as const;

/**
 * Decodes the account document: a JSON text or an already parsed object
 * (`null` or absent, as in a record written by 0.2: `null`). Its shape is
 * checked (`generation`, `keepUntil`, and that the lists are lists of
 * objects), and it is returned as stored, so that it round-trips exactly: the
 * rules over its contents are the service's.
 */
export function decodeAccount(value: unknown): AccountState | null {
  if (value === null || value === undefined) return null;
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TypeError(`the store returned a bad "account": ${describe(parsed)}`);
  }
  const account = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(account.generation) || (account.generation as number) < 0) {
    throw new TypeError(
      `the store returned a bad "account.generation": ${describe(account.generation)}`,
    );
  }
  if (account.keepUntil !== null && !Number.isSafeInteger(account.keepUntil)) {
    throw new TypeError(
      `the store returned a bad "account.keepUntil": ${describe(account.keepUntil)}`,
    );
  }
  for (const list of ACCOUNT_LISTS) {
    const items = account[list];
    if (
      !Array.isArray(items) ||
      !items.every((item) => item !== null && typeof item === 'object')
    ) {
      throw new TypeError(`the store returned a bad "account.${list}": ${describe(items)}`);
    }
  }
  return account as unknown as AccountState;
}
