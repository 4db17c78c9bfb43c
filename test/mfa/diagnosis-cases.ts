// The enrollment diagnosis (issue 12) through the service, on any store:
// each reason of completeEnrollment and resync, clockOffsetSeconds and
// parameters on success, and acceptAppParameters binding. Run on MemoryStore
// (test/mfa/diagnosis.test.ts) and PGlite (test/store/pglite.test.ts).
import { describe, expect, it } from 'vitest';
import {
  createAESGCMCipher,
  createMFA,
  decodeBase32,
  generateTOTP,
  type FactorParams,
  type MFA,
  type MFAEvent,
  type MFAPolicyOptions,
  type MFAStore,
} from '../../src/index.ts';
import { NO_PROOFS } from '../helpers/mfa.ts';

/** A step boundary: 1_750_000_020 s is a multiple of 30 and 60. */
const T0 = 1_750_000_020_000;

const cipher = createAESGCMCipher({
  keys: { test: new Uint8Array(32).fill(9) },
  primaryKeyId: 'test',
});

let users = 0;

interface Service {
  now: number;
  events: MFAEvent[];
  store: MFAStore;
  mfa: MFA;
}

/** The service over `store`, its clock in `h.now`, its events in `h.events`. */
function service(
  store: MFAStore,
  options: { policy?: MFAPolicyOptions; totp?: Partial<FactorParams> } = {},
): Service {
  const h: Service = { now: T0, events: [], store, mfa: undefined as never };
  h.mfa = createMFA({
    store,
    issuer: 'Acme',
    cipher,
    clock: () => h.now,
    onEvent: (e) => h.events.push(e),
    ...(options.totp ? { totp: options.totp } : {}),
    policy: { recoveryCodeScrypt: { N: 1024, r: 1, p: 1 }, proofs: NO_PROOFS, ...options.policy },
  });
  return h;
}

/** Two consecutive codes a device shows at server time `now`, its clock `offsetMs` ahead. */
function pair(
  base32: string,
  now: number,
  offsetMs = 0,
  params: Partial<FactorParams> = {},
): [string, string] {
  const secret = decodeBase32(base32);
  const period = (params.period ?? 30) * 1000;
  return [
    generateTOTP(secret, { ...params, now: now + offsetMs - period }),
    generateTOTP(secret, { ...params, now: now + offsetMs }),
  ];
}

const failures = async (store: MFAStore, user: string, now: number) =>
  (await store.getUser(user, now))?.throttle.otp.failures ?? 0;

/** The diagnosis cases on stores made by `makeStore`. */
export function describeDiagnosisCases(name: string, makeStore: () => Promise<MFAStore>): void {
  describe(`enrollment diagnosis (${name})`, () => {
    it('clock_skew: a phone 2 h 3 min ahead, or 5 h behind; the attempt counts', async () => {
      const h = service(await makeStore());
      const user = `skew-${++users}`;
      const begun = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      const ahead = await h.mfa.completeEnrollment(user, ...pair(begun.secret, h.now, 7_380_000));
      expect(ahead).toEqual({ ok: false, reason: 'clock_skew', skewSeconds: 7380 });
      const behind = await h.mfa.completeEnrollment(
        user,
        ...pair(begun.secret, h.now, -5 * 3_600_000),
      );
      // Behind, one step counts as typing time, as the binding's drift does: 600 - 1 steps.
      expect(behind).toEqual({ ok: false, reason: 'clock_skew', skewSeconds: -17_970 });
      expect(await failures(h.store, user, h.now)).toBe(2);
      expect(h.events.flatMap((e) => (e.type === 'enrollment_failed' ? [e.reason] : []))).toEqual([
        'clock_skew',
        'clock_skew',
      ]);
      // Beyond policy.skewSearch: a bare mismatch.
      const narrow = service(h.store, { policy: { skewSearch: 100 } });
      narrow.now = h.now;
      expect(
        await narrow.mfa.completeEnrollment(user, ...pair(begun.secret, h.now, 7_380_000)),
      ).toEqual({ ok: false, reason: 'mismatch' });
      // The pending enrollment is untouched: the right codes still bind.
      const bound = await h.mfa.completeEnrollment(user, ...pair(begun.secret, h.now));
      expect(bound).toMatchObject({ ok: true, clockOffsetSeconds: 0 });
    });

    it('success carries clockOffsetSeconds and the parameters bound', async () => {
      const h = service(await makeStore(), {
        totp: { algorithm: 'SHA256', digits: 8, period: 60 },
      });
      const user = `offset-${++users}`;
      const begun = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      const params = { algorithm: 'SHA256', digits: 8, period: 60 } as const;
      const bound = await h.mfa.completeEnrollment(
        user,
        ...pair(begun.secret, h.now, -120_000, params),
      );
      expect(bound).toMatchObject({
        ok: true,
        factorId: begun.factorId,
        // Two 60 s steps behind, one of them counted as typing time (drift -1).
        clockOffsetSeconds: -60,
        parameters: params,
      });
    });

    it('app_ignored_parameters: SHA1/6/30 codes, or 6-digit codes, for a SHA256/8/60 factor', async () => {
      const h = service(await makeStore(), {
        totp: { algorithm: 'SHA256', digits: 8, period: 60 },
      });
      const user = `params-${++users}`;
      const begun = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      expect(await h.mfa.completeEnrollment(user, ...pair(begun.secret, h.now))).toEqual({
        ok: false,
        reason: 'app_ignored_parameters',
        appParameters: { algorithm: 'SHA1', digits: 6, period: 30 },
      });
      // 6 digits are no longer 'malformed' for an 8-digit factor.
      expect(
        await h.mfa.completeEnrollment(
          user,
          ...pair(begun.secret, h.now, 0, { algorithm: 'SHA256', digits: 6, period: 60 }),
        ),
      ).toEqual({
        ok: false,
        reason: 'app_ignored_parameters',
        appParameters: { algorithm: 'SHA256', digits: 6, period: 60 },
      });
      expect(await failures(h.store, user, h.now)).toBe(2);
      // 6 digits that match nothing: still 'malformed' for an 8-digit factor, at an attempt's cost.
      expect(await h.mfa.completeEnrollment(user, '000000', '000001')).toEqual({
        ok: false,
        reason: 'malformed',
      });
      expect(await h.mfa.completeEnrollment(user, '00000', '00001')).toEqual({
        ok: false,
        reason: 'malformed',
      });
      expect(await failures(h.store, user, h.now)).toBe(3);
    });

    it('acceptAppParameters binds the parameters the app used, which then sign in', async () => {
      const h = service(await makeStore(), {
        totp: { algorithm: 'SHA256', digits: 8, period: 60 },
        policy: { acceptAppParameters: true },
      });
      const user = `accept-${++users}`;
      const begun = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      const bound = await h.mfa.completeEnrollment(user, ...pair(begun.secret, h.now, 30_000));
      expect(bound).toMatchObject({
        ok: true,
        factorId: begun.factorId,
        clockOffsetSeconds: 30,
        parameters: { algorithm: 'SHA1', digits: 6, period: 30 },
      });
      const [factor] = await h.mfa.listFactors(user);
      expect(factor).toMatchObject({ algorithm: 'SHA1', digits: 6, period: 30, drift: 1 });
      h.now += 90_000;
      const code = generateTOTP(decodeBase32(begun.secret), { now: h.now + 30_000 });
      expect(await h.mfa.verify(user, code)).toEqual({
        ok: true,
        factorId: begun.factorId,
        generation: expect.any(Number),
      });
      // Outside the binding window under the app's parameters: refused, diagnosed.
      const other = `accept-${++users}`;
      const again = await h.mfa.beginEnrollment(other, { accountName: 'a' });
      expect(
        await h.mfa.completeEnrollment(other, ...pair(again.secret, h.now, 3 * 3_600_000)),
      ).toEqual({
        ok: false,
        reason: 'app_ignored_parameters',
        appParameters: { algorithm: 'SHA1', digits: 6, period: 30 },
      });
    });

    it('stale_qr: codes of the enrollment a reload replaced, until its own expiry', async () => {
      const h = service(await makeStore());
      const user = `stale-${++users}`;
      const older = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      h.now += 60_000;
      const newer = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      expect(await h.mfa.completeEnrollment(user, ...pair(older.secret, h.now))).toEqual({
        ok: false,
        reason: 'stale_qr',
      });
      expect(await failures(h.store, user, h.now)).toBe(1);
      // Past the older one's expiry (the newer one is still pending): a mismatch.
      h.now = older.expiresAt;
      expect(await h.mfa.completeEnrollment(user, ...pair(older.secret, h.now))).toEqual({
        ok: false,
        reason: 'mismatch',
      });
      const bound = await h.mfa.completeEnrollment(user, ...pair(newer.secret, h.now));
      expect(bound).toMatchObject({ ok: true, factorId: newer.factorId });
      // Completion drops it with the pending enrollment; nothing of it in any event.
      expect((await h.store.getUser(user, h.now))?.pending ?? null).toBeNull();
      expect(JSON.stringify(h.events)).not.toContain(older.secret);
    });

    it('stale_qr keeps only the last replaced enrollment', async () => {
      const h = service(await makeStore());
      const user = `stale-${++users}`;
      const first = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      const second = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      await h.mfa.beginEnrollment(user, { accountName: 'a' });
      expect(await h.mfa.completeEnrollment(user, ...pair(first.secret, h.now))).toEqual({
        ok: false,
        reason: 'mismatch',
      });
      expect(await h.mfa.completeEnrollment(user, ...pair(second.secret, h.now))).toEqual({
        ok: false,
        reason: 'stale_qr',
      });
    });

    it('existing_factor: codes of an active factor; no step recorded, throttle not reset', async () => {
      const h = service(await makeStore());
      const user = `existing-${++users}`;
      const phone = await h.mfa.beginEnrollment(user, { accountName: 'a', name: 'Phone' });
      expect(await h.mfa.completeEnrollment(user, ...pair(phone.secret, h.now))).toMatchObject({
        ok: true,
      });
      h.now += 120_000;
      await h.mfa.beginEnrollment(user, { accountName: 'a', name: 'Tablet' });
      await h.mfa.completeEnrollment(user, '111111', '222222'); // one failure first
      const before = (await h.store.getUser(user, h.now))!.factors[0]!;
      const result = await h.mfa.completeEnrollment(user, ...pair(phone.secret, h.now));
      expect(result).toEqual({
        ok: false,
        reason: 'existing_factor',
        factorId: phone.factorId,
        name: 'Phone',
      });
      const after = await h.store.getUser(user, h.now);
      expect(after?.factors[0]).toEqual(before);
      expect(after?.throttle.otp.failures).toBe(2);
      // The step was not used up: the phone's current code still signs in.
      const code = generateTOTP(decodeBase32(phone.secret), { now: h.now });
      expect(await h.mfa.verify(user, code)).toEqual({
        ok: true,
        factorId: phone.factorId,
        generation: expect.any(Number),
      });
    });

    it('resync: clock_skew beyond the binding window, clockOffsetSeconds on success', async () => {
      const h = service(await makeStore());
      const user = `resync-${++users}`;
      const begun = await h.mfa.beginEnrollment(user, { accountName: 'a' });
      await h.mfa.completeEnrollment(user, ...pair(begun.secret, h.now));
      h.now += 3_600_000;
      expect(await h.mfa.resync(user, ...pair(begun.secret, h.now, -3 * 3_600_000))).toEqual({
        ok: false,
        reason: 'clock_skew',
        skewSeconds: -10_770, // 360 steps behind, one counted as typing time
      });
      expect(await failures(h.store, user, h.now)).toBe(1);
      expect(h.events.flatMap((e) => (e.type === 'resync_failed' ? [e.reason] : []))).toEqual([
        'clock_skew',
      ]);
      expect(await h.mfa.resync(user, ...pair(begun.secret, h.now, 150_000))).toEqual({
        ok: true,
        factorId: begun.factorId,
        drift: 5,
        clockOffsetSeconds: 150,
      });
    });
  });
}
