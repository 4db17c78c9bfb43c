/**
 * A second oracle for the service, independent of the model test's reference
 * model: it knows nothing of how the service or the stores decide, only what
 * the documents promise a user (README, docs/security-model.md,
 * docs/stores.md). Random runs drive the public API (createMFA over any
 * store: test/mfa/claims.test.ts lists MemoryStore and PostgresStore on
 * PGlite, test/store/model-servers.test.ts the stores on real servers),
 * sequentially and in parallel batches, and after every step the run is
 * checked against five claims:
 *
 * 1. **The odds of a lock cycle.** "The odds of one lock cycle are …
 *    ≈ maxFailures · (2w + 1) / 10^d whatever n is (the rounding up adds at
 *    most n − 1 guesses' worth)": between two resets, the wrong codes checked,
 *    each counted once per active factor it was compared with, stay at or
 *    below maxFailures + maxFactors − 1.
 * 2. **A code is accepted at most once**: no (secret, time step) pair is
 *    accepted twice for a user, whatever factors hold that secret.
 * 3. **Erasure is final**: once deleteUserData has returned and the calls in
 *    flight with it have settled, the store holds nothing for the user, and
 *    no call failed with anything but the documented ERR_ERASED.
 * 4. **A lock is not shed** but by a recovery code or an unlock (time never
 *    runs long enough here for the retention rule): once a code check has
 *    answered `locked`, no code is checked for the user until then.
 * 5. **Each recovery code works once**, and a replaced set's codes never.
 *
 * A reset (claims 1 and 4) is an accepted code (verify, resync, a binding),
 * a recovery code, or unlock. The weight of a checked code is the number of
 * active factors `status()` gave just before it; in a parallel batch, where
 * factors may change under the call, the lower bound max(1, fewest seen).
 */
import { describe, expect, it } from 'vitest';
import {
  createAESGCMCipher,
  createMFA,
  decodeBase32,
  generateTOTP,
  MFAError,
  type MFA,
  type MFAStore,
} from 'totpkit';
import { NO_PROOFS } from './mfa.ts';

const MAX_FAILURES = 10;
const MAX_FACTORS = 5;
const STEP = 30_000;
const T0 = 1_800_000_000_000;

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed by its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    below: (n: number) => Math.floor(next() * n),
    chance: (p: number) => next() < p,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** What the oracle knows of one user: only what the API told it. */
interface User {
  id: string;
  /** Secrets of the factors it bound or imported, by factor id. */
  secrets: Map<string, Uint8Array>;
  /** The recovery codes of the current set, and those of replaced sets. */
  recovery: string[];
  replaced: Set<string>;
  usedRecovery: Set<string>;
  /** Claim 1: factor-guesses since the last reset. */
  guesses: number;
  /** Claim 4: a code check answered `locked` since the last reset. */
  locked: boolean;
  /** The last code accepted by verify: its secret and step. */
  lastAccepted: { secret: Uint8Array; step: number } | null;
  /** A `locked` answer inside the current parallel batch. */
  lockedInBatch: boolean;
  /** A reset inside the current parallel batch: the lock state after it is unknown. */
  resetInBatch: boolean;
}

type Result = { ok: boolean; reason?: string };

/**
 * The refusals a random run meets by design (a factor limit reached in a
 * parallel batch): documented MFAErrors, not claims. Anything else rethrows.
 */
function expectRefusal(error: unknown): undefined {
  if (error instanceof MFAError && error.code === 'ERR_FACTOR_LIMIT') return undefined;
  throw error;
}

/** `TOTPKIT_CLAIMS_WITHOUT=erase` leaves the erasure race out, to see the other claims on a build that breaks claim 3. */
const withoutErase = process.env.TOTPKIT_CLAIMS_WITHOUT === 'erase';
/** Whether an answer means a code was compared with the user's secrets. */
const checked = (r: Result) => r.ok || r.reason === 'mismatch' || r.reason === 'replayed';

export class Run {
  readonly clock = { now: T0 };
  readonly mfa: MFA;
  /** Claim 2: accepted (secret, step) pairs, per user. */
  readonly accepted = new Map<string, Set<string>>();
  readonly users: User[] = [];
  readonly log: string[] = [];
  #next = 0;
  #inBatch = false;

  constructor(
    readonly store: MFAStore,
    readonly rng: ReturnType<typeof random>,
    prefix: string,
  ) {
    this.mfa = createMFA({
      store,
      issuer: 'Claims',
      cipher: createAESGCMCipher({ keys: { k: new Uint8Array(32).fill(3) }, primaryKeyId: 'k' }),
      clock: () => this.clock.now,
      policy: {
        proofs: NO_PROOFS, // proofs are tested in test/mfa/proofs.test.ts
        maxFactors: MAX_FACTORS,
        throttle: {
          freeAttempts: 3,
          baseDelayMs: 1_000,
          maxDelayMs: 4_000,
          maxFailures: MAX_FAILURES,
        },
        recoveryThrottle: {
          freeAttempts: 3,
          baseDelayMs: 1_000,
          maxDelayMs: 4_000,
          maxFailures: 10,
        },
        recoveryCodeCount: 3,
        recoveryCodeScrypt: { N: 2 ** 10, r: 1, p: 1 },
        skewSearch: 4,
      },
    });
    for (let i = 0; i < 2; i++) this.users.push(this.#newUser(`${prefix}-${i}`));
  }

  #newUser(id: string): User {
    return {
      id: `${id}.${this.#next++}`,
      secrets: new Map(),
      recovery: [],
      replaced: new Set(),
      usedRecovery: new Set(),
      guesses: 0,
      locked: false,
      lastAccepted: null,
      lockedInBatch: false,
      resetInBatch: false,
    };
  }

  /** The first break of each claim, with the run's log up to it; the run goes on. */
  readonly broken = new Map<string, string>();

  fail(claim: string, detail: string): void {
    if (this.broken.has(claim)) return;
    this.broken.set(claim, `claim ${claim}: ${detail}\n  ${this.log.slice(-12).join('\n  ')}`);
  }

  step(now = this.clock.now) {
    return Math.floor(now / STEP);
  }

  reset(user: User) {
    user.guesses = 0;
    user.locked = false;
    user.lockedInBatch = false;
    if (this.#inBatch) user.resetInBatch = true;
  }

  /** Claims 1 and 4 for one answer to a code check of `weight` factor-guesses. */
  judge(user: User, what: string, result: Result, weight: number) {
    this.log.push(`${user.id} ${what} → ${JSON.stringify(result)} (weight ${weight})`);
    // Judged for calls run alone: in a parallel batch a reset (unlock, a
    // recovery code, an accepted code) may reach the store before a check
    // whose answer this process sees first.
    if (checked(result) && user.locked && !this.#inBatch) {
      this.fail('4', `${what} checked a code for ${user.id} after a 'locked' answer`);
    }
    // In a parallel batch the calls start together and may finish in any
    // order, so a lock seen there counts from the next call on.
    if (result.reason === 'locked') {
      if (this.#inBatch) user.lockedInBatch = true;
      else user.locked = true;
    }
    if (checked(result) && !result.ok) {
      user.guesses += weight;
      if (user.guesses > MAX_FAILURES + MAX_FACTORS - 1) {
        this.fail('1', `${user.guesses} factor-guesses in one lock cycle of ${user.id}`);
      }
    }
  }

  /** Claim 2: records an accepted (secret, step); twice is a break. */
  accept(user: User, secret: Uint8Array, step: number, what: string) {
    const key = `${hex(secret)}:${step}`;
    const seen = this.accepted.get(user.id) ?? new Set<string>();
    this.accepted.set(user.id, seen);
    if (seen.has(key)) this.fail('2', `${what}: step ${step} of one secret accepted twice`);
    seen.add(key);
  }

  async factors(user: User): Promise<number> {
    return (await this.mfa.status(user.id)).factors;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.rng.below(items.length)];
  }

  /** A code matching none of the user's secrets within two steps of now. */
  wrongCode(user: User): string {
    const near = new Set<string>();
    for (const secret of user.secrets.values()) {
      for (let k = -2; k <= 2; k++)
        near.add(generateTOTP(secret, { now: this.clock.now + k * STEP }));
    }
    for (;;) {
      const code = String(this.rng.below(1_000_000)).padStart(6, '0');
      if (!near.has(code)) return code;
    }
  }

  // ---------------------------------------------------------------- operations
  // Each makes one call or a few; `weight` is the factor count for claim 1:
  // exact for a call run alone, a lower bound in a parallel batch.

  async verifyRight(user: User, weight: number) {
    const entry = this.pick([...user.secrets]);
    if (entry === undefined) return;
    const [, secret] = entry;
    // The step of the call's own moment: a parallel batch may move the clock before it returns.
    const step = this.step();
    const code = generateTOTP(secret, { now: this.clock.now });
    const result = await this.mfa.verify(user.id, code);
    this.judge(user, `verify(right) at step ${step}`, result, weight);
    if (result.ok) {
      this.accept(user, secret, step, 'verify');
      user.lastAccepted = { secret, step };
      this.reset(user);
    }
  }

  /** Sends again the code last accepted for the user, in the same step: a replay. */
  async verifyReplay(user: User, weight: number) {
    const last = user.lastAccepted;
    if (last === null || last.step !== this.step()) return;
    const result = await this.mfa.verify(
      user.id,
      generateTOTP(last.secret, { now: this.clock.now }),
    );
    this.judge(user, `verify(replay) of step ${last.step}`, result, weight);
    if (result.ok) {
      this.accept(user, last.secret, last.step, 'verify(replay)');
      this.reset(user);
    }
  }

  async verifyWrong(user: User, weight: number) {
    const result = await this.mfa.verify(user.id, this.wrongCode(user));
    this.judge(user, 'verify(wrong)', result, weight);
    if (result.ok) this.fail('1', 'a wrong code was accepted');
  }

  async enroll(user: User) {
    if (user.secrets.size >= MAX_FACTORS) return;
    const begun = await this.mfa
      .beginEnrollment(user.id, {
        accountName: 'user@example.com',
        name: `App ${this.rng.below(1e9)}`,
      })
      .catch(expectRefusal);
    if (begun === undefined) return;
    const secret = decodeBase32(begun.secret);
    const right = this.rng.chance(0.7);
    const s = this.step();
    const code1 = right ? generateTOTP(secret, { now: (s - 1) * STEP }) : this.wrongCode(user);
    const code2 = generateTOTP(secret, { now: s * STEP });
    const result = await this.mfa.completeEnrollment(user.id, code1, code2);
    this.judge(user, `completeEnrollment(${right ? 'right' : 'wrong'})`, result, 1);
    if (result.ok) {
      this.accept(user, secret, s - 1, 'binding');
      this.accept(user, secret, s, 'binding');
      user.secrets.set(result.factorId, secret);
      if (result.recoveryCodes) this.#newSet(user, result.recoveryCodes);
      this.reset(user);
    }
  }

  #newSet(user: User, codes: readonly string[]) {
    for (const code of user.recovery) user.replaced.add(code);
    user.recovery = [...codes];
  }

  async importFactor(user: User) {
    const existing = this.pick([...user.secrets.values()]);
    const duplicate = existing !== undefined && this.rng.chance(0.5);
    const secret = duplicate ? existing : this.rng.bytes(20);
    const result = await this.mfa.importFactor(user.id, {
      secret,
      name: `Imported ${this.rng.below(1e9)}`,
    });
    this.log.push(
      `${user.id} importFactor(${duplicate ? 'duplicate' : 'fresh'}) → ${JSON.stringify({ ok: result.ok })}`,
    );
    if (result.ok) {
      user.secrets.set(result.factorId, secret);
      const codes = (result as { recoveryCodes?: readonly string[] }).recoveryCodes;
      if (codes) this.#newSet(user, codes);
    }
  }

  async removeFactor(user: User) {
    const id = this.pick([...user.secrets.keys()]);
    if (id === undefined) return;
    const result = await this.mfa.removeFactor(user.id, id);
    this.log.push(`${user.id} removeFactor → ${JSON.stringify(result)}`);
    user.secrets.delete(id);
    if (user.secrets.size === 0) this.#newSet(user, []);
  }

  async disable(user: User) {
    await this.mfa.disable(user.id);
    this.log.push(`${user.id} disable`);
    user.secrets.clear();
    this.#newSet(user, []);
  }

  async useRecoveryCode(user: User) {
    const pool = [...user.recovery, ...user.usedRecovery, ...user.replaced];
    const code = this.pick(pool);
    if (code === undefined) return;
    const result = await this.mfa.useRecoveryCode(user.id, code);
    this.log.push(`${user.id} useRecoveryCode → ${JSON.stringify(result)}`);
    if (!result.ok) return;
    if (user.usedRecovery.has(code)) this.fail('5', 'a recovery code worked twice');
    if (user.replaced.has(code)) this.fail('5', "a replaced set's recovery code worked");
    user.usedRecovery.add(code);
    user.recovery = user.recovery.filter((c) => c !== code);
    this.reset(user);
  }

  async regenerate(user: User) {
    const result = await this.mfa.regenerateRecoveryCodes(user.id);
    this.log.push(`${user.id} regenerateRecoveryCodes → ${result.ok}`);
    if (result.ok) this.#newSet(user, result.recoveryCodes);
  }

  async unlock(user: User) {
    await this.mfa.unlock(user.id);
    this.log.push(`${user.id} unlock`);
    this.reset(user);
  }

  /** Claim 3: erasure racing calls already in flight for the same user. */
  async erase(index: number) {
    const user = this.users[index]!;
    const inFlight = Array.from({ length: 2 + this.rng.below(4) }, () => this.#anyCall(user));
    const settled = await Promise.allSettled([...inFlight, this.mfa.deleteUserData(user.id)]);
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') continue;
      const error: unknown = outcome.reason;
      // The documented answers to a call that lost the race, or to one the
      // random run made against a limit; ERR_STORE is not among them.
      const clean = ['ERR_ERASED', 'ERR_FACTOR_LIMIT', 'ERR_NAME_TAKEN'];
      if (!(error instanceof MFAError) || !clean.includes(error.code)) {
        this.fail('3', `a call racing erasure failed with ${String(error)}`);
      }
    }
    const left = await this.store.getUser(user.id, this.clock.now);
    if (left !== null) this.fail('3', `after erasure the store still holds ${user.id}'s state`);
    this.log.push(`${user.id} erased`);
    // An erased id is retired: the next runs use a new user.
    this.users[index] = this.#newUser(user.id.split('.')[0]!);
  }

  /** A call for the erasure race: anything that can write. */
  #anyCall(user: User): Promise<unknown> {
    const secret = this.pick([...user.secrets.values()]);
    const calls = [
      () => this.mfa.beginEnrollment(user.id, { accountName: 'user@example.com' }),
      () => this.mfa.importFactor(user.id, { secret: this.rng.bytes(20) }),
      () =>
        this.mfa.verify(user.id, secret ? generateTOTP(secret, { now: this.clock.now }) : '123456'),
      () => this.mfa.verify(user.id, '12345678'),
      () => this.mfa.useRecoveryCode(user.id, user.recovery[0] ?? 'AAAA-BBBB-CCCC'),
    ];
    return calls[this.rng.below(calls.length)]!();
  }

  /** One random operation on a user, run alone (weights exact) or in a batch (lower bound). */
  async operation(user: User, weight: number) {
    const roll = this.rng.below(100);
    if (roll < 28) return this.verifyWrong(user, weight);
    if (roll < 40) return this.verifyRight(user, weight);
    if (roll < 45) return this.verifyReplay(user, weight);
    if (roll < 58) return this.enroll(user);
    if (roll < 68) return this.importFactor(user);
    if (roll < 76) return this.removeFactor(user);
    if (roll < 79) return this.disable(user);
    if (roll < 88) return this.useRecoveryCode(user);
    if (roll < 92) return this.regenerate(user);
    if (roll < 94) return this.unlock(user);
    this.clock.now += STEP * (1 + this.rng.below(2));
  }

  async run(steps: number) {
    for (let i = 0; i < steps; i++) {
      const index = this.rng.below(this.users.length);
      const user = this.users[index]!;
      const roll = this.rng.below(100);
      if (roll < 4 && !withoutErase) {
        await this.erase(index);
      } else if (roll < 20) {
        // A parallel batch on one user: weights are only bounded from below.
        const before = await this.factors(user);
        const size = 2 + this.rng.below(3);
        const lower = Math.max(1, before - size);
        this.#inBatch = true;
        try {
          await Promise.all(Array.from({ length: size }, () => this.operation(user, lower)));
        } finally {
          this.#inBatch = false;
        }
        // A lock seen in the batch holds from now on, unless the batch also
        // reset: then which came last is unknown, and the next call decides.
        if (user.resetInBatch) user.locked = false;
        else if (user.lockedInBatch) user.locked = true;
        user.lockedInBatch = false;
        user.resetInBatch = false;
      } else {
        await this.operation(user, Math.max(1, await this.factors(user)));
      }
      // Escapes back-off delays, never the lock: time moves by steps only.
      if (this.rng.chance(0.3)) this.clock.now += STEP;
    }
  }
}

/** A store the claims oracle runs against: its name, its run count and size, and how to make it. */
export interface ClaimsTestStore {
  name: string;
  runs: number;
  /** Steps per run. */
  steps: number;
  /** A store for one run: a fresh one, or one where the run's user ids are new. */
  make: () => Promise<MFAStore>;
}

/**
 * One test per store: `runs` random runs from seed TOTPKIT_CLAIMS_SEED (by
 * default one of the clock), each checked against the five claims.
 */
export function describeClaims(stores: readonly ClaimsTestStore[]): void {
  describe('the service against the claims of its documents', () => {
    for (const { name, runs, steps, make } of stores) {
      it(`${name}: ${runs} random runs of ${steps} steps keep all five claims`, async () => {
        const base = Number(process.env.TOTPKIT_CLAIMS_SEED ?? Date.now() % 1_000_000);
        const broken = new Map<string, string>();
        for (let r = 0; r < runs; r++) {
          const seed = base + r;
          const run = new Run(await make(), random(seed), `claims-${seed}`);
          try {
            await run.run(steps);
          } catch (error) {
            throw new Error(`seed ${seed} (TOTPKIT_CLAIMS_SEED=${seed} replays it)`, {
              cause: error,
            });
          }
          for (const [claim, detail] of run.broken) {
            if (!broken.has(claim)) broken.set(claim, `seed ${seed}: ${detail}`);
          }
        }
        // Every run goes to its end, so that one report names every claim broken.
        expect([...broken.values()].join('\n')).toBe('');
        expect(runs).toBeGreaterThan(0);
      }, 240_000);
    }
  });
}
