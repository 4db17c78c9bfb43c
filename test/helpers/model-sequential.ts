/**
 * One call run alone (test/helpers/model-run.ts), possibly with a store
 * fault injected: its result and the stored record are compared with the
 * reference model's; after a fault, the call must reject with ERR_STORE and
 * leave the record in one of the states the model allows.
 */
import { expect } from 'vitest';
import { decodeBase32, MFAError } from '../../src/index.ts';
import { normalizeRecoveryCode } from '../../src/mfa/recovery-hash.ts';
import type { UserRecord } from '../../src/store.ts';
import type { ModelUser, Outcome } from './mfa-model.ts';
import { accountSequential, ACCOUNT_CALLS } from './model-account-calls.ts';
import {
  adopt,
  checkFaultedAccount,
  checkGeneration,
  modelAccount,
  optionsOf,
  pickProof,
  purposeOf,
  storedAccount,
  withAccountRules,
} from './model-account.ts';
import { POLICY, type Call } from './model-steps.ts';
import { expected, projectRecord, Run, summary, tally, unseal } from './model-system.ts';

/** Random bytes of a secret to import, or a copy of an existing factor's (codes then match both). */
export function importSecret(run: Run, u: number, c: Extract<Call, { m: 'import' }>, salt: number) {
  const same = run.factor(u, c.f);
  if (c.secret === 'same' && same) return same.secret.slice();
  const bytes = new Uint8Array(c.secret === 'weak' ? 10 : 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (salt * 31 + i * 17 + u * 101) & 0xff;
  return bytes;
}

export async function sequential(
  run: Run,
  u: number,
  c: Call,
  fault: { at: number; mode: 'before' | 'after' } | null,
  salt: number,
) {
  if (ACCOUNT_CALLS.has(c.m))
    return accountSequential(run, u, c as Parameters<typeof accountSequential>[2], fault, salt);
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const beforeRecord = await run.record(u);
  // 0.3: the proof a sensitive call passes, and the options of a code check.
  const purpose = purposeOf(c);
  const proof =
    purpose === null
      ? undefined
      : pickProof(run, u, (c as { proof?: 'none' }).proof ?? 'none', purpose, salt);
  const extra = optionsOf(c, proof);
  let invoke: () => Promise<unknown>;
  let expect_: (real: unknown) => Outcome;
  /** After a fault: the states the record may be in, from what the store holds. */
  let onFault:
    ((record: UserRecord | null) => Outcome | { next?: ModelUser; known?: true }) | undefined;
  const issue = (real: unknown) => {
    const codes = (real as { recoveryCodes?: string[] } | null)?.recoveryCodes ?? [];
    for (const code of codes) run.issued[u]?.add(code);
    return codes;
  };
  switch (c.m) {
    case 'begin': {
      const options = {
        ...(c.name === undefined ? {} : { name: c.name }),
        ...(c.replace === null ? {} : { replaceFactorId: run.factorId(u, c.replace) }),
      };
      invoke = () =>
        run.mfa.beginEnrollment(userId, { accountName: 'fuzz@example.com', ...options, ...extra });
      expect_ = (real) => {
        const r = real as { factorId?: string; secret?: string };
        return run.model.beginEnrollment(
          before,
          run.now,
          options,
          r.factorId ?? '',
          r.secret ? decodeBase32(r.secret) : new Uint8Array(0),
        );
      };
      onFault = (record) => {
        const pending = record?.pending;
        if (!pending || pending.id === before.pending?.id) return { next: before };
        return run.model.beginEnrollment(
          before,
          run.now,
          options,
          pending.id,
          unseal(pending.sealedSecret),
        );
      };
      break;
    }
    case 'complete': {
      const { codes } = run.pair(u, before.pending ?? undefined, c.pair, salt);
      invoke = () => run.mfa.completeEnrollment(userId, ...codes);
      expect_ = (real) => run.model.completeEnrollment(before, run.now, ...codes, issue(real));
      onFault = () => {
        const outcome = run.model.completeEnrollment(before, run.now, ...codes, []);
        // A first factor bound, but the caller never saw its codes.
        if (outcome.next.recovery && !before.recovery)
          outcome.next.recovery.unseen = POLICY.recoveryCodeCount;
        return outcome;
      };
      break;
    }
    case 'verify': {
      const { code } = run.code(u, run.factor(u, c.f), c.code, salt);
      invoke = () => run.mfa.verify(userId, code, extra);
      expect_ = () => run.model.verify(before, run.now, code);
      break;
    }
    case 'resync': {
      const { codes } = run.pair(u, run.factor(u, c.f), c.pair, salt);
      invoke = () => run.mfa.resync(userId, ...codes);
      expect_ = () => run.model.resync(before, run.now, ...codes);
      break;
    }
    case 'recovery': {
      const code = run.recoveryCode(u, c.code, c.pick);
      invoke = () => run.mfa.useRecoveryCode(userId, code, extra);
      expect_ = (real) => {
        const canonical = normalizeRecoveryCode(code);
        const outcome = run.model.useRecoveryCode(
          before,
          run.now,
          canonical,
          normalizeRecoveryCode,
        );
        if ((real as { ok?: boolean } | undefined)?.ok) {
          const original = [...(run.issued[u] as Set<string>)].find(
            (x) => normalizeRecoveryCode(x) === canonical,
          ) as string;
          expect(run.accepted[u]?.has(original), 'a recovery code accepted twice').toBe(false);
          run.accepted[u]?.add(original);
        }
        return outcome;
      };
      break;
    }
    case 'regenerate':
      invoke = () => run.mfa.regenerateRecoveryCodes(userId, extra);
      expect_ = (real) => run.model.regenerateRecoveryCodes(before, issue(real));
      // Whether the new set was written is read from the store: a new salt.
      onFault = (record) => {
        const salt0 = beforeRecord?.recoveryCodes?.salt;
        if (record?.recoveryCodes?.salt === salt0) return { next: before, known: true };
        const next = run.model.regenerateRecoveryCodes(before, []).next;
        if (next.recovery) next.recovery.unseen = POLICY.recoveryCodeCount;
        // Not `before`: with every code unused, both show the same count.
        return { next, known: true };
      };
      break;
    case 'status':
      invoke = () => run.mfa.status(userId);
      expect_ = () => run.model.status(before, run.now);
      break;
    case 'list':
      invoke = () => run.mfa.listFactors(userId);
      expect_ = () => run.model.listFactors(before);
      break;
    case 'rename': {
      const id = run.factorId(u, c.f);
      invoke = () => run.mfa.renameFactor(userId, id, c.name);
      expect_ = () => run.model.renameFactor(before, id, c.name);
      break;
    }
    case 'remove': {
      const id = run.factorId(u, c.f);
      invoke = () => run.mfa.removeFactor(userId, id, extra);
      expect_ = () => run.model.removeFactor(before, id);
      break;
    }
    case 'import': {
      const secret = importSecret(run, u, c, salt);
      const options = {
        secret,
        ...(c.lastStep === 'default'
          ? {}
          : { lastStep: c.lastStep === 'now' ? run.deviceStep(u) : -1 }),
        ...(c.name === undefined ? {} : { name: c.name }),
        recoveryCodes: c.codes,
      };
      invoke = () => run.mfa.importFactor(userId, { ...options, secret: secret.slice() });
      expect_ = (real) =>
        run.model.importFactor(
          before,
          run.now,
          options,
          (real as { factorId?: string }).factorId ?? '',
          issue(real),
        );
      onFault = (record) => {
        const known = new Set(before.factors.map((f) => f.id));
        const added = record?.factors.find((f) => !known.has(f.id));
        if (!added) return { next: before };
        const outcome = run.model.importFactor(before, run.now, options, added.id, []);
        if (outcome.next.recovery && !before.recovery)
          outcome.next.recovery.unseen = POLICY.recoveryCodeCount;
        return outcome;
      };
      break;
    }
    case 'disable':
      invoke = () => run.mfa.disable(userId, extra);
      expect_ = () => run.model.disable(before);
      break;
    case 'erase':
      invoke = () => run.mfa.deleteUserData(userId);
      // 0.3: the account document is the user's data too (it goes with them).
      expect_ = () => {
        const outcome = run.model.deleteUserData(before, run.now);
        return beforeRecord?.account ? { ...outcome, result: true } : outcome;
      };
      // The record cannot show the guard: it is there exactly when deleteUser
      // (the second store operation, after getUser) ran.
      onFault = () =>
        fault !== null && (fault.at > 2 || (fault.at === 2 && fault.mode === 'after'))
          ? { next: run.model.deleteUserData(before, run.now).next, known: true }
          : { next: before, known: true };
      break;
    case 'unlock':
      invoke = () => run.mfa.unlock(userId, c.scope);
      expect_ = () => run.model.unlock(before, c.scope);
      break;
    case 'reencrypt':
      invoke = () => run.mfa.reencryptSecret(userId);
      expect_ = () => run.model.reencryptSecret(before, run.now);
      break;
    default:
      throw new Error(`not a 0.2 call: ${c.m}`);
  }
  run.faulty.arm(fault);
  const real = await invoke().then(
    (value) => value,
    (error: unknown) => error,
  );
  const fired = run.faulty.fired;
  run.faulty.arm(null);
  tally(fired ? `${c.m} (fault)` : c.m, real);
  const record = await run.record(u);
  const stored = projectRecord(record, run.now);
  if (fired) {
    // A fault: ERR_STORE with the store's error as cause, and the record as
    // before the call, after its reservation only, or after all of it.
    expect(real, 'a faulted call must reject').toBeInstanceOf(MFAError);
    expect((real as MFAError).code).toBe('ERR_STORE');
    const outcome: Partial<Outcome> & { known?: true } = onFault
      ? onFault(record)
      : expect_(undefined);
    const candidates = (
      outcome.known ? [outcome.next] : [before, outcome.reserved, outcome.partial, outcome.next]
    ).filter((x): x is ModelUser => x !== undefined);
    const matches = candidates.filter(
      (candidate) => JSON.stringify(expected(candidate, run.now)) === JSON.stringify(stored),
    );
    // An expired enrollment is not compared; whether it is still held tells
    // apart a write that removed it from none (disable after its write).
    const match =
      matches.find((m) => (m.pending?.id ?? null) === (record?.pending?.id ?? null)) ?? matches[0];
    expect(
      match,
      `record after a fault in ${c.m}: ${JSON.stringify(stored)}, candidates ${JSON.stringify(candidates.map((x) => expected(x, run.now)))}`,
    ).toBeDefined();
    checkFaultedAccount(run, c, before, match as ModelUser, record, proof);
    run.states[u] = { ...(match as ModelUser), account: adopt(run, u, record) };
    return;
  }
  const outcome = withAccountRules(
    run,
    u,
    c,
    before,
    expect_(real instanceof Error ? {} : real),
    real,
    proof,
  );
  const wanted = outcome.alternatives ?? [outcome.result];
  const fits = (result: unknown) => {
    if (typeof result === 'string' && result.startsWith('ERR_'))
      return real instanceof MFAError && (real.code as string) === result;
    if (result === 'RangeError') return real instanceof RangeError;
    return !(real instanceof Error) && JSON.stringify(summary(real)) === JSON.stringify(result);
  };
  if (!wanted.some(fits)) {
    if (real instanceof Error && !(real instanceof MFAError)) throw real;
    expect(real instanceof Error ? real : summary(real), `${c.m} result`).toEqual(wanted[0]);
  }
  expect(stored, `record after ${c.m}`).toEqual(expected(outcome.next, run.now));
  checkGeneration(c, real, outcome.next.account.generation);
  expect(storedAccount(run, record), `account after ${c.m}`).toEqual(
    modelAccount(run, u, outcome.next.account),
  );
  run.states[u] = { ...outcome.next, account: adopt(run, u, record) };
}
