/**
 * Calls of issues 20 and 21 in flight together (test/helpers/model-run.ts):
 * checks of one purpose's code, resends of it, a proof used twice, device
 * checks racing a forget-all. The interleaving is not determined, so the
 * checks are what holds in any of them (CONTRACT2: every attempt is charged
 * before its answer, so parallel guesses never pass either cap; one success
 * per code; one use per proof; never two live codes for a purpose; a
 * forget-all that committed first wins); then the model takes the store's
 * document.
 */
import { expect } from 'vitest';
import { MFAError } from '../../src/index.ts';
import { codeHash, destinationKey } from './account-projection.ts';
import type { ModelUser } from './mfa-model.ts';
import { destination } from './model-account-calls.ts';
import {
  adopt,
  BOGUS_TOKEN,
  pickProof,
  registerDestination,
  registerToken,
} from './model-account.ts';
import type { Call, Purpose } from './model-steps.ts';
import { expected, projectRecord, tally, type Run } from './model-system.ts';

/** Answers of a check that was charged to the budget (all but `malformed` and `throttled`). */
const CHARGED = ['wrong_code', 'no_code', 'attempts_exhausted', 'expired'];

export async function accountParallel(
  run: Run,
  u: number,
  purpose: Purpose,
  calls: Call[],
  salt: number,
): Promise<void> {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const acc = before.account;
  const now = run.now;
  const M = run.account;
  const live = acc.codes.find((c) => c.purpose === purpose);
  const budgetBefore = M.budget(acc, purpose, now);
  const token = pickProof(run, u, 'match', 'export_data', salt) ?? BOGUS_TOKEN;
  const devices = run.devicesGiven[u] ?? [];
  run.outbox.length = 0;
  const planned = calls.map((c, i): { c: Call; run: () => Promise<unknown>; detail?: string } => {
    switch (c.m) {
      case 'check': {
        const code =
          c.code === 'right' && live?.code
            ? live.code
            : String((salt * 7919 + i * 104_729 + 17) % 1_000_000).padStart(6, '0');
        return { c, run: () => run.mfa.checkVerificationCode(userId, code, { purpose }) };
      }
      case 'send': {
        const to = destination('email', c.dest);
        registerDestination(run, u, 'email', to);
        return {
          c,
          detail: to,
          run: () =>
            run.mfa.sendVerificationCode(userId, { channel: 'email', destination: to, purpose }),
        };
      }
      case 'useProof':
        return { c, run: () => run.mfa.useProof(userId, token, { purpose: 'export_data' }) };
      case 'checkDevice': {
        const device = devices[(c as { pick: number }).pick % Math.max(1, devices.length)];
        const t = device?.token ?? BOGUS_TOKEN;
        return { c, detail: t, run: () => run.mfa.checkRememberedDevice(userId, t) };
      }
      default:
        return { c, run: () => run.mfa.forgetRememberedDevices(userId) };
    }
  });
  const erased = run.model.erased(before, now);
  const results = await Promise.all(
    planned.map((p) =>
      p.run().catch((error: unknown) => {
        if (erased && error instanceof MFAError && error.code === 'ERR_ERASED') return null;
        throw error;
      }),
    ),
  );
  for (const [i, p] of planned.entries()) tally(`parallel ${p.c.m}`, results[i]);
  const record = await run.record(u);
  const doc = record?.account;
  type Answer = { ok?: boolean; reason?: string; proof?: string; deviceId?: string };
  const answers = results as (Answer | boolean | number | null)[];
  const of = (m: string) =>
    planned.flatMap((p, i) => (p.c.m === m ? [answers[i] as Answer | null] : []));

  // Never two live codes for a purpose, whatever resend raced which check.
  const purposes = (doc?.codes ?? []).map((c) => c.purpose);
  expect(new Set(purposes).size, 'codes per purpose after parallel calls').toBe(purposes.length);

  // The budget is exact: one charge per charged answer, and never past the cap.
  const checks = of('check').filter((r): r is Answer => r !== null);
  const charged = checks.filter((r) => r.ok || CHARGED.includes(r.reason ?? '')).length;
  if (!erased) {
    const after = doc?.budgets.find((b) => b.purpose === purpose)?.failures ?? 0;
    expect(after, `the ${purpose} budget after parallel checks`).toBe(
      (budgetBefore?.failures ?? 0) + charged,
    );
    expect(after).toBeLessThanOrEqual(Math.max(M.policy.codes.budget, budgetBefore?.failures ?? 0));
  }
  const sends = of('send').filter((r) => r?.ok).length;
  const successes = checks.filter((r) => r.ok).length;
  expect(successes, 'successes per code').toBeLessThanOrEqual(1 + sends);
  if (of('send').length === 0 && live) {
    // The per-code cap: compared answers never exceed what the code had left.
    const compared = checks.filter(
      (r) => r.ok || ['wrong_code', 'expired', 'attempts_exhausted'].includes(r.reason ?? ''),
    ).length;
    expect(compared, 'answers compared with one code').toBeLessThanOrEqual(
      Math.max(0, M.policy.codes.maxAttemptsPerCode - live.attempts),
    );
  }
  for (const r of checks.filter((x) => x.ok)) {
    registerToken(run, u, 'proof', r.proof as string);
    run.proofsGiven[u]?.push({
      token: r.proof as string,
      purpose,
      expiresAt: now + M.policy.proofTtlMs,
    });
  }
  // One send per destination inside its cooldown; each one sent a message.
  const okTo = planned.filter((p, i) => p.c.m === 'send' && (answers[i] as Answer | null)?.ok);
  expect(new Set(okTo.map((p) => p.detail)).size, 'sends inside the cooldown').toBe(okTo.length);
  expect(run.outbox.length, 'messages sent').toBe(okTo.length);
  for (const m of run.outbox) {
    const key = destinationKey(userId, 'email', m.destination);
    run.byHash.set(codeHash(run.key, userId, m.purpose, key, m.code), m.code);
  }

  // One use per proof: exactly one if it was live.
  const uses = of('useProof') as unknown as boolean[];
  if (uses.length > 0) {
    const wasLive = M.useProof(acc, now, token, 'export_data').results[0] === true;
    expect(uses.filter((x) => x === true).length, 'uses of one proof').toBe(wasLive ? 1 : 0);
  }

  // Devices: an answer ok only for a device valid before; after a forget-all, none passes.
  const valid = M.valid(acc, now).map((d) => d.id);
  for (const [i, p] of planned.entries()) {
    if (p.c.m !== 'checkDevice') continue;
    const r = answers[i] as Answer;
    const alone = M.checkDevice(acc, now, p.detail as string).results[0] as Answer;
    if (r.ok) expect(valid, 'a device that passed').toContain(r.deviceId);
    else if (
      of('forgetDevices').length === 0 &&
      !['revoked', 'expired'].includes(alone.reason ?? '')
    )
      expect(r, 'a device check').toEqual(alone);
  }
  if (of('forgetDevices').length > 0) {
    for (const d of devices) {
      const r = (await run.mfa.checkRememberedDevice(userId, d.token)) as Answer;
      expect(r.ok, 'a device passed after a forget-all').toBe(false);
    }
  }
  const final = await run.record(u);
  expect(projectRecord(final, run.now), 'factors after parallel account calls').toEqual(
    expected(before, run.now),
  );
  expect(final?.account?.generation ?? 0, 'generation after parallel account calls').toBe(
    acc.generation,
  );
  run.states[u] = { ...before, account: adopt(run, u, final) };
}
