// Account writes for store tests that exercise something else: the write a
// service would make with a factor change (the version read, the generation
// one higher, keepUntil null, so that no TTL or retention rule is involved).
import type { AccountState, AccountWrite, MFAStore } from '../../src/store/contract.ts';

/** An account document with nothing in it. */
export function emptyAccount(generation = 0, keepUntil: number | null = null): AccountState {
  return { generation, keepUntil, codes: [], budgets: [], sends: [], proofs: [], devices: [] };
}

/** The write a factor change of `userId` makes next, read from the store at `now`. */
export async function nextWrite(store: MFAStore, userId: string, now = 0): Promise<AccountWrite> {
  const record = await store.getUser(userId, now);
  const generation = (record?.account?.generation ?? 0) + 1;
  return { version: record?.accountVersion ?? 0, account: emptyAccount(generation) };
}
