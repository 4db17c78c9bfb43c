/**
 * The claims oracle's claims 6 to 11 (test/helpers/claims-run.ts): what
 * issues 20 and 21 and CONTRACT2 promise a caller of the account calls,
 * judged from outside (the results, the messages the sender got, the clock),
 * never from the service's or the store's rules:
 *
 * 6. **The budget of verification attempts**: per user and purpose, the
 *    checks charged (every answer but `malformed` and `throttled`) in a
 *    window never pass `budget`, resends or successes notwithstanding.
 * 7. **A verification code** passes only if it is the last one the sender
 *    got for that user and purpose, once, before its `expiresAt`; a code
 *    given to a failing sender never passes.
 * 8. **Sends**: no two sends to a destination within the cooldown, no more
 *    than the daily caps; alone, a `cooldown` or `daily_limit` refusal only
 *    when the sends the caller saw succeed call for it (a failed send
 *    spends nothing).
 * 9. **Proofs**: one change per proof; only for its purpose; never after its
 *    expiry; a verification-code proof never authorises a change once the
 *    user has a factor (the seed rule, the default policy).
 * 10. **The generation**, alone: moves by exactly the changes a call made.
 * 11. **Remembered devices**: a token passes only for its user, before its
 *    absolute expiry, while nothing moved the generation and it was not
 *    forgotten; never more than `max` listed. An admin reset leaves no factor,
 *    device, proof or code that passes, and moves the generation by one.
 */
import { MFAError, type MFA } from 'totpkit';
import { generateTOTP } from 'totpkit';

export const ACCOUNT_POLICY = {
  verificationCodes: {
    ttlMs: 120_000,
    maxAttemptsPerCode: 3,
    budget: 6,
    budgetWindowMs: 3_600_000,
    resendCooldownMs: 60_000,
    dailyLimitPerDestination: 4,
    dailyLimitPerUser: 6,
  },
  proofs: { ttlMs: 90_000 },
  rememberedDevices: { max: 3, ttlMs: 3_600_000 },
};
const C = ACCOUNT_POLICY.verificationCodes;
const PURPOSES = ['enroll', 'remove_factor', 'disable', 'regenerate_recovery_codes', 'export_data'];
const DESTINATIONS = ['a@example.com', 'b@example.com'];

/** What the oracle knows of one user's account: only what the API and the sender told it. */
export interface AccountKnowledge {
  /** Claim 6: charged checks per purpose in the current window (the runs never outlast it). */
  charged: Map<string, number>;
  /** Claim 7: the last code per purpose the sender got, its expiry, and every earlier or dead code. */
  live: Map<string, { code: string; expiresAt: number; used: boolean }>;
  dead: Set<string>;
  /** Claim 8: successful sends per destination (times) and in all. */
  sent: Map<string, number[]>;
  /** Claim 9: proofs given, by token. */
  proofs: Map<string, { purpose: string; kind: string; expiresAt: number; used: boolean }>;
  /** Claim 11: devices given, by token. */
  devices: Map<string, { id: string; expiresAt: number; generation: number; dead: boolean }>;
  /** Claim 10: changes made by calls, to compare with the generation. */
  changes: number;
}

export const newKnowledge = (): AccountKnowledge => ({
  charged: new Map(),
  live: new Map(),
  dead: new Set(),
  sent: new Map(),
  proofs: new Map(),
  devices: new Map(),
  changes: 0,
});

/** The part of claims-run.ts's Run these claims use. */
export interface ClaimsHost {
  readonly clock: { now: number };
  /** The service with the default proof rule ('seed'). */
  readonly strict: MFA;
  readonly log: string[];
  readonly outbox: { userId: string; code: string; purpose: string; expiresAt: number }[];
  senderFails: boolean;
  /** The code last given to the sender, failing or not. */
  lastAttempt: string | null;
  rng: { below(n: number): number; chance(p: number): boolean };
  fail(claim: string, detail: string): void;
  inBatch(): boolean;
  pick<T>(items: readonly T[]): T | undefined;
}

export interface ClaimsUser {
  id: string;
  secrets: Map<string, Uint8Array>;
  account: AccountKnowledge;
}

const kinds = (x: unknown) => (x instanceof MFAError ? x.code : x instanceof Error ? x.name : null);

export class AccountClaims {
  constructor(readonly host: ClaimsHost) {}

  async send(user: ClaimsUser) {
    const h = this.host;
    const k = user.account;
    const purpose = h.pick(PURPOSES) as string;
    const destination = h.pick(DESTINATIONS) as string;
    const failing = h.rng.chance(0.15);
    h.outbox.length = 0;
    h.senderFails = failing;
    const now = h.clock.now;
    const result = await h.strict
      .sendVerificationCode(user.id, { channel: 'email', destination, purpose })
      .catch((e: unknown) => e);
    h.senderFails = false;
    h.log.push(
      `${user.id} send(${purpose}, ${destination}${failing ? ', failing' : ''}) → ${kinds(result) ?? JSON.stringify(result)}`,
    );
    const given = h.outbox.find((m) => m.userId === user.id);
    const times = k.sent.get(destination) ?? [];
    const total = [...k.sent.values()].reduce((n, t) => n + t.length, 0);
    const r = result as { ok?: boolean; reason?: string };
    if (result instanceof Error) {
      if (!(result instanceof MFAError && result.code === 'ERR_SENDER')) throw result;
      // The code a failing sender got never passes; the purpose has no live code.
      if (h.lastAttempt) k.dead.add(h.lastAttempt);
      const live = k.live.get(purpose);
      if (live) k.dead.add(live.code);
      k.live.delete(purpose);
      return;
    }
    if (r.ok) {
      if (!given) return h.fail('8', `a send said ok but the sender got nothing`);
      const last = times.at(-1);
      if (last !== undefined && now < last + C.resendCooldownMs)
        h.fail('8', `two sends to ${destination} within the cooldown`);
      if (times.length + 1 > C.dailyLimitPerDestination)
        h.fail('8', `past the cap of ${destination}`);
      if (total + 1 > C.dailyLimitPerUser) h.fail('8', `past the cap of ${user.id}`);
      times.push(now);
      k.sent.set(destination, times);
      const old = k.live.get(purpose);
      if (old) k.dead.add(old.code);
      k.live.set(purpose, { code: given.code, expiresAt: given.expiresAt, used: false });
      return;
    }
    if (h.inBatch()) return;
    const last = times.at(-1);
    if (r.reason === 'cooldown' && !(last !== undefined && now < last + C.resendCooldownMs))
      h.fail('8', `'cooldown' with no send to ${destination} in the last ${C.resendCooldownMs} ms`);
    if (
      r.reason === 'daily_limit' &&
      times.length < C.dailyLimitPerDestination &&
      total < C.dailyLimitPerUser
    )
      h.fail('8', `'daily_limit' after ${times.length} sends to ${destination}, ${total} in all`);
  }

  async check(user: ClaimsUser) {
    const h = this.host;
    const k = user.account;
    // Mostly one purpose, so that runs reach its budget.
    const purpose = h.rng.chance(0.6) ? 'enroll' : (h.pick(PURPOSES) as string);
    const live = k.live.get(purpose);
    const roll = h.rng.below(10);
    const dead = h.pick([...k.dead]);
    const code =
      roll < 5 && live
        ? live.code
        : roll < 7 && dead
          ? dead
          : String(h.rng.below(1_000_000)).padStart(6, '0');
    const now = h.clock.now;
    const result = (await h.strict.checkVerificationCode(user.id, code, { purpose })) as {
      ok: boolean;
      reason?: string;
      proof?: string;
      expiresAt?: number;
    };
    h.log.push(`${user.id} check(${purpose}) → ${JSON.stringify({ ...result, proof: undefined })}`);
    if (result.ok || !['malformed', 'throttled'].includes(result.reason ?? '')) {
      const n = (k.charged.get(purpose) ?? 0) + 1;
      k.charged.set(purpose, n);
      if (n > C.budget)
        h.fail('6', `${n} charged checks of ${purpose} for ${user.id} in one window`);
    }
    if (
      live &&
      live.code === code &&
      ['attempts_exhausted', 'expired'].includes(result.reason ?? '')
    )
      live.used = true;
    if (!result.ok) return;
    if (!live || live.code !== code) {
      // In a batch a resend may have come after this check.
      if (!h.inBatch()) h.fail('7', `a code that is not the last one sent passed`);
      return;
    }
    if (live.used) h.fail('7', 'a verification code passed twice');
    if (now >= live.expiresAt) h.fail('7', 'a verification code passed after its expiry');
    live.used = true;
    k.dead.add(code);
    k.proofs.set(result.proof as string, {
      purpose,
      kind: 'verification',
      expiresAt: result.expiresAt as number,
      used: false,
    });
  }

  /** A right TOTP code with a proof and a device asked for (the caller passes a code it knows to be right). */
  async verifyFor(user: ClaimsUser, secret: Uint8Array, generation: number | null) {
    const h = this.host;
    const purpose = h.pick(PURPOSES) as string;
    const now = h.clock.now;
    const result = (await h.strict.verify(user.id, generateTOTP(secret, { now }), {
      proofFor: purpose,
      rememberDevice: { name: 'Laptop' },
    })) as {
      ok: boolean;
      generation?: number;
      proof?: string | null;
      proofExpiresAt?: number;
      device?: { token: string; id: string; expiresAt: number } | null;
    };
    h.log.push(`${user.id} verify(proofFor ${purpose}, remember) → ${result.ok}`);
    if (!result.ok) return result;
    if (result.proof)
      user.account.proofs.set(result.proof, {
        purpose,
        kind: 'totp',
        expiresAt: result.proofExpiresAt as number,
        used: false,
      });
    if (result.device) {
      if (result.device.expiresAt !== now + ACCOUNT_POLICY.rememberedDevices.ttlMs)
        h.fail('11', `a device expiring at ${result.device.expiresAt}, issued at ${now}`);
      user.account.devices.set(result.device.token, {
        id: result.device.id,
        expiresAt: result.device.expiresAt,
        // The generation the verify read (-1: unknown, in a batch without one in the result).
        generation: typeof result.generation === 'number' ? result.generation : (generation ?? -1),
        dead: false,
      });
    }
    return result;
  }

  /**
   * A sensitive change with a proof the user was given (or a bogus one).
   * Returns what changed, for the caller's own bookkeeping.
   */
  async change(user: ClaimsUser) {
    const h = this.host;
    const factors = h.inBatch() ? 0 : (await h.strict.status(user.id)).factors;
    const k = user.account;
    const token = h.pick([...k.proofs.keys()]) ?? 'bm90LWEtcmVhbC10b2tlbi1hdC1hbGwh';
    const proof = k.proofs.get(token);
    const now = h.clock.now;
    const which = h.rng.below(4);
    let made: unknown = null;
    let purpose: string;
    let result: unknown;
    try {
      if (which === 0) {
        purpose = 'export_data';
        result = await h.strict.useProof(user.id, token, { purpose });
        made = result === true ? { used: true } : null;
      } else if (which === 1) {
        purpose = 'regenerate_recovery_codes';
        result = await h.strict.regenerateRecoveryCodes(user.id, { proof: token });
        made = (result as { ok: boolean }).ok ? { regenerated: result } : null;
      } else if (which === 2) {
        purpose = 'disable';
        result = await h.strict.disable(user.id, { proof: token });
        made = (result as { disabled: boolean }).disabled ? { disabled: true } : null;
      } else {
        purpose = 'remove_factor';
        const id = h.pick([...user.secrets.keys()]) ?? '00000000-0000-4000-8000-000000000000';
        result = await h.strict.removeFactor(user.id, id, { proof: token });
        made = (result as { ok: boolean }).ok ? { removed: id } : null;
      }
    } catch (error) {
      if (!(error instanceof MFAError && error.code === 'ERR_PROOF')) throw error;
      result = error;
      purpose = ['export_data', 'regenerate_recovery_codes', 'disable', 'remove_factor'][
        which
      ] as string;
    }
    h.log.push(`${user.id} ${purpose} with a proof → ${kinds(result) ?? JSON.stringify(result)}`);
    if (made === null) return null;
    if (!proof) h.fail('9', `a change authorised by a proof never given`);
    else {
      if (proof.used) h.fail('9', `a proof authorised a second change (${purpose})`);
      if (proof.purpose !== purpose)
        h.fail('9', `a proof for ${proof.purpose} authorised ${purpose}`);
      if (now >= proof.expiresAt) h.fail('9', `an expired proof authorised ${purpose}`);
      if (!h.inBatch() && purpose !== 'export_data' && factors > 0 && proof.kind === 'verification')
        h.fail('9', `a verification-code proof authorised ${purpose} while the user had a factor`);
      proof.used = true;
    }
    if (purpose !== 'export_data') k.changes += 1;
    return made;
  }

  async checkDevice(user: ClaimsUser, other: ClaimsUser, generation: number | null) {
    const h = this.host;
    const mine = h.rng.chance(0.8);
    const from = mine ? user : other;
    const token = h.pick([...from.account.devices.keys()]);
    if (token === undefined) return;
    const device = from.account.devices.get(token)!;
    const now = h.clock.now;
    const result = (await h.strict.checkRememberedDevice(user.id, token)) as {
      ok: boolean;
      reason?: string;
    };
    h.log.push(
      `${user.id} checkRememberedDevice(${mine ? 'own' : 'other'}) → ${JSON.stringify(result)}`,
    );
    if (!result.ok) return;
    if (!mine) return h.fail('11', `a device token passed for another user`);
    if (device.dead) h.fail('11', `a forgotten or reset device passed`);
    if (now >= device.expiresAt) h.fail('11', `a device passed after its absolute expiry`);
    if (generation !== null && device.generation !== -1 && generation !== device.generation)
      h.fail(
        '11',
        `a device of generation ${device.generation} passed at generation ${generation}`,
      );
  }

  async forget(user: ClaimsUser) {
    const h = this.host;
    if (h.rng.chance(0.5)) {
      const n = await h.strict.forgetRememberedDevices(user.id);
      h.log.push(`${user.id} forgetRememberedDevices → ${n}`);
      for (const d of user.account.devices.values()) d.dead = true;
      return;
    }
    const listed = await h.strict.listRememberedDevices(user.id);
    if (listed.length > ACCOUNT_POLICY.rememberedDevices.max)
      h.fail('11', `${listed.length} devices listed, past the cap`);
    const target = h.pick(listed);
    if (!target) return;
    const ok = await h.strict.forgetRememberedDevice(user.id, target.id);
    h.log.push(`${user.id} forgetRememberedDevice → ${ok}`);
    for (const d of user.account.devices.values()) if (d.id === target.id) d.dead = true;
  }

  /** Claim 11's reset part; judged by the caller only when run alone. */
  async adminReset(user: ClaimsUser) {
    const h = this.host;
    const result = await h.strict.adminReset(user.id, { actor: 'support', reason: 'lost phone' });
    h.log.push(`${user.id} adminReset → ${JSON.stringify(result)}`);
    if (result.reset) {
      user.account.changes += 1;
      for (const d of user.account.devices.values()) d.dead = true;
      for (const p of user.account.proofs.values()) p.used = true;
      for (const l of user.account.live.values()) user.account.dead.add(l.code);
      user.account.live.clear();
      // Budgets go with a reset (send counters stay).
      user.account.charged.clear();
    }
    return result;
  }
}
