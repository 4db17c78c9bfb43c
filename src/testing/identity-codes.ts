/**
 * The rules of out-of-band verification codes (issue 20, "Rules"), checked
 * through the service on the store under test: expiry, one live code per
 * purpose, the per-code cap, a per-purpose budget no resend resets, the
 * cooldown, the daily caps, a sender failure, the destination and purpose
 * binding, and no enumeration. The oracle is the documented policy
 * (defaults: 6 digits, 10 minutes, 5 attempts per code, 20 per purpose per
 * 24 h, 60 s cooldown, 10 sends per destination and 20 per user per 24 h).
 * @module
 * @internal
 */
import { expect, it } from 'vitest';
import { MFAError } from '../errors.ts';
import type { MakeStore } from './harness.ts';
import { bindFactor, freshUser, identityHarness, proofsEverywhere } from './identity-service.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const EMAIL = { channel: 'email', destination: 'alice@example.com', purpose: 'enroll' } as const;

/** A wrong code for `code`: every digit changed. */
function wrong(code: string): string {
  return [...code].map((d) => String((Number(d) + 1) % 10)).join('');
}

/** Registers the verification-code rule cases for the store `makeStore` returns. */
export function verificationCodeCases(makeStore: MakeStore): void {
  const setup = async (policy = {}) => identityHarness(await makeStore(), policy);

  it('expiry: a right code passes until 10 minutes after sending, then answers expired', async () => {
    const h = await setup();
    const [a, b] = [freshUser('exp-a'), freshUser('exp-b')];
    expect(await h.mfa.sendVerificationCode(a, EMAIL)).toEqual({
      ok: true,
      expiresAt: h.now + 10 * MINUTE,
      codeLength: 6,
    });
    await h.mfa.sendVerificationCode(b, EMAIL);
    h.advance(10 * MINUTE - 1);
    expect(
      await h.mfa.checkVerificationCode(a, h.lastCode(a), { purpose: 'enroll' }),
    ).toMatchObject({ ok: true });
    h.advance(1);
    expect(await h.mfa.checkVerificationCode(b, h.lastCode(b), { purpose: 'enroll' })).toEqual({
      ok: false,
      reason: 'expired',
    });
    // Used up by that answer: no code is live any more.
    expect(await h.mfa.checkVerificationCode(b, h.lastCode(b), { purpose: 'enroll' })).toEqual({
      ok: false,
      reason: 'no_code',
    });
  });

  it('one live code per purpose: a resend invalidates the earlier code', async () => {
    const h = await setup();
    const user = freshUser('one-live');
    await h.mfa.sendVerificationCode(user, EMAIL);
    const first = h.lastCode(user);
    h.advance(MINUTE);
    await h.mfa.sendVerificationCode(user, EMAIL);
    const second = h.lastCode(user);
    if (first !== second) {
      expect(await h.mfa.checkVerificationCode(user, first, { purpose: 'enroll' })).toEqual({
        ok: false,
        reason: 'wrong_code',
      });
    }
    expect(await h.mfa.checkVerificationCode(user, second, { purpose: 'enroll' })).toMatchObject({
      ok: true,
    });
    // Another purpose has its own live code, untouched by these.
    h.advance(MINUTE);
    await h.mfa.sendVerificationCode(user, { ...EMAIL, purpose: 'change_email' });
    const other = h.lastCode(user);
    h.advance(MINUTE);
    await h.mfa.sendVerificationCode(user, { ...EMAIL, destination: 'b@example.com' });
    expect(
      await h.mfa.checkVerificationCode(user, other, { purpose: 'change_email' }),
    ).toMatchObject({ ok: true });
  });

  it('the per-code cap: the 5th wrong attempt removes the code; the right one then finds none', async () => {
    const h = await setup();
    const user = freshUser('cap');
    await h.mfa.sendVerificationCode(user, EMAIL);
    const code = h.lastCode(user);
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        (await h.mfa.checkVerificationCode(user, wrong(code), { purpose: 'enroll' })).ok,
      );
    }
    expect(answers).toEqual([false, false, false, false, false]);
    const reasons = h.events
      .filter((e) => e.type === 'verification_code_checked')
      .map((e) => ('reason' in e ? e.reason : undefined));
    expect(reasons).toEqual([
      'wrong_code',
      'wrong_code',
      'wrong_code',
      'wrong_code',
      'attempts_exhausted',
    ]);
    expect(await h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' })).toEqual({
      ok: false,
      reason: 'no_code',
    });
  });

  it('the per-purpose budget: 20 attempts per 24 h, not reset by a resend nor a success', async () => {
    const h = await setup();
    const user = freshUser('budget');
    let charged = 0;
    // 4 codes × 4 wrong attempts, then a right one each time (a success): 20 attempts.
    for (let round = 0; round < 4; round++) {
      await h.mfa.sendVerificationCode(user, EMAIL);
      const code = h.lastCode(user);
      for (let i = 0; i < 4; i++) {
        const r = await h.mfa.checkVerificationCode(user, wrong(code), { purpose: 'enroll' });
        expect(r).toEqual({ ok: false, reason: 'wrong_code' });
        charged++;
      }
      expect(await h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' })).toMatchObject({
        ok: true,
      });
      charged++;
      h.advance(MINUTE);
    }
    expect(charged).toBe(20);
    // A new code does not reopen the budget: even the right code is not checked.
    await h.mfa.sendVerificationCode(user, EMAIL);
    const fresh = h.lastCode(user);
    const throttled = await h.mfa.checkVerificationCode(user, fresh, { purpose: 'enroll' });
    expect(throttled).toEqual({
      ok: false,
      reason: 'throttled',
      retryAfterMs: DAY - 4 * MINUTE,
    });
    // Another purpose has its own budget (another destination: no cooldown).
    await h.mfa.sendVerificationCode(user, {
      ...EMAIL,
      destination: 'alice@work.example',
      purpose: 'disable',
    });
    expect(
      await h.mfa.checkVerificationCode(user, h.lastCode(user), { purpose: 'disable' }),
    ).toMatchObject({ ok: true });
    // The window's end reopens it.
    h.advance(DAY - 4 * MINUTE);
    await h.mfa.sendVerificationCode(user, EMAIL);
    expect(
      await h.mfa.checkVerificationCode(user, h.lastCode(user), { purpose: 'enroll' }),
    ).toMatchObject({ ok: true });
  });

  it('parallel guesses never exceed the per-code cap nor the budget', async () => {
    const h = await setup();
    const user = freshUser('parallel');
    await h.mfa.sendVerificationCode(user, EMAIL);
    const code = h.lastCode(user);
    const results = await Promise.all(
      Array.from({ length: 30 }, () =>
        h.mfa.checkVerificationCode(user, wrong(code), { purpose: 'enroll' }),
      ),
    );
    const reasons = results.map((r) => (r.ok ? 'ok' : r.reason));
    // 5 attempts reach the code (4 wrong, the 5th exhausts it), 15 more find none, 10 are refused.
    expect(reasons.filter((r) => r === 'wrong_code')).toHaveLength(4);
    expect(reasons.filter((r) => r === 'attempts_exhausted')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'no_code')).toHaveLength(15);
    expect(reasons.filter((r) => r === 'throttled')).toHaveLength(10);
  });

  it('the cooldown: nothing sent to the same destination within 60 s, with retryAfterMs', async () => {
    const h = await setup();
    const user = freshUser('cooldown');
    await h.mfa.sendVerificationCode(user, EMAIL);
    h.advance(59_000);
    expect(await h.mfa.sendVerificationCode(user, EMAIL)).toEqual({
      ok: false,
      reason: 'cooldown',
      retryAfterMs: 1_000,
    });
    expect(h.sent).toHaveLength(1);
    // Another destination is not in this one's cooldown.
    expect(
      await h.mfa.sendVerificationCode(user, { ...EMAIL, destination: 'alice@work.example' }),
    ).toMatchObject({ ok: true });
    h.advance(1_000);
    expect(await h.mfa.sendVerificationCode(user, EMAIL)).toMatchObject({ ok: true });
    expect(h.sent).toHaveLength(3);
  });

  it('the daily caps: 10 sends per destination and 20 per user per 24 h', async () => {
    const h = await setup();
    const user = freshUser('daily');
    for (let i = 0; i < 10; i++) {
      expect(await h.mfa.sendVerificationCode(user, EMAIL)).toMatchObject({ ok: true });
      h.advance(MINUTE);
    }
    expect(await h.mfa.sendVerificationCode(user, EMAIL)).toEqual({
      ok: false,
      reason: 'daily_limit',
      retryAfterMs: DAY - 10 * MINUTE,
    });
    for (let i = 0; i < 10; i++) {
      const sms = {
        channel: 'sms',
        destination: `+1 555 01${String(i).padStart(2, '0')}`,
      } as const;
      expect(await h.mfa.sendVerificationCode(user, { ...sms, purpose: 'enroll' })).toMatchObject({
        ok: true,
      });
    }
    const over = await h.mfa.sendVerificationCode(user, {
      channel: 'sms',
      destination: '+1 555 0199',
      purpose: 'enroll',
    });
    expect(over).toEqual({ ok: false, reason: 'daily_limit', retryAfterMs: DAY - 10 * MINUTE });
    expect(h.sent).toHaveLength(20);
    h.advance(DAY - 10 * MINUTE);
    expect(await h.mfa.sendVerificationCode(user, EMAIL)).toMatchObject({ ok: true });
  });

  it('a sender failure: ERR_SENDER without the code, no live code, no cooldown or cap spent', async () => {
    const h = await setup({ verificationCodes: { dailyLimitPerDestination: 1 } });
    const user = freshUser('sender');
    let given = '';
    h.failSends({ name: 'ProviderError', message: 'bad request' });
    const spy = h.mfa;
    const error = await spy.sendVerificationCode(user, EMAIL).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MFAError);
    expect((error as MFAError).code).toBe('ERR_SENDER');
    expect((error as MFAError).cause).toBeUndefined();
    expect((error as MFAError).message).toMatch(/no code is live and no send was counted/);
    expect(h.events.map((e) => e.type)).toEqual(['verification_code_send_failed']);
    h.failSends(null);
    // Nothing live: the check finds no code.
    expect(await h.mfa.checkVerificationCode(user, '123456', { purpose: 'enroll' })).toEqual({
      ok: false,
      reason: 'no_code',
    });
    // No cooldown and no cap spent: a send right away works, even with a cap of 1.
    expect(await h.mfa.sendVerificationCode(user, EMAIL)).toMatchObject({ ok: true });
    given = h.lastCode(user);
    expect(await h.mfa.sendVerificationCode(user, { ...EMAIL, purpose: 'disable' })).toMatchObject({
      ok: false,
      reason: 'cooldown',
    });
    expect(JSON.stringify(h.events)).not.toContain(given);
  });

  it('destination and purpose binding: a code passes only for its purpose and destination', async () => {
    const h = await setup();
    const user = freshUser('binding');
    await h.mfa.sendVerificationCode(user, EMAIL);
    const code = h.lastCode(user);
    expect(await h.mfa.checkVerificationCode(user, code, { purpose: 'disable' })).toEqual({
      ok: false,
      reason: 'no_code',
    });
    expect(
      await h.mfa.checkVerificationCode(user, code, {
        purpose: 'enroll',
        destination: 'mallory@example.com',
      }),
    ).toEqual({ ok: false, reason: 'wrong_code' });
    // Another user's code never passes for this one.
    const other = freshUser('binding-other');
    await h.mfa.sendVerificationCode(other, EMAIL);
    if (h.lastCode(other) !== code) {
      expect(
        await h.mfa.checkVerificationCode(user, h.lastCode(other), { purpose: 'enroll' }),
      ).toEqual({ ok: false, reason: 'wrong_code' });
    }
    expect(
      await h.mfa.checkVerificationCode(user, code, {
        purpose: 'enroll',
        destination: 'alice@example.com',
      }),
    ).toMatchObject({ ok: true });
  });

  it('no enumeration: the same answers whether the user is unknown or has a factor', async () => {
    const h = await setup({ proofs: proofsEverywhere('none') });
    const [unknown, enrolled] = [freshUser('nobody'), freshUser('enrolled')];
    await bindFactor(h, enrolled);
    const run = async (user: string) => {
      const answers: unknown[] = [];
      const strip = (r: object) => ('proof' in r ? { ...r, proof: typeof r.proof } : r);
      answers.push(await h.mfa.checkVerificationCode(user, '123456', { purpose: 'enroll' }));
      answers.push(await h.mfa.sendVerificationCode(user, EMAIL));
      answers.push(await h.mfa.sendVerificationCode(user, EMAIL));
      const code = h.lastCode(user);
      answers.push(await h.mfa.checkVerificationCode(user, wrong(code), { purpose: 'enroll' }));
      answers.push(strip(await h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' })));
      answers.push(await h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' }));
      return answers;
    };
    const start = h.now;
    const a = await run(unknown);
    h.now = start;
    const b = await run(enrolled);
    expect(b).toEqual(a);
    expect(a[0]).toEqual({ ok: false, reason: 'no_code' });
    expect(a[4]).toMatchObject({ ok: true, proof: 'string' });
  });
}
