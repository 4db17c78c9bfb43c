/**
 * INTERIM (svc21): a stand-in for svc20's `account-state.ts` (read → rule →
 * compare-and-set write with retry), so that devices and the admin reset can
 * be written and tested before it lands. Replaced by it at the merge.
 * @module
 * @internal
 */
import { MFAError } from '../errors.ts';
import type { AccountState, UserRecord } from '../store/contract.ts';
import type { MFAContext } from './context.ts';

/** A new, empty account document. */
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

/** `keepUntil` for a document: null once generation > 0, else its latest expiry. */
export function withKeepUntil(account: AccountState): AccountState {
  if (account.generation > 0) return { ...account, keepUntil: null };
  let latest = 0;
  for (const d of account.devices) latest = Math.max(latest, d.expiresAt);
  for (const p of account.proofs) latest = Math.max(latest, p.expiresAt);
  for (const c of account.codes) latest = Math.max(latest, c.expiresAt);
  return { ...account, keepUntil: latest };
}

/** What a rule decides: the answer, and the document to write (null: no write). */
export interface Decision<T> {
  answer: T;
  account: AccountState | null;
}

/**
 * Reads the record, applies `rule` to it, writes the document it returns by
 * compare-and-set, and on a conflict reads again and re-applies the rule.
 */
export async function updateAccountWith<T>(
  ctx: MFAContext,
  userId: string,
  now: number,
  rule: (record: UserRecord | null, account: AccountState) => Decision<T>,
  first?: UserRecord | null,
): Promise<{ answer: T; written: boolean }> {
  const deadline = Date.now() + 10_000;
  let record = first === undefined ? await ctx.store.getUser(userId, now) : first;
  for (;;) {
    const decision = rule(record, record?.account ?? emptyAccount());
    if (decision.account === null) return { answer: decision.answer, written: false };
    const outcome = await ctx.store.updateAccount(userId, {
      version: record?.accountVersion ?? 0,
      account: withKeepUntil(decision.account),
      now,
    });
    if (outcome === 'updated') return { answer: decision.answer, written: true };
    if (outcome === 'erased') throw ctx.erased();
    if (Date.now() > deadline) throw new MFAError('ERR_STORE', 'contended');
    await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * 19));
    record = await ctx.store.getUser(userId, now);
  }
}
