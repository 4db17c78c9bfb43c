// The 0.3 account races (issues 20 and 21), store-agnostic: four worker
// processes, each with its own connections and service, race on the same
// users through one store. Each oracle is a claim the issues and the 0.3
// decisions make, not the service's code:
//
// 1. one success per verification code, and per proof (issue 20.4);
// 2. the per-code cap and the per-purpose budget are exact under parallel
//    guessing: every check is charged before it is answered (issue 20.1);
// 3. a resend racing checks never leaves two live codes for a purpose;
// 4. a forget-all racing device checks ends with no token passing (21.2);
// 5. adminReset racing verify, resync, enrollment and recovery-code calls
//    leaves the user's state exactly "none": no factor, pending enrollment,
//    recovery code, verification code, proof or device (21.3).
//
// Registered by cross-process.test.ts (single servers) and
// redis-cluster.test.ts; each logs its counts.
import { expect, it } from 'vitest';
import { decodeBase32, generateTOTP } from '../../src/index.ts';
import type { MFAPolicyOptions } from '../../src/index.ts';
import type { CallOutcome, CallsResult, ServiceCall } from '../fixtures/store-worker.ts';
import { tally, type RaceContext } from './cross-process-races.ts';
import { enroll, OPEN_THROTTLE, SEED_PROOFS, T0, testMFA } from './mfa-setup.ts';

/** Sends never refused (no cooldown, high caps); a budget and a cap that parallel checks fit in. */
const CODES = {
  resendCooldownMs: 0,
  dailyLimitPerDestination: 1000,
  dailyLimitPerUser: 1000,
  budget: 100,
  maxAttemptsPerCode: 10,
};
const POLICY: MFAPolicyOptions = { throttle: OPEN_THROTTLE, verificationCodes: CODES };
const PURPOSE = 'enroll';
const send = (userId: string, purpose: string = PURPOSE) => ({
  channel: 'email' as const,
  destination: `${userId}@example.com`,
  purpose,
});

const all = (results: CallsResult[]) => results.flatMap((result) => result.outcomes);
/** A six-digit code other than `code`. */
const otherThan = (code: string) => (code === '000000' ? '000001' : '000000');
/** `count` copies of `call`, started `from` to `from + 9` ms from the start. */
const spread = (count: number, call: ServiceCall, from = 0): ServiceCall[] =>
  Array.from({ length: count }, (_, i) => ({ ...call, afterMs: from + (i % 10) }));

/** Registers the races; `run` keeps this run's user ids apart from earlier runs'. */
export function accountRaces(context: () => RaceContext, run: string, rounds = 10) {
  /** The parent's service, on the same store, with the races' policy. */
  const parent = (policy: MFAPolicyOptions = {}) =>
    testMFA(context().store, { ...POLICY, ...policy });
  /** Each worker runs `calls[i]` at once, from 50 ms from now, at `now`. */
  const race = (calls: ServiceCall[][], now: number, policy: MFAPolicyOptions = {}) =>
    context().workers.each(
      calls.map((list) => ({
        calls: list,
        now,
        policy: { ...POLICY, ...policy },
        startAt: Date.now() + 50,
      })),
    );

  it(
    `100 checks of one verification code, then 100 uses of one proof, from 4 processes: one success each, ${rounds} rounds`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock, sent } = parent();
      const codes: Record<string, number> = {};
      const proofs: Record<string, number> = {};
      for (let round = 1; round <= rounds; round++) {
        const userId = `vcode-${run}-${round}`;
        const now = T0 + round * 60_000;
        clock.now = now;
        // An app's own purpose: its budget (100) is spent by this race, not the proof's below.
        const purpose = 'checkout';
        expect(await mfa.sendVerificationCode(userId, send(userId, purpose))).toMatchObject({
          ok: true,
        });
        const code = sent.at(-1)!.code;
        const check: ServiceCall = {
          method: 'checkVerificationCode',
          args: [userId, code, { purpose }],
        };
        const checked = tally(
          all(
            await race(
              [0, 1, 2, 3].map(() => spread(25, check)),
              now,
            ),
          ),
        );
        for (const [k, n] of Object.entries(checked)) codes[k] = (codes[k] ?? 0) + n;
        // After the one success the code is gone: every other check finds none.
        expect(checked, `round ${round}: checks of one code`).toEqual({ ok: 1, no_code: 99 });

        // A proof of the parent's, raced by useProof in 3 processes and
        // beginEnrollment (the call it authorises) in the fourth.
        expect(await mfa.sendVerificationCode(userId, send(userId))).toMatchObject({ ok: true });
        const made = await mfa.checkVerificationCode(userId, sent.at(-1)!.code, {
          purpose: PURPOSE,
        });
        if (!made.ok) throw new Error(`round ${round}: no proof (${made.reason})`);
        const use: ServiceCall = {
          method: 'useProof',
          args: [userId, made.proof, { purpose: PURPOSE }],
        };
        const begin: ServiceCall = {
          method: 'beginEnrollment',
          args: [userId, { accountName: `${userId}@example.com`, proof: made.proof }],
        };
        const used = tally(
          all(
            await race(
              // useProof is the quicker call: it starts later so that either kind can win.
              [
                spread(25, begin),
                spread(25, use, 2 + round),
                spread(25, use, 4),
                spread(25, use, 8),
              ],
              now,
              { proofs: SEED_PROOFS },
            ),
          ),
        );
        for (const [k, n] of Object.entries(used)) proofs[k] = (proofs[k] ?? 0) + n;
        expect(used.ok, `round ${round}: uses of one proof`).toBe(1);
        expect((used.false ?? 0) + (used['error:ERR_PROOF'] ?? 0), `round ${round}`).toBe(99);
        // The proof used is gone (the code race's own 'checkout' proof stays, unused).
        const left = (await context().store.getUser(userId, now))?.account?.proofs ?? [];
        expect(left.filter((proof) => proof.purpose === PURPOSE)).toEqual([]);
        expect(left.map((proof) => proof.purpose)).toEqual(['checkout']);
      }
      console.log(`one verification code, 100 checks × ${rounds}:`, codes);
      console.log(`one proof, 75 useProof + 25 beginEnrollment × ${rounds}:`, proofs);
    },
  );

  it(
    `parallel wrong guesses from 4 processes: the per-code cap and the per-purpose budget are exact, ${rounds} rounds`,
    { timeout: 300_000 },
    async () => {
      const counts = { cap: {} as Record<string, number>, budget: {} as Record<string, number> };
      const add = (into: Record<string, number>, from: Record<string, number>) => {
        for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
      };
      for (let round = 1; round <= rounds; round++) {
        const now = T0 + round * 60_000;
        // The cap: 5 attempts per code, a budget of 100 (not reached).
        const capped = { verificationCodes: { ...CODES, maxAttemptsPerCode: 5 } };
        const { mfa, clock, sent } = parent(capped);
        clock.now = now;
        const userId = `vcap-${run}-${round}`;
        await mfa.sendVerificationCode(userId, send(userId));
        const code = sent.at(-1)!.code;
        const wrong: ServiceCall = {
          method: 'checkVerificationCode',
          args: [userId, otherThan(code), { purpose: PURPOSE }],
        };
        const cap = tally(
          all(
            await race(
              [0, 1, 2, 3].map(() => spread(25, wrong)),
              now,
              capped,
            ),
          ),
        );
        add(counts.cap, cap);
        // Exactly 5 attempts met the code: 4 wrong, the 5th reached the cap
        // (and removed it); the other 95 found no code; all 100 were charged.
        expect(cap, `round ${round}: the per-code cap`).toEqual({
          wrong_code: 4,
          attempts_exhausted: 1,
          no_code: 95,
        });
        let budget = (await context().store.getUser(userId, now))?.account?.budgets;
        expect(budget, `round ${round}`).toEqual([
          { purpose: PURPOSE, failures: 100, windowStart: now },
        ]);

        // The budget: 20 per purpose, 10 attempts per code; a resend does not reset it.
        const tight = { verificationCodes: { ...CODES, budget: 20 } };
        const second = parent(tight);
        second.clock.now = now;
        const other = `vbudget-${run}-${round}`;
        await second.mfa.sendVerificationCode(other, send(other));
        const real = second.sent.at(-1)!.code;
        const guess: ServiceCall = {
          method: 'checkVerificationCode',
          args: [other, otherThan(real), { purpose: PURPOSE }],
        };
        const spent = tally(
          all(
            await race(
              [0, 1, 2, 3].map(() => spread(25, guess)),
              now,
              tight,
            ),
          ),
        );
        add(counts.budget, spent);
        expect(spent, `round ${round}: the per-purpose budget`).toEqual({
          wrong_code: 9,
          attempts_exhausted: 1,
          no_code: 10,
          throttled: 80,
        });
        budget = (await context().store.getUser(other, now))?.account?.budgets;
        expect(budget).toEqual([{ purpose: PURPOSE, failures: 20, windowStart: now }]);
        await second.mfa.sendVerificationCode(other, send(other));
        const after = await second.mfa.checkVerificationCode(other, second.sent.at(-1)!.code, {
          purpose: PURPOSE,
        });
        expect(after).toMatchObject({ ok: false, reason: 'throttled' });
      }
      console.log(`100 wrong guesses, cap 5 per code × ${rounds}:`, counts.cap);
      console.log(`100 wrong guesses, budget 20, cap 10 × ${rounds}:`, counts.budget);
    },
  );

  it(
    `resends racing checks from 4 processes never leave two live codes, ${rounds} rounds`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock, sent } = parent();
      const counts: Record<string, number> = {};
      let sends = 0;
      for (let round = 1; round <= rounds; round++) {
        const userId = `vresend-${run}-${round}`;
        const now = T0 + round * 60_000;
        clock.now = now;
        await mfa.sendVerificationCode(userId, send(userId));
        const first = sent.at(-1)!.code;
        const resend: ServiceCall = {
          method: 'sendVerificationCode',
          args: [userId, send(userId)],
        };
        const check = (code: string): ServiceCall => ({
          method: 'checkVerificationCode',
          args: [userId, code, { purpose: PURPOSE }],
        });
        const results = await race(
          [
            spread(10, resend),
            [...spread(10, check(first)), ...spread(5, resend)],
            spread(20, check(first)),
            spread(20, check(otherThan(first))),
          ],
          now,
        );
        const outcomes: CallOutcome[] = all(results);
        for (const [k, n] of Object.entries(tally(outcomes))) counts[k] = (counts[k] ?? 0) + n;
        const record = await context().store.getUser(userId, now);
        const live = record?.account?.codes.filter((c) => c.purpose === PURPOSE) ?? [];
        expect(live.length, `round ${round}: live codes`).toBeLessThanOrEqual(1);
        // One send counted per send answered ok, the parent's included.
        const okSends = [...results[0]!.outcomes, ...results[1]!.outcomes.slice(10)].filter(
          (o) => 'ok' in o && o.ok,
        ).length;
        sends += okSends;
        expect(record?.account?.sends.find((s) => s.key === '')?.count).toBe(okSends + 1);
        // The first code passed at most once, and never once a resend replaced it.
        const passed = tally(outcomes).ok ?? 0;
        expect(passed - okSends, `round ${round}: successes of the first code`).toBeLessThanOrEqual(
          1,
        );
        expect(await mfa.checkVerificationCode(userId, first, { purpose: PURPOSE })).toMatchObject({
          ok: false,
        });
      }
      console.log(`resends racing checks × ${rounds}: sends ${sends},`, counts);
    },
  );

  it(
    `forgetRememberedDevices racing device checks from 4 processes ends with no token passing, ${rounds} rounds`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock } = parent();
      const counts: Record<string, number> = {};
      for (let round = 1; round <= rounds; round++) {
        const userId = `devices-${run}-${round}`;
        const start = T0 + round * 3_600_000;
        const { secret } = await enroll(mfa, clock, userId, start);
        const tokens: string[] = [];
        for (let i = 1; i <= 5; i++) {
          clock.now = start + i * 30_000;
          const code = generateTOTP(secret, { now: clock.now });
          const verified = await mfa.verify(userId, code, { rememberDevice: { name: `D${i}` } });
          if (!verified.ok || !verified.device) throw new Error(`round ${round}: no device ${i}`);
          tokens.push(verified.device.token);
        }
        const now = clock.now;
        const checks = (offset: number): ServiceCall[] =>
          Array.from({ length: 25 }, (_, i) => ({
            method: 'checkRememberedDevice',
            args: [userId, tokens[(i + offset) % tokens.length]!],
            afterMs: i % 15,
          }));
        const forget: ServiceCall = {
          method: 'forgetRememberedDevices',
          args: [userId],
          afterMs: 3 + (round % 7),
        };
        const results = await race([[forget, ...checks(0)], checks(1), checks(2), checks(3)], now);
        for (const [k, n] of Object.entries(tally(all(results)))) {
          counts[k] = (counts[k] ?? 0) + n;
        }
        expect(results[0]!.outcomes[0], `round ${round}: the forget-all`).toEqual({
          ok: true,
          reason: 'n=5',
        });
        for (const token of tokens) {
          expect(await mfa.checkRememberedDevice(userId, token), `round ${round}`).toMatchObject({
            ok: false,
          });
        }
        expect(await mfa.listRememberedDevices(userId)).toEqual([]);
        expect((await context().store.getUser(userId, now))?.account?.devices).toEqual([]);
      }
      console.log(`forget-all racing 99 device checks × ${rounds}:`, counts);
    },
  );

  it(
    `adminReset racing verify, resync, enrollment and recovery codes from 4 processes leaves state "none", ${rounds} rounds`,
    { timeout: 300_000 },
    async () => {
      const { mfa, clock } = parent();
      const seed = parent({ proofs: SEED_PROOFS });
      const counts: Record<string, number> = {};
      for (let round = 1; round <= rounds; round++) {
        const userId = `reset-${run}-${round}`;
        const start = T0 + round * 3_600_000;
        const { secret, recoveryCodes } = await enroll(mfa, clock, userId, start);
        const at = (k: number) => generateTOTP(secret, { now: start + k * 30_000 });
        // Proofs from the factor (kind 'totp') for the enrollments, and a device.
        const proofs: string[] = [];
        for (const k of [1, 2, 3]) {
          seed.clock.now = start + k * 30_000;
          const made = await seed.mfa.verify(userId, at(k), { proofFor: 'enroll' });
          if (!made.ok || !made.proof) throw new Error(`round ${round}: no proof ${k}`);
          proofs.push(made.proof);
        }
        seed.clock.now = start + 4 * 30_000;
        const remembered = await seed.mfa.verify(userId, at(4), {
          rememberDevice: { name: 'Laptop' },
        });
        if (!remembered.ok || !remembered.device) throw new Error(`round ${round}: no device`);
        // A pending enrollment (with the third proof) that the workers try to bind.
        const pending = await seed.mfa.beginEnrollment(userId, {
          accountName: `${userId}@example.com`,
          proof: proofs[2]!,
        });
        const bind = decodeBase32(pending.secret);
        const now = start + 10 * 30_000;
        const pair = [generateTOTP(bind, { now: now - 30_000 }), generateTOTP(bind, { now })];
        const drifted = [at(14), at(15)];
        const begin = (proof: string): ServiceCall => ({
          method: 'beginEnrollment',
          args: [userId, { accountName: `${userId}@example.com`, proof }],
        });
        const reset: ServiceCall = {
          method: 'adminReset',
          args: [userId, { actor: 'support@example.com', reason: 'lost phone (race test)' }],
          afterMs: 2 + (round % 9),
        };
        const results = await race(
          [
            [reset, ...spread(5, { method: 'verify', args: [userId, at(10)] })],
            [
              ...spread(3, { method: 'resync', args: [userId, ...drifted] }),
              ...spread(3, { method: 'useRecoveryCode', args: [userId, recoveryCodes[0]!] }),
              { method: 'useRecoveryCode', args: [userId, recoveryCodes[1]!], afterMs: 6 },
            ],
            [
              ...spread(2, begin(proofs[0]!)),
              { ...begin(proofs[1]!), afterMs: 7 },
              ...spread(3, { method: 'completeEnrollment', args: [userId, ...pair] }),
            ],
            [
              ...spread(3, {
                method: 'verify',
                args: [userId, at(10), { rememberDevice: { name: 'Phone' } }],
              }),
              ...spread(3, { method: 'verify', args: [userId, at(10), { proofFor: 'disable' }] }),
            ],
          ],
          now,
          { proofs: SEED_PROOFS },
        );
        const outcomes = all(results);
        for (const [k, n] of Object.entries(tally(outcomes))) counts[k] = (counts[k] ?? 0) + n;
        expect(results[0]!.outcomes[0], `round ${round}: the reset`).toEqual({
          ok: true,
          reason: 'reset',
        });
        for (const outcome of outcomes) {
          if ('error' in outcome) expect(outcome.error, `round ${round}`).toBe('ERR_PROOF');
        }
        // Exactly "none": no factor, pending enrollment, recovery code, live
        // verification code, proof or device; the old device fails.
        expect((await seed.mfa.status(userId)).state, `round ${round}`).toBe('none');
        const record = await context().store.getUser(userId, now);
        expect(
          {
            factors: record?.factors.length,
            pending: record?.pending ?? null,
            recoveryCodes: record?.recoveryCodes ?? null,
            codes: record?.account?.codes,
            proofs: record?.account?.proofs,
            devices: record?.account?.devices,
          },
          `round ${round}: what the reset left`,
        ).toEqual({
          factors: 0,
          pending: null,
          recoveryCodes: null,
          codes: [],
          proofs: [],
          devices: [],
        });
        expect(await seed.mfa.checkRememberedDevice(userId, remembered.device.token)).toMatchObject(
          { ok: false },
        );
      }
      console.log(`adminReset racing 24 calls × ${rounds}:`, counts);
    },
  );
}
