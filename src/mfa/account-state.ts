/**
 * The account document's compare-and-set cycle (internal): every rule about
 * generation, verification codes, budgets, send counters, proofs and devices
 * is applied here, in memory, between a read and a conditional store write.
 *
 * The API, all a flow needs:
 *
 * - {@link withAccount}`(ctx, userId, now, attempt)`: reads the record, gives
 *   `attempt` an {@link AccountRead} (the record, its version, a fresh
 *   pruned copy of the document to change), and runs it. `attempt` makes
 *   its one store write with {@link accountWrite}`(ctx, read, next, now)`
 *   and returns its result, or {@link RETRY} when the store answered
 *   `'conflict'`: the cycle then waits 1–20 ms (jittered), reads again and
 *   runs `attempt` again, so every rule is judged again on the new read.
 *   After 10 s of conflicts: `MFAError('ERR_CONTENDED')`.
 * - {@link updateAccountState}`(ctx, userId, now, rule)`: the same cycle for a
 *   change of the document alone (`store.updateAccount`): `rule` returns
 *   `{ result, account }` to write `account` then return `result`, or
 *   `{ result }` to return without writing. `'erased'` throws `ERR_ERASED`.
 * - {@link nextGeneration}`(account)`: the copy to write with a factor change
 *   (generation + 1, exactly once per change: a retry starts from the new read).
 * - {@link emptyAccount}, {@link pruneAccount}, {@link keepUntilOf}: the
 *   document of a user who has none, dropping what expired, and until when a
 *   store must keep it.
 *
 * A rule never mutates the read's document in place for a write it may not
 * make: `read.account` is a private copy per attempt, so mutating it is fine.
 * @module
 * @internal
 */
import { MFAError } from '../errors.ts';
import type { AccountState, AccountWrite, UserRecord } from '../store/contract.ts';
import { SEND_WINDOW_MS } from './account-policy.ts';
import type { MFAContext } from './context.ts';
import type { MFAPolicy } from './policy.ts';

/** The total time a call keeps retrying on `'conflict'` before `ERR_CONTENDED`. */
export const CONTENDED_AFTER_MS = 10_000;

/** What {@link withAccount} gives each attempt. */
export interface AccountRead {
  /** The record as read (`null`: the store has nothing for the user). */
  record: UserRecord | null;
  /** The account version read: the `version` of any account write made from this read. */
  version: number;
  /** A private copy of the document, expired entries pruned (empty if none). */
  account: AccountState;
}

/** A store outcome type without its `'conflict'` reason (the cycle retried those). */
export type Settled<T> = T extends { reason: infer R }
  ? Omit<T, 'reason'> & { reason: Exclude<R, 'conflict'> }
  : T;

/** Returned by an attempt whose store write answered `'conflict'`: read again and retry. */
export const RETRY: unique symbol = Symbol('retry');

/** A new, empty document: generation 0, nothing in it. */
export function emptyAccount(): AccountState {
  return {
    generation: 0,
    keepUntil: null,
    codes: [],
    budgets: [],
    sends: [],
    proofs: [],
    devices: [],
  };
}

/** The same document with the generation one higher (a copy). */
export function nextGeneration(account: AccountState): AccountState {
  return { ...account, generation: account.generation + 1 };
}

/**
 * The document without what stopped mattering at `now` (a copy): proofs
 * past their expiry, budgets whose window ended, send counters whose window
 * and cooldown both ended. Verification codes stay until their purpose's
 * next send or check (an expired code still answers `'expired'`), devices
 * until their own flows remove them (an expired device answers `'expired'`).
 */
export function pruneAccount(account: AccountState, now: number, policy: MFAPolicy): AccountState {
  const { budgetWindowMs, resendCooldownMs } = policy.verificationCodes;
  return {
    ...account,
    proofs: account.proofs.filter((p) => p.expiresAt > now),
    budgets: account.budgets.filter((b) => b.windowStart + budgetWindowMs > now),
    sends: account.sends.filter(
      (s) => s.windowStart + SEND_WINDOW_MS > now || s.lastSentAt + resendCooldownMs > now,
    ),
  };
}

/**
 * Until when a store must keep the document of a factorless user: `null`
 * (for ever) once the generation moved, so that it never goes back to a
 * value sessions were bound to; else the latest time anything in it still
 * matters (a code, proof or device expiry, a budget or send window's end, a
 * cooldown's end), or `now` if nothing does.
 */
export function keepUntilOf(account: AccountState, now: number, policy: MFAPolicy): number | null {
  if (account.generation > 0) return null;
  const { budgetWindowMs, resendCooldownMs } = policy.verificationCodes;
  let latest = now;
  for (const c of account.codes) latest = Math.max(latest, c.expiresAt);
  for (const p of account.proofs) latest = Math.max(latest, p.expiresAt);
  for (const d of account.devices) latest = Math.max(latest, d.expiresAt);
  for (const b of account.budgets) latest = Math.max(latest, b.windowStart + budgetWindowMs);
  for (const s of account.sends) {
    latest = Math.max(latest, s.windowStart + SEND_WINDOW_MS, s.lastSentAt + resendCooldownMs);
  }
  return latest;
}

/**
 * The account write of `next` made from `read`: pruned at `now`, with its
 * `keepUntil` computed, at the version read.
 */
export function accountWrite(
  ctx: MFAContext,
  read: AccountRead,
  next: AccountState,
  now: number,
): AccountWrite {
  const account = pruneAccount(next, now, ctx.policy);
  account.keepUntil = keepUntilOf(account, now, ctx.policy);
  return { version: read.version, account };
}

/** Checks the document a store returned; anything malformed is `ERR_STORE`. */
function readDocument(record: UserRecord | null): { version: number; account: AccountState } {
  if (record === null) return { version: 0, account: emptyAccount() };
  const version: unknown = record.accountVersion ?? 0;
  const account: unknown = record.account ?? null;
  if (!Number.isSafeInteger(version) || (version as number) < 0) {
    throw new MFAError('ERR_STORE', 'store.getUser returned an invalid accountVersion');
  }
  if (account === null) return { version: version as number, account: emptyAccount() };
  const a = account as Partial<AccountState>;
  const arrays = [a.codes, a.budgets, a.sends, a.proofs, a.devices];
  if (
    typeof account !== 'object' ||
    !Number.isSafeInteger(a.generation) ||
    (a.generation as number) < 0 ||
    !arrays.every(Array.isArray)
  ) {
    throw new MFAError('ERR_STORE', 'store.getUser returned an invalid account document');
  }
  // A deep copy: the attempt may change it freely.
  return { version: version as number, account: structuredClone(a as AccountState) };
}

/** The read an attempt works on: the record with its document checked and pruned. */
export function accountRead(ctx: MFAContext, record: UserRecord | null, now: number): AccountRead {
  const { version, account } = readDocument(record);
  return { record, version, account: pruneAccount(account, now, ctx.policy) };
}

/** Waits 1–20 ms, jittered, so that contending calls spread out. */
function backOff(): Promise<void> {
  const ms = 1 + Math.floor(Math.random() * 20);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The compare-and-set cycle: read, `attempt`, and on {@link RETRY} back off
 * and do both again, for at most {@link CONTENDED_AFTER_MS} (measured on the
 * monotonic clock, not the service's `clock`, which may be frozen).
 *
 * @param first - a record already read for this call (its first attempt uses it)
 * @throws MFAError `ERR_CONTENDED` after 10 s of conflicts; nothing was written
 */
export async function withAccount<T>(
  ctx: MFAContext,
  userId: string,
  now: number,
  attempt: (read: AccountRead) => Promise<T | typeof RETRY>,
  first?: UserRecord | null,
): Promise<T> {
  const deadline = performance.now() + CONTENDED_AFTER_MS;
  let record = first === undefined ? await ctx.store.getUser(userId, now) : first;
  for (;;) {
    const result = await attempt(accountRead(ctx, record, now));
    if (result !== RETRY) return result as T;
    if (performance.now() >= deadline) throw contended();
    await backOff();
    record = await ctx.store.getUser(userId, now);
  }
}

/** The error after {@link CONTENDED_AFTER_MS} of conflicts. */
export function contended(): MFAError {
  return new MFAError(
    'ERR_CONTENDED',
    `the user's account state kept changing under this call for ${CONTENDED_AFTER_MS / 1000} s ` +
      `(other calls for the same user); nothing was written: try again`,
  );
}

/** What a {@link updateAccountState} rule decides: write `account` (if given), then return `result`. */
export interface AccountDecision<T> {
  /** What the call returns once the write (if any) succeeded. */
  result: T;
  /** The new document to write, or absent: write nothing. */
  account?: AccountState;
}

/**
 * The compare-and-set cycle for a change of the document alone, through
 * `store.updateAccount`: `rule` is judged on each read, and its result is
 * returned only after its write succeeded.
 *
 * @throws MFAError `ERR_ERASED` under an erasure guard, `ERR_CONTENDED` after 10 s of conflicts
 */
export function updateAccountState<T>(
  ctx: MFAContext,
  userId: string,
  now: number,
  rule: (read: AccountRead) => AccountDecision<T> | Promise<AccountDecision<T>>,
): Promise<T> {
  return withAccount(ctx, userId, now, async (read) => {
    const decision = await rule(read);
    if (decision.account === undefined) return decision.result;
    const write = accountWrite(ctx, read, decision.account, now);
    const outcome = await ctx.store.updateAccount(userId, { ...write, now });
    if (outcome === 'updated') return decision.result;
    if (outcome === 'conflict') return RETRY;
    if (outcome === 'erased') throw ctx.erased();
    throw new MFAError('ERR_STORE', `store.updateAccount returned an invalid outcome`);
  });
}
