/**
 * The reference model of the 0.3 account rules (issues 20 and 21), for the
 * model test (test/helpers/model-run.ts). Written from /work/notes/CONTRACT2.md
 * and the issues' texts, not from the service's code:
 *
 * - **Verification codes.** One live code per purpose (a send replaces the
 *   earlier one); it expires `ttlMs` after it was sent. A check of a
 *   well-formed code is refused `throttled` (nothing written) while the
 *   purpose's budget is spent in its window; otherwise it is charged 1 to the
 *   budget and 1 to the purpose's code before the answer: no code →
 *   `no_code`; no match → `wrong_code`, or `attempts_exhausted` (code
 *   removed) if this attempt reached the per-code cap; a match past its
 *   expiry → `expired` (code removed); else success: code removed, a
 *   `verification` proof made. So at most `maxAttemptsPerCode` comparisons
 *   per code. Neither a resend nor a success resets the
 *   budget: only its window's end does.
 * - **Sends.** Refused `cooldown` within `resendCooldownMs` of the last send
 *   to the destination, `daily_limit` at `dailyLimitPerDestination` sends to
 *   it or `dailyLimitPerUser` sends in all, in 24 h windows that start at the
 *   first send. A refusal sends and writes nothing. A sender failure leaves no
 *   live code for the purpose and the counters as before the call.
 * - **Proofs.** Single use, bound to user and purpose, expire `ttlMs` after
 *   they were made, at most 10 (oldest dropped). Rule `'seed'`: any kind while
 *   the user has no factor, only `totp` or `recovery` once they have one;
 *   `'none'`: none needed, but one passed is still checked and consumed.
 *   Consumed only when the change it authorises is made.
 * - **The generation.** +1 exactly per change (factor added, replaced,
 *   removed, imported; disable that removed something; recovery codes
 *   regenerated; admin reset), never on a refusal, a failure or a no-op.
 * - **Remembered devices.** Absolute expiry `ttlMs` after issue; pass only
 *   while the generation they were issued in is current; at most `max` valid
 *   ones (oldest dropped); a token passes only for its own user.
 * - **Admin reset.** Factors, pending enrollment, recovery codes, codes,
 *   proofs, devices and budgets gone, both throttles unlocked, generation +1,
 *   send counters kept; nothing written (and `reset: false`) when there is
 *   nothing to reset.
 *
 * What the documents leave open is taken from the store after each step
 * (which expired or revoked entries it still keeps); what they state is
 * compared exactly (test/helpers/account-projection.ts).
 */

export const DAY_MS = 86_400_000;

export interface AccountPolicy {
  codes: {
    length: number;
    ttlMs: number;
    maxAttemptsPerCode: number;
    budget: number;
    budgetWindowMs: number;
    resendCooldownMs: number;
    dailyLimitPerDestination: number;
    dailyLimitPerUser: number;
  };
  proofTtlMs: number;
  /** The rule every library purpose gets in this run. */
  proofRule: 'seed' | 'any' | 'none';
  devices: { max: number; ttlMs: number };
}

export type ProofKind = 'verification' | 'totp' | 'recovery';

export interface ModelCode {
  purpose: string;
  channel: 'email' | 'sms';
  destination: string;
  /** The code the sender was given, or null if no one saw it (a fault after the write). */
  code: string | null;
  /** The stored hash when `code` is null. */
  codeHash?: string;
  sentAt: number;
  expiresAt: number;
  attempts: number;
}

export interface ModelProof {
  /** The token, or '' if the test never saw it (then `hash` is the stored one). */
  token: string;
  hash?: string;
  purpose: string;
  kind: ProofKind;
  createdAt: number;
  expiresAt: number;
}

export interface ModelDevice {
  id: string;
  name: string;
  /** The token, or '' if the test never saw it (then `hash` is the stored one). */
  token: string;
  hash?: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number;
  generation: number;
}

export interface ModelAccount {
  generation: number;
  codes: ModelCode[];
  budgets: { purpose: string; failures: number; windowStart: number }[];
  /** Per destination (`channel:destination`) and per user (`''`). */
  sends: { key: string; count: number; windowStart: number; lastSentAt: number }[];
  proofs: ModelProof[];
  devices: ModelDevice[];
}

export const emptyAccount = (): ModelAccount => ({
  generation: 0,
  codes: [],
  budgets: [],
  sends: [],
  proofs: [],
  devices: [],
});

const live = (expiresAt: number, now: number) => now < expiresAt;

/** An outcome: the result to compare (or the acceptable results) and the next account. */
export interface AccountOutcome {
  /** Every result the documents allow (most calls: one). */
  results: unknown[];
  next: ModelAccount;
}

const one = (result: unknown, next: ModelAccount): AccountOutcome => ({ results: [result], next });

export class AccountModel {
  constructor(readonly policy: AccountPolicy) {}

  // ── verification codes ─────────────────────────────────────────────────────

  /** The refusals a send meets now (empty: it may send). */
  sendRefusals(
    account: ModelAccount,
    now: number,
    channel: string,
    destination: string,
  ): unknown[] {
    const p = this.policy.codes;
    const refusals: unknown[] = [];
    const dest = this.counter(account, `${channel}:${destination}`, now);
    const all = this.counter(account, '', now);
    if (dest && now < dest.lastSentAt + p.resendCooldownMs)
      refusals.push({
        ok: false,
        reason: 'cooldown',
        retryAfterMs: dest.lastSentAt + p.resendCooldownMs - now,
      });
    if (dest && dest.count >= p.dailyLimitPerDestination)
      refusals.push({
        ok: false,
        reason: 'daily_limit',
        retryAfterMs: dest.windowStart + DAY_MS - now,
      });
    if (all && all.count >= p.dailyLimitPerUser)
      refusals.push({
        ok: false,
        reason: 'daily_limit',
        retryAfterMs: all.windowStart + DAY_MS - now,
      });
    return refusals;
  }

  /** A counter in its window with sends counted, or undefined. */
  counter(account: ModelAccount, key: string, now: number) {
    const c = account.sends.find((s) => s.key === key);
    return c && c.count > 0 && now < c.windowStart + DAY_MS ? c : undefined;
  }

  /**
   * A send the sender took (`code` as it was given; null for a write no
   * sender saw): the new code replaces the purpose's, both counters +1.
   */
  send(
    account: ModelAccount,
    now: number,
    o: { channel: 'email' | 'sms'; destination: string; purpose: string },
    code: string | null,
    hash?: string,
  ): AccountOutcome {
    const refusals = this.sendRefusals(account, now, o.channel, o.destination);
    if (refusals.length > 0) return { results: refusals, next: account };
    const next = structuredClone(account);
    next.codes = next.codes.filter((c) => c.purpose !== o.purpose);
    next.codes.push({
      ...o,
      code,
      ...(hash === undefined ? {} : { codeHash: hash }),
      sentAt: now,
      expiresAt: now + this.policy.codes.ttlMs,
      attempts: 0,
    });
    for (const key of [`${o.channel}:${o.destination}`, '']) {
      const c = this.counter(next, key, now);
      next.sends = next.sends.filter((s) => s.key !== key);
      next.sends.push(
        c
          ? { ...c, count: c.count + 1, lastSentAt: now }
          : { key, count: 1, windowStart: now, lastSentAt: now },
      );
    }
    const result = {
      ok: true,
      expiresAt: now + this.policy.codes.ttlMs,
      codeLength: this.policy.codes.length,
    };
    return one(result, next);
  }

  /** A sender that failed: the purpose's code gone (the new one taken back, the old one replaced), counters untouched. */
  sendFailed(
    account: ModelAccount,
    now: number,
    o: { channel: string; destination: string; purpose: string },
  ): AccountOutcome {
    const refusals = this.sendRefusals(account, now, o.channel, o.destination);
    if (refusals.length > 0) return { results: refusals, next: account };
    const next = structuredClone(account);
    next.codes = next.codes.filter((c) => c.purpose !== o.purpose);
    return one('ERR_SENDER', next);
  }

  isWellFormed(code: string): boolean {
    return new RegExp(`^[0-9]{${this.policy.codes.length}}$`).test(code);
  }

  /** The budget of a purpose in its window, or undefined. */
  budget(account: ModelAccount, purpose: string, now: number) {
    const b = account.budgets.find((x) => x.purpose === purpose);
    return b && now < b.windowStart + this.policy.codes.budgetWindowMs ? b : undefined;
  }

  /**
   * `code` checked for `purpose` (and `destination` if given). `proofToken`:
   * the token the service returned on a success (the model cannot guess it).
   * `reserved`: the state after the charge only (no answer decided).
   */
  check(
    account: ModelAccount,
    now: number,
    code: string,
    o: { purpose: string; destination?: string },
    proofToken: string,
  ): AccountOutcome & { reserved?: ModelAccount } {
    const p = this.policy.codes;
    if (!this.isWellFormed(code)) return one({ ok: false, reason: 'malformed' }, account);
    const b = this.budget(account, o.purpose, now);
    if (b && b.failures >= p.budget)
      return one(
        { ok: false, reason: 'throttled', retryAfterMs: b.windowStart + p.budgetWindowMs - now },
        account,
      );
    const next = structuredClone(account);
    next.budgets = next.budgets.filter((x) => x.purpose !== o.purpose);
    next.budgets.push(
      b
        ? { ...b, failures: b.failures + 1 }
        : { purpose: o.purpose, failures: 1, windowStart: now },
    );
    const stored = next.codes.find((c) => c.purpose === o.purpose);
    if (stored) stored.attempts += 1;
    const reserved = structuredClone(next);
    const drop = () => (next.codes = next.codes.filter((c) => c !== stored));
    if (!stored) return { ...one({ ok: false, reason: 'no_code' }, next), reserved };
    const matches =
      stored.code !== null &&
      stored.code === code &&
      (o.destination === undefined || o.destination === stored.destination);
    // The attempt that reaches the cap without a match answers that the code
    // is used up (and removes it); a match on it still passes.
    if (!matches && stored.attempts >= p.maxAttemptsPerCode) {
      drop();
      return { ...one({ ok: false, reason: 'attempts_exhausted' }, next), reserved };
    }
    if (!matches) return { ...one({ ok: false, reason: 'wrong_code' }, next), reserved };
    drop();
    if (!live(stored.expiresAt, now))
      return { ...one({ ok: false, reason: 'expired' }, next), reserved };
    const expiresAt = now + this.policy.proofTtlMs;
    this.addProof(next, now, {
      token: proofToken,
      purpose: o.purpose,
      kind: 'verification',
      createdAt: now,
      expiresAt,
    });
    return { ...one({ ok: true, expiresAt }, next), reserved };
  }

  // ── proofs ─────────────────────────────────────────────────────────────────

  /** Adds a proof: expired ones pruned, at most 10 kept (oldest dropped). */
  addProof(account: ModelAccount, now: number, proof: ModelProof): void {
    account.proofs = [...account.proofs.filter((x) => live(x.expiresAt, now)), proof].slice(-10);
  }

  /**
   * Whether a sensitive call for `purpose` may go ahead with `token`
   * (undefined: none passed): null if so, else what is wrong (ERR_PROOF).
   * `hasFactor`: the user has an active factor (the 'seed' rule).
   */
  proofProblem(
    account: ModelAccount,
    now: number,
    purpose: string,
    token: string | undefined,
    hasFactor: boolean,
    rule: 'seed' | 'any' | 'none' = this.policy.proofRule,
  ): string | null {
    if (token === undefined) return rule === 'none' ? null : 'missing';
    const proof = account.proofs.find((x) => x.token !== '' && x.token === token);
    if (!proof || !live(proof.expiresAt, now)) return 'unknown or expired';
    if (proof.purpose !== purpose) return 'wrong purpose';
    if (rule === 'seed' && hasFactor && proof.kind === 'verification') return 'wrong kind';
    return null;
  }

  /** The proof removed (it authorised a change that was made). */
  consume(account: ModelAccount, token: string | undefined): void {
    if (token !== undefined) account.proofs = account.proofs.filter((x) => x.token !== token);
  }

  /** `useProof` for an app's purpose: true (and consumed) if live and of that purpose. */
  useProof(account: ModelAccount, now: number, token: string, purpose: string): AccountOutcome {
    const ok = this.proofProblem(account, now, purpose, token, false, 'any') === null;
    if (!ok) return one(false, account);
    const next = structuredClone(account);
    this.consume(next, token);
    return one(true, next);
  }

  // ── the generation and remembered devices ─────────────────────────────────

  /** One move of the generation: every remembered device is revoked with it. */
  move(account: ModelAccount): void {
    account.generation += 1;
  }

  valid(account: ModelAccount, now: number): ModelDevice[] {
    return account.devices.filter(
      (d) => d.generation === account.generation && live(d.expiresAt, now),
    );
  }

  /** A device issued by a verify that passed: invalid ones pruned, at most `max` valid (oldest dropped). */
  remember(
    account: ModelAccount,
    now: number,
    device: { id: string; token: string; name: string },
  ): ModelDevice {
    const d: ModelDevice = {
      ...device,
      createdAt: now,
      lastUsedAt: null,
      expiresAt: now + this.policy.devices.ttlMs,
      generation: account.generation,
    };
    account.devices = [...this.valid(account, now), d].slice(-this.policy.devices.max);
    return d;
  }

  checkDevice(account: ModelAccount, now: number, token: string): AccountOutcome {
    const d = account.devices.find((x) => x.token !== '' && x.token === token);
    if (!d) return one({ ok: false, reason: 'invalid' }, account);
    const next = structuredClone(account);
    const dropped = () => (next.devices = next.devices.filter((x) => x.id !== d.id));
    if (d.generation !== account.generation) {
      dropped();
      return one({ ok: false, reason: 'revoked' }, next);
    }
    if (!live(d.expiresAt, now)) {
      dropped();
      return one({ ok: false, reason: 'expired' }, next);
    }
    (next.devices.find((x) => x.id === d.id) as ModelDevice).lastUsedAt = now;
    return one({ ok: true, deviceId: d.id, generation: account.generation }, next);
  }

  listDevices(account: ModelAccount, now: number): AccountOutcome {
    const result = this.valid(account, now).map(
      ({ id, name, createdAt, lastUsedAt, expiresAt }) => ({
        id,
        name,
        createdAt,
        lastUsedAt,
        expiresAt,
      }),
    );
    return one(result, account);
  }

  /** true for a valid device (false for none; either for one kept but no longer valid). */
  forgetDevice(account: ModelAccount, now: number, id: string): AccountOutcome {
    const d = account.devices.find((x) => x.id === id);
    if (!d) return one(false, account);
    const next = structuredClone(account);
    next.devices = next.devices.filter((x) => x.id !== id);
    const isValid = this.valid(account, now).includes(d);
    return { results: isValid ? [true] : [true, false], next };
  }

  /** The number forgotten: the valid ones, plus any of the kept invalid ones. */
  forgetDevices(account: ModelAccount, now: number): AccountOutcome {
    const n = this.valid(account, now).length;
    const next = { ...structuredClone(account), devices: [] };
    const results = Array.from({ length: account.devices.length - n + 1 }, (_, i) => n + i);
    return { results, next };
  }

  // ── admin reset ───────────────────────────────────────────────────────────

  /** The account after an admin reset: generation +1; codes, proofs, devices, budgets gone; sends kept. */
  reset(account: ModelAccount): ModelAccount {
    return {
      generation: account.generation + 1,
      codes: [],
      budgets: [],
      sends: structuredClone(account.sends),
      proofs: [],
      devices: [],
    };
  }
}
