/**
 * The claims oracle's operations (test/helpers/claims-run.ts): each makes
 * one call or a few for a user of a {@link Run} and judges the answer
 * against the claims; `weight` is the factor count for claim 1: exact for a
 * call run alone, a lower bound in a parallel batch.
 */
import { decodeBase32, generateTOTP } from 'totpkit';
import { expectRefusal, MAX_FACTORS, STEP, type Run, type User } from './claims-oracle.ts';

export async function verifyRight(run: Run, user: User, weight: number) {
  const entry = run.pick([...user.secrets]);
  if (entry === undefined) return;
  const [, secret] = entry;
  // The step of the call's own moment: a parallel batch may move the clock before it returns.
  const step = run.step();
  const code = generateTOTP(secret, { now: run.clock.now });
  const result = await run.mfa.verify(user.id, code);
  run.judge(user, `verify(right) at step ${step}`, result, weight);
  if (result.ok) {
    run.accept(user, secret, step, 'verify');
    user.lastAccepted = { secret, step };
    run.reset(user);
  }
}

/** Sends again the code last accepted for the user, in the same step: a replay. */
export async function verifyReplay(run: Run, user: User, weight: number) {
  const last = user.lastAccepted;
  if (last === null || last.step !== run.step()) return;
  const result = await run.mfa.verify(user.id, generateTOTP(last.secret, { now: run.clock.now }));
  run.judge(user, `verify(replay) of step ${last.step}`, result, weight);
  if (result.ok) {
    run.accept(user, last.secret, last.step, 'verify(replay)');
    run.reset(user);
  }
}

export async function verifyWrong(run: Run, user: User, weight: number) {
  const result = await run.mfa.verify(user.id, run.wrongCode(user));
  run.judge(user, 'verify(wrong)', result, weight);
  if (result.ok) run.fail('1', 'a wrong code was accepted');
}

export async function enroll(run: Run, user: User) {
  if (user.secrets.size >= MAX_FACTORS) return;
  const begun = await run.mfa
    .beginEnrollment(user.id, {
      accountName: 'user@example.com',
      name: `App ${run.rng.below(1e9)}`,
    })
    .catch(expectRefusal);
  if (begun === undefined) return;
  const secret = decodeBase32(begun.secret);
  const right = run.rng.chance(0.7);
  const s = run.step();
  const code1 = right ? generateTOTP(secret, { now: (s - 1) * STEP }) : run.wrongCode(user);
  const code2 = generateTOTP(secret, { now: s * STEP });
  const result = await run.mfa.completeEnrollment(user.id, code1, code2);
  run.judge(user, `completeEnrollment(${right ? 'right' : 'wrong'})`, result, 1);
  if (result.ok) {
    user.account.changes += 1;
    run.accept(user, secret, s - 1, 'binding');
    run.accept(user, secret, s, 'binding');
    user.secrets.set(result.factorId, secret);
    if (result.recoveryCodes) run.newSet(user, result.recoveryCodes);
    run.reset(user);
  }
}

export async function importFactor(run: Run, user: User) {
  const existing = run.pick([...user.secrets.values()]);
  const duplicate = existing !== undefined && run.rng.chance(0.5);
  const secret = duplicate ? existing : run.rng.bytes(20);
  const result = await run.mfa.importFactor(user.id, {
    secret,
    name: `Imported ${run.rng.below(1e9)}`,
  });
  run.log.push(
    `${user.id} importFactor(${duplicate ? 'duplicate' : 'fresh'}) → ${JSON.stringify({ ok: result.ok })}`,
  );
  if (result.ok) {
    if (!result.alreadyImported) user.account.changes += 1;
    user.secrets.set(result.factorId, secret);
    const codes = (result as { recoveryCodes?: readonly string[] }).recoveryCodes;
    if (codes) run.newSet(user, codes);
  }
}

export async function removeFactor(run: Run, user: User) {
  const id = run.pick([...user.secrets.keys()]);
  if (id === undefined) return;
  const result = await run.mfa.removeFactor(user.id, id);
  run.log.push(`${user.id} removeFactor → ${JSON.stringify(result)}`);
  if (result.ok) user.account.changes += 1;
  user.secrets.delete(id);
  if (user.secrets.size === 0) run.newSet(user, []);
}

export async function disable(run: Run, user: User) {
  const result = (await run.mfa.disable(user.id)) as unknown as { disabled?: boolean };
  if (result.disabled) user.account.changes += 1;
  run.log.push(`${user.id} disable → ${JSON.stringify(result)}`);
  user.secrets.clear();
  run.newSet(user, []);
}

export async function useRecoveryCode(run: Run, user: User) {
  const pool = [...user.recovery, ...user.usedRecovery, ...user.replaced];
  const code = run.pick(pool);
  if (code === undefined) return;
  const result = await run.mfa.useRecoveryCode(user.id, code);
  run.log.push(`${user.id} useRecoveryCode → ${JSON.stringify(result)}`);
  if (!result.ok) return;
  if (user.usedRecovery.has(code)) run.fail('5', 'a recovery code worked twice');
  if (user.replaced.has(code)) run.fail('5', "a replaced set's recovery code worked");
  user.usedRecovery.add(code);
  user.recovery = user.recovery.filter((c) => c !== code);
  run.reset(user);
}

export async function regenerate(run: Run, user: User) {
  const result = await run.mfa.regenerateRecoveryCodes(user.id);
  run.log.push(`${user.id} regenerateRecoveryCodes → ${result.ok}`);
  if (result.ok) {
    user.account.changes += 1;
    run.newSet(user, result.recoveryCodes);
  }
}

/** One operation of claims 6 to 11 (claims-account.ts). */
export async function account(run: Run, user: User, weight: number, generation: number | null) {
  const claims = run.accountClaims;
  const roll = run.rng.below(100);
  if (roll < 25) return claims.send(user);
  if (roll < 50) return claims.check(user);
  if (roll < 60) {
    const entry = run.pick([...user.secrets]);
    if (entry === undefined) return;
    const step = run.step();
    const result = await claims.verifyFor(user, entry[1], generation);
    run.judge(user, `verify(right, proofFor) at step ${step}`, result, weight);
    if (result.ok) {
      run.accept(user, entry[1], step, 'verify(proofFor)');
      run.reset(user);
    }
    return;
  }
  if (roll < 75) {
    const made = (await claims.change(user)) as {
      removed?: string;
      disabled?: boolean;
      regenerated?: { recoveryCodes: string[] };
    } | null;
    if (made?.removed !== undefined) user.secrets.delete(made.removed);
    if (made?.disabled || (made?.removed !== undefined && user.secrets.size === 0)) {
      user.secrets.clear();
      run.newSet(user, []);
    }
    if (made?.regenerated) run.newSet(user, made.regenerated.recoveryCodes);
    return;
  }
  if (roll < 85)
    return claims.checkDevice(user, run.users.find((x) => x !== user) ?? user, generation);
  if (roll < 90) return claims.forget(user);
  if (roll < 95) {
    const result = await claims.adminReset(user);
    if (!result.reset) return;
    user.secrets.clear();
    run.newSet(user, []);
    run.reset(user);
    if (run.inBatch()) return;
    const status = await run.mfa.status(user.id);
    if (status.state !== 'none' || status.factors !== 0)
      run.fail('11', `after an admin reset ${user.id} is ${status.state}`);
    return;
  }
  run.clock.now += 61_000;
}

export async function unlock(run: Run, user: User) {
  await run.mfa.unlock(user.id);
  run.log.push(`${user.id} unlock`);
  run.reset(user);
}
