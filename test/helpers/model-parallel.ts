/**
 * Calls in flight together (test/helpers/model-run.ts): code checks and
 * reads run in parallel, and factor changes raced. Their interleaving is not
 * determined, so the checks are the invariants that hold in any of them;
 * then the model takes the store's state.
 */
import { expect } from 'vitest';
import { MFAError } from '../../src/index.ts';
import { normalizeRecoveryCode } from '../../src/mfa/recovery-hash.ts';
import { clone, nameKey, remaining, type ModelUser, type Projection } from './mfa-model.ts';
import {
  adopt,
  modelAccount,
  optionsOf,
  storedAccount,
  pickProof,
  purposeOf,
  raceAccount,
} from './model-account.ts';
import { importSecret } from './model-sequential.ts';
import { POLICY, type Call } from './model-steps.ts';
import { expected, projectRecord, Run, tally, unseal } from './model-system.ts';

/** Calls in flight together: the invariants of any interleaving, then the model takes the store's state. */
export async function parallel(run: Run, u: number, calls: Call[], salt: number) {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const planned = calls.map((c, i) => {
    if (c.m === 'verify') {
      const { code, step } = run.code(u, run.factor(u, c.f), c.code, salt + i);
      return { c, steps: step === null ? [] : [step], run: () => run.mfa.verify(userId, code) };
    }
    if (c.m === 'resync') {
      const { codes, end } = run.pair(u, run.factor(u, c.f), c.pair, salt + i);
      return {
        c,
        steps: end === null ? [] : [end - 1, end],
        run: () => run.mfa.resync(userId, ...codes),
      };
    }
    if (c.m === 'recovery') {
      const code = run.recoveryCode(u, c.code, c.pick);
      return { c, steps: [], code, run: () => run.mfa.useRecoveryCode(userId, code) };
    }
    if (c.m === 'list') return { c, steps: [], run: () => run.mfa.listFactors(userId) };
    return { c, steps: [], run: () => run.mfa.status(userId) };
  });
  const results = (await Promise.all(planned.map((p) => p.run()))) as {
    ok?: boolean;
    reason?: string;
    factorId?: string;
  }[];
  const record = await run.record(u);
  const stored = projectRecord(record, run.now);
  for (const [i, p] of planned.entries()) tally(`parallel ${p.c.m}`, results[i]);

  // One acceptance per step per factor: accepted steps are new and disjoint.
  const acceptedSteps = new Map<string, number[]>();
  let otpChecked = 0;
  let otpOk = 0;
  const recoveryOk: string[] = [];
  for (const [i, p] of planned.entries()) {
    const result = results[i] as { ok?: boolean; reason?: string; factorId?: string };
    if (p.c.m === 'verify' || p.c.m === 'resync') {
      if (result.ok) {
        otpOk++;
        const factor = before.factors.find((f) => f.id === result.factorId);
        expect(factor, 'a code accepted for an unknown factor').toBeDefined();
        expect(p.steps.length, 'a code of no step was accepted').toBeGreaterThan(0);
        const steps = acceptedSteps.get(factor?.id as string) ?? [];
        for (const s of p.steps) {
          expect(s, 'an accepted step must be newer than the last').toBeGreaterThan(
            factor?.lastStep as number,
          );
          expect(steps, 'a step accepted twice').not.toContain(s);
          steps.push(s);
        }
        acceptedSteps.set(factor?.id as string, steps);
      }
      if (
        result.ok ||
        ['mismatch', 'replayed', 'resync_required', 'wrong_order', 'clock_skew'].includes(
          result.reason ?? '',
        )
      )
        otpChecked++;
    }
    if (p.c.m === 'recovery' && result.ok) {
      const canonical = normalizeRecoveryCode(p.code as string);
      const original = [...(run.issued[u] as Set<string>)].find(
        (x) => normalizeRecoveryCode(x) === canonical,
      );
      expect(original, 'an unknown recovery code was accepted').toBeDefined();
      expect(run.accepted[u]?.has(original as string), 'a recovery code accepted twice').toBe(
        false,
      );
      run.accepted[u]?.add(original as string);
      recoveryOk.push(original as string);
    }
  }
  expect(
    stored.factors.map((f) => f.id),
    'factors after parallel calls',
  ).toEqual(before.factors.map((f) => f.id));
  for (const [i, factor] of before.factors.entries()) {
    const steps = acceptedSteps.get(factor.id) ?? [];
    expect(stored.factors[i]?.lastStep, 'lastStep after parallel calls').toBe(
      steps.length > 0 ? Math.max(...steps) : factor.lastStep,
    );
  }
  // The budget: without a success, each checked code reserved exactly one
  // attempt, however many factors it was checked against.
  if (otpOk === 0 && recoveryOk.length === 0) {
    expect(stored.otp.failures, 'OTP failures after parallel calls').toBe(
      before.throttle.otp.failures + otpChecked,
    );
  }
  // The lock: attempts stop once the charged guesses reach the budget; the last
  // attempt granted may pass it by less than its weight (one per factor).
  const n = Math.max(1, before.factors.length);
  expect(stored.otp.guesses).toBeLessThanOrEqual(
    Math.max(POLICY.throttle.maxFailures + n - 1, before.throttle.otp.guesses),
  );
  expect(stored.recovery.guesses).toBeLessThanOrEqual(POLICY.recoveryThrottle.maxFailures);
  if (run.model.isLocked(before, 'otp') && recoveryOk.length === 0) {
    for (const [i, p] of planned.entries()) {
      if (
        (p.c.m === 'verify' || p.c.m === 'resync') &&
        before.factors.length > 0 &&
        !['malformed', 'same_code'].includes(results[i]?.reason ?? '')
      ) {
        expect(results[i], 'a locked user got a code checked').toEqual({
          ok: false,
          reason: 'locked',
        });
      }
    }
  }
  if (before.recovery) {
    expect(stored.recoveryRemaining).toBe(remaining(before) - recoveryOk.length);
  }
  // The model takes the store's state.
  const next = clone(before);
  for (const [i, f] of next.factors.entries()) {
    const { lastStep, drift, lastUsedAt } = stored.factors[i] as Projection['factors'][number];
    Object.assign(f, { lastStep, drift, lastUsedAt });
  }
  if (next.recovery)
    next.recovery.unused = next.recovery.unused.filter((code) => !recoveryOk.includes(code));
  next.throttle = { otp: stored.otp, recovery: stored.recovery };
  expect(stored).toEqual(expected(next, run.now));
  // Code checks without proofFor leave the account as it was.
  expect(storedAccount(run, record), 'account after parallel calls').toEqual(
    modelAccount(run, u, before.account),
  );
  run.states[u] = next;
}

/**
 * Calls that change the factors, raced: whatever the interleaving, no call
 * fails, the limit and the unique names hold, and a user has a recovery set
 * exactly when it has a factor. The model then takes the store's state.
 */
export async function race(run: Run, u: number, calls: Call[], salt: number) {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const beforeRecord = await run.record(u);
  // 0.3: each sensitive call passes the newest live proof of its purpose
  // (several calls may pass the same one: it authorises one change).
  const proofs = calls.map((c) => {
    const purpose = purposeOf(c);
    return purpose === null ? undefined : pickProof(run, u, 'match', purpose, salt);
  });
  const extra = (i: number) => optionsOf(calls[i] as Call, proofs[i]);
  const planned = calls.map((c, i): (() => Promise<unknown>) => {
    switch (c.m) {
      case 'import':
        return () =>
          run.mfa.importFactor(userId, {
            secret: importSecret(run, u, c, salt + i),
            ...(c.name === undefined ? {} : { name: c.name }),
            ...(c.lastStep === 'none' ? { lastStep: -1 } : {}),
            recoveryCodes: c.codes,
          });
      case 'complete': {
        const { codes } = run.pair(u, before.pending ?? undefined, c.pair, salt + i);
        return () => run.mfa.completeEnrollment(userId, ...codes);
      }
      case 'remove':
        return () => run.mfa.removeFactor(userId, run.factorId(u, c.f), extra(i));
      case 'verify': {
        const { code } = run.code(u, run.factor(u, c.f), c.code, salt + i);
        return () => run.mfa.verify(userId, code);
      }
      case 'regenerate':
        return () => run.mfa.regenerateRecoveryCodes(userId, extra(i));
      default:
        return () => run.mfa.disable(userId, extra(i));
    }
  });
  // During an erasure guard, a call that would create state is refused whole.
  const erasedOnly = (error: unknown) => {
    if (
      error instanceof MFAError &&
      error.code === 'ERR_ERASED' &&
      run.model.erased(before, run.now)
    )
      return { erased: true };
    throw error;
  };
  // A proof another call of the race may have used, or one a factor added meanwhile makes too weak.
  const proofRefused = (error: unknown) => {
    if (error instanceof MFAError && (error.code as string) === 'ERR_PROOF')
      return { proofRefused: true };
    return erasedOnly(error);
  };
  const results = await Promise.all(planned.map((p) => p().catch(proofRefused)));
  const record = await run.record(u);
  for (const [i, c] of calls.entries()) tally(`race ${c.m}`, results[i]);
  raceAccount(run, u, calls, proofs, results, before, record);
  const factors = record?.factors ?? [];
  expect(factors.length, 'factors after a race').toBeLessThanOrEqual(POLICY.maxFactors);
  // A secret enters once: no two factors share a digest, however imports race.
  expect(new Set(factors.map((f) => f.secretDigest)).size, 'secrets after a race').toBe(
    factors.length,
  );
  if (run.model.erased(before, run.now)) {
    expect(record, 'state created during the erasure guard').toBeNull();
  }
  expect(new Set(factors.map((f) => nameKey(f.name))).size, 'names after a race').toBe(
    factors.length,
  );
  // A recovery set only with a factor (an import may make a first factor
  // without one: docs/enrollment.md, `recoveryCodes`).
  if (factors.length === 0)
    expect(record?.recoveryCodes ?? null, 'a set without a factor').toBeNull();
  if (before.factors.length > 0 && before.recovery && factors.length > 0)
    expect(record?.recoveryCodes, 'a set kept while factors are').toBeTruthy();
  // Codes shown by a call: known to the caller from now on. The set the store
  // holds is the one shown last only if exactly one call showed a set.
  const shown = results
    .map((r) => (r as { recoveryCodes?: string[] } | null)?.recoveryCodes)
    .filter((codes): codes is string[] => Array.isArray(codes));
  for (const codes of shown) for (const code of codes) run.issued[u]?.add(code);
  if (shown.length > 1) for (const codes of shown) for (const c of codes) run.maybeLive[u]?.add(c);
  const setKept = record?.recoveryCodes?.salt === beforeRecord?.recoveryCodes?.salt;
  const count = record?.recoveryCodes?.hashes.length ?? 0;
  const next: ModelUser = {
    pending: record?.pending
      ? {
          id: record.pending.id,
          name: record.pending.name,
          secret: unseal(record.pending.sealedSecret),
          createdAt: record.pending.createdAt,
          expiresAt: record.pending.expiresAt,
          replaceFactorId: record.pending.replaceFactorId,
          previous: record.pending.previous
            ? {
                id: record.pending.previous.id,
                secret: unseal(record.pending.previous.sealedSecret),
                expiresAt: record.pending.previous.expiresAt,
              }
            : null,
        }
      : null,
    factors: factors.map((f) => ({
      id: f.id,
      name: f.name,
      secret: unseal(f.sealedSecret),
      lastStep: f.lastStep,
      drift: f.drift,
      createdAt: f.createdAt,
      activatedAt: f.activatedAt,
      lastUsedAt: f.lastUsedAt,
    })),
    recovery: !record?.recoveryCodes
      ? null
      : setKept && before.recovery
        ? before.recovery
        : shown.length === 1 && (shown[0] as string[]).length === count
          ? { unused: [...(shown[0] as string[])], unseen: 0 }
          : { unused: [], unseen: count },
    throttle: {
      otp: { ...(record?.throttle.otp ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
      recovery: { ...(record?.throttle.recovery ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
    },
    erasedUntil: before.erasedUntil,
    account: adopt(run, u, record),
  };
  expect(projectRecord(record, run.now)).toEqual(expected(next, run.now));
  run.states[u] = next;
}
