/**
 * The claims oracle's run (test/helpers/claims-run.ts): what the oracle
 * knows of each user, the judging of claims 1 to 5, the erasure race, and
 * the random steps, sequential and in parallel batches. The operations are
 * claims-operations.ts; claims 6 to 11 are claims-account.ts.
 */
import {
  ACCOUNT_POLICY,
  AccountClaims,
  newKnowledge,
  type AccountKnowledge,
} from './claims-account.ts';
import * as op from './claims-operations.ts';
import { NO_PROOFS } from './mfa.ts';
import {
  createAESGCMCipher,
  createMFA,
  generateTOTP,
  MFAError,
  type MFA,
  type MFAStore,
} from 'totpkit';

export const MAX_FAILURES = 10;
export const MAX_FACTORS = 5;
export const STEP = 30_000;
const T0 = 1_800_000_000_000;

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed by its seed. */
export function random(seed: number) {
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
export interface User {
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
  /** Claims 6 to 11 (claims-account.ts). */
  account: AccountKnowledge;
}

type Result = { ok: boolean; reason?: string };

/**
 * The refusals a random run meets by design (a factor limit reached in a
 * parallel batch): documented MFAErrors, not claims. Anything else rethrows.
 */
export function expectRefusal(error: unknown): undefined {
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
  /** The service with the default proof rule (claims 9 to 11); `mfa` needs no proof (claims 1 to 5). */
  readonly strict: MFA;
  readonly outbox: { userId: string; code: string; purpose: string; expiresAt: number }[] = [];
  senderFails = false;
  lastAttempt: string | null = null;
  readonly accountClaims = new AccountClaims(this);
  inBatch() {
    return this.#inBatch;
  }

  constructor(
    readonly store: MFAStore,
    readonly rng: ReturnType<typeof random>,
    prefix: string,
  ) {
    const options = {
      store,
      issuer: 'Claims',
      cipher: createAESGCMCipher({ keys: { k: new Uint8Array(32).fill(3) }, primaryKeyId: 'k' }),
      clock: () => this.clock.now,
      verification: {
        key: new Uint8Array(32).fill(5),
        sender: async (message: {
          userId: string;
          code: string;
          purpose: string;
          expiresAt: number;
        }) => {
          this.lastAttempt = message.code;
          if (this.senderFails) throw new Error(`provider refused ${message.code}`);
          this.outbox.push({ ...message });
        },
      },
      policy: {
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
        ...ACCOUNT_POLICY,
      },
    };
    this.strict = createMFA(options as Parameters<typeof createMFA>[0]);
    this.mfa = createMFA({
      ...options,
      policy: { ...options.policy, proofs: { ...ACCOUNT_POLICY.proofs, ...NO_PROOFS } },
    } as Parameters<typeof createMFA>[0]);
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
      account: newKnowledge(),
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

  /** A new recovery set shown to the user: the current one's codes are replaced. */
  newSet(user: User, codes: readonly string[]) {
    for (const code of user.recovery) user.replaced.add(code);
    user.recovery = [...codes];
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
  async operation(user: User, weight: number, generation: number | null = null) {
    if (this.rng.chance(0.35)) return op.account(this, user, weight, generation);
    const roll = this.rng.below(100);
    if (roll < 28) return op.verifyWrong(this, user, weight);
    if (roll < 40) return op.verifyRight(this, user, weight);
    if (roll < 45) return op.verifyReplay(this, user, weight);
    if (roll < 58) return op.enroll(this, user);
    if (roll < 68) return op.importFactor(this, user);
    if (roll < 76) return op.removeFactor(this, user);
    if (roll < 79) return op.disable(this, user);
    if (roll < 88) return op.useRecoveryCode(this, user);
    if (roll < 92) return op.regenerate(this, user);
    if (roll < 94) return op.unlock(this, user);
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
        // Claim 10: alone, the generation moves by exactly the changes made.
        const before = (await this.mfa.status(user.id)) as unknown as {
          factors: number;
          generation: number;
        };
        const changes = user.account.changes;
        const logged = this.log.length;
        await this.operation(user, Math.max(1, before.factors), before.generation);
        const after = (await this.mfa.status(user.id)) as unknown as { generation: number };
        if (
          this.users.includes(user) &&
          after.generation - before.generation !== user.account.changes - changes
        )
          this.fail(
            '10',
            `generation ${before.generation} → ${after.generation} after ${user.account.changes - changes} changes (${user.id}: ${this.log.slice(logged).join('; ') || 'no call logged'})`,
          );
      }
      // Escapes back-off delays, never the lock: time moves by steps only.
      if (this.rng.chance(0.3)) this.clock.now += STEP;
    }
  }
}
