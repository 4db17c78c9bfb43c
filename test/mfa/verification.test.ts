// Issue 20's rules of verification codes on MemoryStore (the cases every
// store runs through testMFAStore live in src/testing/identity-codes.ts),
// plus what needs MemoryStore's speed: a property test of the budget and
// per-code cap under random interleavings, and codes absent from every
// result, event, message and stack.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/index.ts';
import { verificationCodeCases } from '../../src/testing/identity-codes.ts';
import { freshUser, identityHarness } from '../../src/testing/identity-service.ts';

describe('verification code rules (MemoryStore)', () => {
  verificationCodeCases(() => new MemoryStore());
});

const EMAIL = { channel: 'email', destination: 'alice@example.com', purpose: 'enroll' } as const;

describe('verification codes: properties', () => {
  it('under random interleavings of send and check, no cap is ever exceeded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            op: fc.constantFrom('send', 'right', 'wrong', 'advance'),
            parallel: fc.integer({ min: 1, max: 4 }),
            ms: fc.integer({ min: 0, max: 3 * 60_000 }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (steps) => {
          const h = identityHarness(new MemoryStore(), {
            verificationCodes: { budget: 7, maxAttemptsPerCode: 3, resendCooldownMs: 0 },
          });
          const user = freshUser('prop');
          let charged = 0;
          let perCode = new Map<string, number>();
          const successes = new Map<string, number>();
          for (const step of steps) {
            if (step.op === 'advance') {
              h.advance(step.ms);
              continue;
            }
            if (step.op === 'send') {
              await Promise.all(
                Array.from({ length: step.parallel }, () =>
                  h.mfa.sendVerificationCode(user, EMAIL),
                ),
              );
              continue;
            }
            const live = h.sent.at(-1)?.code ?? '000000';
            const code =
              step.op === 'right' ? live : live.replace(/./g, (d) => String((+d + 1) % 10));
            const results = await Promise.all(
              Array.from({ length: step.parallel }, () =>
                h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' }),
              ),
            );
            for (const r of results) {
              if (!r.ok && r.reason === 'throttled') continue;
              charged++;
              if (r.ok || r.reason === 'wrong_code' || r.reason === 'attempts_exhausted') {
                perCode.set(code + live, (perCode.get(code + live) ?? 0) + 1);
              }
              if (r.ok) successes.set(live, (successes.get(live) ?? 0) + 1);
            }
          }
          // Everything happened within one budget window (at most 40 × 3 min < 24 h).
          expect(charged).toBeLessThanOrEqual(7);
          for (const n of successes.values()) expect(n).toBe(1);
          const record = await h.store.getUser(user, h.now);
          for (const c of record?.account?.codes ?? []) expect(c.attempts).toBeLessThan(3);
          expect(record?.account?.codes.length ?? 0).toBeLessThanOrEqual(1);
          perCode = new Map();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('codes appear in no result, event, error message or stack; destinations only masked', async () => {
    const h = identityHarness(new MemoryStore());
    const user = freshUser('leak');
    const seen: unknown[] = [];
    seen.push(await h.mfa.sendVerificationCode(user, EMAIL));
    const sms = { channel: 'sms', destination: '+44 20 7946 0589', purpose: 'enroll' } as const;
    h.advance(60_000);
    seen.push(await h.mfa.sendVerificationCode(user, sms));
    const code = h.lastCode(user);
    seen.push(await h.mfa.checkVerificationCode(user, '000000', { purpose: 'enroll' }));
    h.failSends(new Error(`provider echoed ${code}`));
    h.advance(60_000);
    const error = (await h.mfa.sendVerificationCode(user, sms).catch((e: unknown) => e)) as Error;
    seen.push(error.message, error.stack, String(error), JSON.stringify(error));
    seen.push(await h.mfa.checkVerificationCode(user, code, { purpose: 'enroll' }));
    const text = JSON.stringify({ seen, events: h.events });
    for (const c of h.sent.map((m) => m.code)) expect(text).not.toContain(c);
    expect(text).not.toContain('alice@example.com');
    expect(text).not.toContain('7946');
    const destinations = h.events.flatMap((e) => ('destination' in e ? [e.destination] : []));
    expect(new Set(destinations)).toEqual(new Set(['a•••@example.com', '•••••89']));
  });

  it('bad input throws naming the field; a service without verification refuses', async () => {
    const h = identityHarness(new MemoryStore());
    const user = freshUser('input');
    const cases: [unknown, RegExp][] = [
      [{ ...EMAIL, channel: 'fax' }, /"channel"/],
      [{ ...EMAIL, destination: 'no-at-sign' }, /"destination"/],
      [{ ...EMAIL, destination: 'a\n@example.com' }, /"destination"/],
      [{ ...EMAIL, destination: 'a\u0000@example.com' }, /"destination"/],
      // A lone surrogate hashes as U+FFFD: two destinations would share a key.
      [{ ...EMAIL, destination: 'a\ud800@example.com' }, /"destination".*surrogate/],
      [{ ...EMAIL, channel: 'sms', destination: 'abc' }, /"destination"/],
      [{ ...EMAIL, purpose: 'Enroll!' }, /"purpose"/],
    ];
    for (const [options, message] of cases) {
      await expect(h.mfa.sendVerificationCode(user, options as never)).rejects.toThrow(message);
    }
    await expect(
      h.mfa.checkVerificationCode(user, 123456 as never, { purpose: 'enroll' }),
    ).rejects.toThrow(TypeError);
    // A number where a string belongs is named by its type, never printed: a
    // phone number or a token must not reach a log through an error message.
    for (const call of [
      () =>
        h.mfa.sendVerificationCode(user, {
          ...EMAIL,
          channel: 'sms',
          destination: 447700900123 as never,
        }),
      () =>
        h.mfa.checkVerificationCode(user, '123456', {
          purpose: 'enroll',
          destination: 447700900123 as never,
        }),
      () => h.mfa.useProof(user, 447700900123 as never, { purpose: 'enroll' }),
      () => h.mfa.checkRememberedDevice(user, 447700900123 as never),
      () => h.mfa.removeFactor(user, 'f', { proof: 447700900123 as never }),
    ]) {
      const error = await call().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect(error!.message).toMatch(/got number/);
      expect(error!.message).not.toMatch(/447700900123/);
    }
    await expect(
      h.mfa.checkVerificationCode(user, '123456', {
        purpose: 'enroll',
        destination: 'a\udc00@example.com',
      }),
    ).rejects.toThrow(/"destination".*surrogate/);
    expect(await h.mfa.checkVerificationCode(user, '12345', { purpose: 'enroll' })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const { createMFA, plaintextCipher } = await import('../../src/index.ts');
    const bare = createMFA({ store: new MemoryStore(), issuer: 'A', cipher: plaintextCipher() });
    await expect(bare.sendVerificationCode(user, EMAIL)).rejects.toThrow(/options\.verification/);
    expect(() =>
      createMFA({
        store: new MemoryStore(),
        issuer: 'A',
        cipher: plaintextCipher(),
        verification: { sender: async () => {}, key: new Uint8Array(16) },
      }),
    ).toThrow(/verification\.key/);
    expect(() =>
      createMFA({
        store: new MemoryStore(),
        issuer: 'A',
        cipher: plaintextCipher(),
        policy: { verificationCodes: { length: 5 } },
      }),
    ).toThrow(/policy\.verificationCodes\.length/);
  });
});
