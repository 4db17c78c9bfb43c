/**
 * The model-based test of the MFA service (issue 10, point 16), for any store:
 * random sequences of every MFA method, with right, wrong, replayed, malformed
 * and spaced codes, clock moves, device clock drift, several calls in flight
 * at once, and store faults injected before or after a store operation.
 * test/mfa/model.test.ts runs it against MemoryStore (with and without
 * readAndReserve) and PostgresStore on PGlite; test/store/model-servers.test.ts
 * against the stores on real servers. A test file lists its stores and calls
 * {@link describeModelTest}.
 *
 * Users have several factors (issue 11): enrollment with names and
 * replaceFactorId, import (strong, weak, or a copy of a factor's secret),
 * listing, renaming, removing, erasure. After each call the result and the
 * store's record are compared with a small reference model of the rules
 * (test/helpers/mfa-model.ts): one acceptance per step per factor, the one
 * budget shared by all factors with the lock at ceil(maxFailures / factors),
 * locks, recovery codes used once (first factor only), drift. A call that
 * fails on an injected fault must reject with ERR_STORE and leave the record
 * as before the call, after its first write only, or after all of it (for
 * regenerateRecoveryCodes, the stored salt tells which). Code checks in
 * flight together, and factor changes raced together (imports, bindings,
 * removals, disable), are checked against the invariants that hold in any
 * interleaving.
 *
 * CI runs a fixed seed and a size well under a minute per store. Locally:
 * TOTPKIT_FUZZ_RUNS (runs per store), TOTPKIT_FUZZ_SEED, and
 * TOTPKIT_FUZZ_SECONDS (stop each store's run after this long, passing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMFA, decodeBase32, MFAError, type MFA, type MFAStore } from '../../src/index.ts';
import { normalizeRecoveryCode } from '../../src/mfa/recovery-hash.ts';
import type { UserRecord } from '../../src/store.ts';
import { REQUIRED_STORE_METHODS } from '../../src/store/throttle.ts';
import {
  clone,
  codeAt,
  emptyUser,
  Model,
  nameKey,
  project,
  remaining,
  stepOf,
  type ModelFactor,
  type ModelPolicy,
  type ModelUser,
  type Outcome,
  type Projection,
} from './mfa-model.ts';
import { NO_PROOFS } from './mfa.ts';

const POLICY: ModelPolicy = {
  window: 1,
  bindingWindow: 3,
  maxDrift: 2,
  // Few factors, so that the limit is reached; 6 failures lock 1 factor, 3 lock 2, 2 lock 3.
  maxFactors: 3,
  pendingTtlMs: 120_000,
  // Small budgets, so that back-off and locks happen within a few steps.
  throttle: { freeAttempts: 2, baseDelayMs: 1_000, maxDelayMs: 60_000, maxFailures: 6 },
  recoveryThrottle: { freeAttempts: 1, baseDelayMs: 500, maxDelayMs: 10_000, maxFailures: 3 },
  recoveryCodeCount: 3,
  // Short enough that runs see it end (the clock moves up to 16 minutes a step).
  erasureGuardMs: 5 * 60_000,
};
const CHEAP_SCRYPT = { N: 1024, r: 1, p: 1 };
const USERS = 2;
const T0 = 1_750_000_020_000;

const RUNS = process.env.TOTPKIT_FUZZ_RUNS ? Number(process.env.TOTPKIT_FUZZ_RUNS) : undefined;
const SEED = Number(process.env.TOTPKIT_FUZZ_SEED ?? 20_261_130);
const SECONDS = process.env.TOTPKIT_FUZZ_SECONDS
  ? Number(process.env.TOTPKIT_FUZZ_SECONDS)
  : undefined;

// ── the steps ────────────────────────────────────────────────────────────────

type CodeKind = 'now' | 'next' | 'prev' | 'far' | 'last' | 'spaced' | 'random' | 'malformed';
type PairKind =
  | 'now'
  | 'ahead'
  | 'behind'
  | 'swapped'
  | 'same'
  | 'replay'
  | 'random'
  | 'malformed'
  // Issue 12: a clock hours off, the replaced enrollment's codes, another factor's codes.
  | 'far'
  | 'stale'
  | 'factor';
type RecoveryKind = 'unused' | 'lower' | 'used' | 'old' | 'random' | 'malformed';
/** A factor of the user by index (modulo their count), or 3: an id the user does not have. */
type FactorPick = number;
/** A name to ask for: undefined takes the default ("Authenticator", "Authenticator 2", …). */
type NamePick = string | undefined;
type SecretKind = 'fresh' | 'weak' | 'same';

type Call =
  | { m: 'begin'; name: NamePick; replace: FactorPick | null }
  | { m: 'complete'; pair: PairKind }
  | { m: 'verify'; code: CodeKind; f: FactorPick }
  | { m: 'resync'; pair: PairKind; f: FactorPick }
  | { m: 'recovery'; code: RecoveryKind; pick: number }
  | { m: 'regenerate' }
  | { m: 'status' }
  | { m: 'list' }
  | { m: 'rename'; f: FactorPick; name: string }
  | { m: 'remove'; f: FactorPick }
  | {
      m: 'import';
      secret: SecretKind;
      f: FactorPick;
      name: NamePick;
      // 'default': no lastStep given (the import's step + policy.window); 'none': -1.
      lastStep: 'default' | 'none' | 'now';
      codes: boolean;
    }
  | { m: 'disable' }
  | { m: 'erase' }
  | { m: 'unlock'; scope: 'otp' | 'recovery' | undefined }
  | { m: 'reencrypt' };

type Step =
  | { kind: 'advance'; ms: number }
  | { kind: 'drift'; user: number; by: number }
  | {
      kind: 'call';
      user: number;
      call: Call;
      fault: { at: number; mode: 'before' | 'after' } | null;
    }
  | { kind: 'parallel'; user: number; calls: Call[] }
  | { kind: 'race'; user: number; calls: Call[] };

const codeKind = fc.constantFrom<CodeKind>(
  'now',
  'now',
  'next',
  'prev',
  'far',
  'last',
  'spaced',
  'random',
  'malformed',
);
const pairKind = fc.constantFrom<PairKind>(
  'now',
  'now',
  'ahead',
  'behind',
  'swapped',
  'same',
  'replay',
  'random',
  'malformed',
  'far',
  'stale',
  'factor',
);
const recoveryKind = fc.constantFrom<RecoveryKind>(
  'unused',
  'unused',
  'lower',
  'used',
  'old',
  'random',
  'malformed',
);
const factorPick = fc.nat(3);
// 'PHONE' and 'Phone' are the same name; 'Authenticator' collides with the default.
const namePick = fc.constantFrom<NamePick>(
  undefined,
  undefined,
  'Phone',
  'PHONE',
  'Tablet',
  'Authenticator',
);
const user = fc.integer({ min: 0, max: USERS - 1 });

const call: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      m: fc.constant('begin' as const),
      name: namePick,
      replace: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: factorPick },
      ),
    }),
  },
  { weight: 5, arbitrary: fc.record({ m: fc.constant('complete' as const), pair: pairKind }) },
  {
    weight: 8,
    arbitrary: fc.record({ m: fc.constant('verify' as const), code: codeKind, f: factorPick }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ m: fc.constant('resync' as const), pair: pairKind, f: factorPick }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      m: fc.constant('recovery' as const),
      code: recoveryKind,
      pick: fc.nat(9),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ m: 'regenerate' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'status' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'list' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('rename' as const),
      f: factorPick,
      name: fc.constantFrom('Phone', 'PHONE', 'Tablet', 'Authenticator'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ m: fc.constant('remove' as const), f: factorPick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('import' as const),
      secret: fc.constantFrom<SecretKind>('fresh', 'weak', 'same'),
      f: factorPick,
      name: namePick,
      lastStep: fc.constantFrom('default' as const, 'none' as const, 'now' as const),
      codes: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'disable' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'erase' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('unlock' as const),
      scope: fc.constantFrom('otp' as const, 'recovery' as const, undefined),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'reencrypt' as const }) },
);

/** Calls that may run together: the code checks and reads. */
const parallelCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ m: fc.constant('verify' as const), code: codeKind, f: factorPick }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ m: fc.constant('resync' as const), pair: pairKind, f: factorPick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('recovery' as const),
      code: recoveryKind,
      pick: fc.nat(2),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'status' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'list' as const }) },
);

/** Calls that change a user's factors, raced: the factor limit, names and recovery set must hold. */
const raceCall: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      m: fc.constant('import' as const),
      secret: fc.constant<SecretKind>('fresh'),
      f: factorPick,
      name: namePick,
      lastStep: fc.constant('none' as const),
      codes: fc.constant(true),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      m: fc.constant('complete' as const),
      pair: fc.constant<PairKind>('now'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ m: fc.constant('remove' as const), f: factorPick }) },
  {
    weight: 1,
    arbitrary: fc.record({
      m: fc.constant('verify' as const),
      code: fc.constant<CodeKind>('now'),
      f: factorPick,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ m: 'regenerate' as const }) },
  { weight: 1, arbitrary: fc.constant({ m: 'disable' as const }) },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.constantFrom(0, 1_000, 29_000, 30_000, 31_000, 60_000, 121_000, 16 * 60_000),
        fc.integer({ min: 0, max: 10 * 60_000 }),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('drift' as const),
      user,
      by: fc.integer({ min: -5, max: 5 }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      user,
      call,
      // A fault in about one call of eight, at one of its first three store operations.
      fault: fc.oneof(
        { weight: 7, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({
            at: fc.integer({ min: 1, max: 3 }),
            mode: fc.constantFrom('before' as const, 'after' as const),
          }),
        },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('parallel' as const),
      user,
      calls: fc.array(parallelCall, { minLength: 2, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      user,
      calls: fc.array(raceCall, { minLength: 2, maxLength: 4 }),
    }),
  },
);

// ── the system under test ────────────────────────────────────────────────────

/** A store that fails its N-th operation of the armed call, before or after running it. */
class FaultyStore {
  readonly error = new Error('injected store failure');
  #armed: { at: number; mode: 'before' | 'after' } | null = null;
  #count = 0;
  fired = false;

  constructor(readonly inner: MFAStore) {}

  arm(fault: { at: number; mode: 'before' | 'after' } | null): void {
    this.#armed = fault;
    this.#count = 0;
    this.fired = false;
  }

  store(): MFAStore {
    const wrapped: Partial<Record<keyof MFAStore, unknown>> = {};
    const names = [
      ...REQUIRED_STORE_METHODS,
      ...(this.inner.readAndReserve ? ['readAndReserve' as const] : []),
    ];
    for (const name of names) {
      wrapped[name] = async (...args: unknown[]) => {
        const run = () =>
          (this.inner[name] as (...a: unknown[]) => Promise<unknown>).apply(this.inner, args);
        const armed = this.#armed;
        if (armed === null || ++this.#count !== armed.at) return run();
        this.#armed = null;
        this.fired = true;
        if (armed.mode === 'after') await run();
        throw this.error;
      };
    }
    return wrapped as MFAStore;
  }
}

/** A plaintext cipher that always asks to be re-sealed, so the test can read secrets back. */
const cipher = {
  encrypt: async (plaintext: Uint8Array) => `plain.${Buffer.from(plaintext).toString('base64url')}`,
  decrypt: async (sealed: string) => new Uint8Array(Buffer.from(sealed.slice(6), 'base64url')),
  needsReencryption: () => true,
};
const unseal = (sealed: string) => new Uint8Array(Buffer.from(sealed.slice(6), 'base64url'));

function projectRecord(record: UserRecord | null, now: number): Projection {
  const p = record?.pending;
  return {
    pending:
      p && p.expiresAt > now
        ? {
            id: p.id,
            name: p.name,
            expiresAt: p.expiresAt,
            replaceFactorId: p.replaceFactorId,
            previous: p.previous ? { id: p.previous.id, expiresAt: p.previous.expiresAt } : null,
          }
        : null,
    factors: (record?.factors ?? []).map((f) => ({
      id: f.id,
      name: f.name,
      lastStep: f.lastStep,
      drift: f.drift,
      createdAt: f.createdAt,
      activatedAt: f.activatedAt,
      lastUsedAt: f.lastUsedAt,
    })),
    recoveryRemaining: record?.recoveryCodes ? record.recoveryCodes.hashes.length : null,
    otp: { ...(record?.throttle.otp ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
    recovery: { ...(record?.throttle.recovery ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
  };
}

/** The model's projection as a store shows it at `now` (an expired enrollment may be dropped). */
function expected(user: ModelUser, now: number): Projection {
  const p = project(user);
  return p.pending && p.pending.expiresAt <= now ? { ...p, pending: null } : p;
}

/** The comparable part of a result. */
function summary(result: unknown): unknown {
  if (result === null || typeof result !== 'object') return result;
  if (Array.isArray(result)) {
    return result.map(({ id, name, createdAt, activatedAt, lastUsedAt, drift }) => ({
      id,
      name,
      createdAt,
      activatedAt,
      lastUsedAt,
      drift,
    }));
  }
  const r = result as Record<string, unknown>;
  if ('state' in r) {
    const {
      state,
      factors,
      pendingExpiresAt,
      recoveryCodesRemaining,
      locked,
      recoveryLocked,
      retryAfterMs,
    } = r;
    return {
      state,
      factors,
      pendingExpiresAt,
      recoveryCodesRemaining,
      locked,
      recoveryLocked,
      retryAfterMs,
    };
  }
  const out: Record<string, unknown> = {};
  for (const key of [
    'ok',
    'reason',
    'retryAfterMs',
    'remaining',
    'drift',
    'reencrypted',
    'count',
    'expiresAt',
    'factorId',
    'weak',
    'alreadyImported',
    'name',
    'skewSeconds',
    'clockOffsetSeconds',
  ]) {
    if (key in r) out[key] = r[key];
  }
  if (Array.isArray(r.recoveryCodes)) out.recoveryCodes = r.recoveryCodes.length;
  return out;
}

/** One run: a service over a fresh faulty wrapper, its users, and their models. */
class Run {
  readonly model = new Model(POLICY);
  readonly faulty: FaultyStore;
  readonly mfa: MFA;
  now = T0;
  readonly users: string[];
  readonly states: ModelUser[];
  /** Each user's device clock offset, in steps. */
  readonly offsets: number[];
  /** Every recovery code issued to each user, and those accepted (must never be accepted twice). */
  readonly issued: Set<string>[];
  readonly accepted: Set<string>[];
  /**
   * Codes of sets shown by a race of several calls that each showed a set:
   * one of them is the stored set, unknown which, so none is picked as 'old'.
   */
  readonly maybeLive: Set<string>[];
  readonly log: string[] = [];

  constructor(inner: MFAStore, prefix: string) {
    this.faulty = new FaultyStore(inner);
    this.mfa = createMFA({
      store: this.faulty.store(),
      issuer: 'Fuzz',
      cipher,
      clock: () => this.now,
      // Proofs are tested in test/mfa/proofs.test.ts; this model predates them.
      policy: { ...POLICY, recoveryCodeScrypt: CHEAP_SCRYPT, proofs: NO_PROOFS },
    });
    this.users = Array.from({ length: USERS }, (_, i) => `${prefix}-${i}`);
    this.states = this.users.map(emptyUser);
    this.offsets = this.users.map(() => 0);
    this.issued = this.users.map(() => new Set());
    this.accepted = this.users.map(() => new Set());
    this.maybeLive = this.users.map(() => new Set());
  }

  async record(u: number): Promise<UserRecord | null> {
    return this.faulty.inner.getUser(this.users[u] as string, this.now);
  }

  /** The factor `pick` names (modulo the count), or undefined for 3 or a user without factors. */
  factor(u: number, pick: FactorPick): ModelFactor | undefined {
    const factors = (this.states[u] as ModelUser).factors;
    return pick === 3 || factors.length === 0 ? undefined : factors[pick % factors.length];
  }

  /** The id `pick` names: a factor's, or one the user does not have. */
  factorId(u: number, pick: FactorPick): string {
    return this.factor(u, pick)?.id ?? '00000000-0000-4000-8000-000000000000';
  }

  /** The device's step now, for the secret being checked. */
  deviceStep(u: number): number {
    return stepOf(this.now) + (this.offsets[u] as number);
  }

  /** A code, and the step it belongs to (null for a code of no step). */
  code(
    u: number,
    factor: { secret: Uint8Array; lastStep?: number } | undefined,
    kind: CodeKind,
    salt: number,
  ): { code: string; step: number | null } {
    const secret = factor?.secret;
    const device = this.deviceStep(u);
    if (kind === 'malformed')
      return {
        code: ['12345', '1234567', 'abcdef', '', '12 34 5x'][salt % 5] as string,
        step: null,
      };
    if (!secret || kind === 'random') return { code: this.wrong(secret, salt), step: null };
    const step = {
      now: device,
      spaced: device,
      next: device + 1,
      prev: device - 1,
      far: device + (salt % 2 ? 4 : -4),
      // An imported factor may have no last step (-1).
      last: (factor?.lastStep ?? -1) >= 0 ? (factor?.lastStep as number) : device,
    }[kind];
    const code = codeAt(secret, step);
    return { code: kind === 'spaced' ? ` ${code.slice(0, 3)} ${code.slice(3)} ` : code, step };
  }

  /** A 6-digit code that matches no step anywhere near now. */
  wrong(secret: Uint8Array | undefined, salt: number): string {
    const near = new Set<string>();
    if (secret)
      for (let s = stepOf(this.now) - 120; s <= stepOf(this.now) + 120; s++)
        near.add(codeAt(secret, s));
    for (let n = salt * 7919; ; n += 104_729) {
      const candidate = String(n % 1_000_000).padStart(6, '0');
      if (!near.has(candidate)) return candidate;
    }
  }

  pair(
    u: number,
    factor: { secret: Uint8Array; lastStep?: number } | undefined,
    kind: PairKind,
    salt: number,
  ): { codes: [string, string]; end: number | null } {
    if (kind === 'stale' || kind === 'factor') {
      // Right codes of another secret: the replaced enrollment's, or a factor's.
      const state = this.states[u] as ModelUser;
      const other = kind === 'stale' ? state.pending?.previous : this.factor(u, salt % 3);
      return this.pair(u, other ? { secret: other.secret } : undefined, 'now', salt);
    }
    const secret = factor?.secret;
    const device = this.deviceStep(u);
    if (kind === 'malformed') return { codes: ['12345', '123456'], end: null };
    if (!secret || kind === 'random')
      return { codes: [this.wrong(secret, salt), this.wrong(secret, salt + 1)], end: null };
    if (kind === 'same') {
      const c = codeAt(secret, device);
      return { codes: [c, c], end: null };
    }
    const last = (factor?.lastStep ?? -1) >= 1 ? (factor?.lastStep as number) : device;
    const end = {
      now: device,
      ahead: device + 1,
      behind: device - 1,
      swapped: device,
      replay: last,
      // Hours off, sometimes beyond the one-day skew search.
      far: device + (salt % 2 ? 1 : -1) * (4 + ((salt * 7919) % 3_200)),
    }[kind];
    const codes: [string, string] = [codeAt(secret, end - 1), codeAt(secret, end)];
    return kind === 'swapped' ? { codes: [codes[1], codes[0]], end: null } : { codes, end };
  }

  recoveryCode(u: number, kind: RecoveryKind, pick: number): string {
    const state = this.states[u] as ModelUser;
    const unused = state.recovery?.unused ?? [];
    const used = [...(this.accepted[u] as Set<string>)];
    const old = [...(this.issued[u] as Set<string>)].filter(
      (c) => !unused.includes(c) && !this.maybeLive[u]?.has(c),
    );
    const choose = (list: string[]) => list[pick % Math.max(1, list.length)];
    switch (kind) {
      case 'unused':
        return choose(unused) ?? 'ZZZZ-ZZZZ-ZZZZ';
      case 'lower':
        return (choose(unused) ?? 'zzzz-zzzz-zzzz').toLowerCase().replace(/-/g, ' ');
      case 'used':
        return choose(used) ?? '0000-0000-0000';
      case 'old':
        return choose(old) ?? '1111-1111-1111';
      case 'random':
        return ['0000-0000-0000', 'ABCD-EFGH-JKMN', 'Z9Z9-Z9Z9-Z9Z9'][pick % 3] as string;
      case 'malformed':
        return ['', 'not a code', 'UUUU-UUUU-UUUU', '0000-0000-000'][pick % 4] as string;
    }
  }
}

// ── the checks ───────────────────────────────────────────────────────────────

/** Random bytes of a secret to import, or a copy of an existing factor's (codes then match both). */
function importSecret(run: Run, u: number, c: Extract<Call, { m: 'import' }>, salt: number) {
  const same = run.factor(u, c.f);
  if (c.secret === 'same' && same) return same.secret.slice();
  const bytes = new Uint8Array(c.secret === 'weak' ? 10 : 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (salt * 31 + i * 17 + u * 101) & 0xff;
  return bytes;
}

async function sequential(
  run: Run,
  u: number,
  c: Call,
  fault: { at: number; mode: 'before' | 'after' } | null,
  salt: number,
) {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const beforeRecord = await run.record(u);
  let invoke: () => Promise<unknown>;
  let expect_: (real: unknown) => Outcome;
  /** After a fault: the states the record may be in, from what the store holds. */
  let onFault:
    ((record: UserRecord | null) => Outcome | { next?: ModelUser; known?: true }) | undefined;
  const issue = (real: unknown) => {
    const codes = (real as { recoveryCodes?: string[] } | null)?.recoveryCodes ?? [];
    for (const code of codes) run.issued[u]?.add(code);
    return codes;
  };
  switch (c.m) {
    case 'begin': {
      const options = {
        ...(c.name === undefined ? {} : { name: c.name }),
        ...(c.replace === null ? {} : { replaceFactorId: run.factorId(u, c.replace) }),
      };
      invoke = () =>
        run.mfa.beginEnrollment(userId, { accountName: 'fuzz@example.com', ...options });
      expect_ = (real) => {
        const r = real as { factorId?: string; secret?: string };
        return run.model.beginEnrollment(
          before,
          run.now,
          options,
          r.factorId ?? '',
          r.secret ? decodeBase32(r.secret) : new Uint8Array(0),
        );
      };
      onFault = (record) => {
        const pending = record?.pending;
        if (!pending || pending.id === before.pending?.id) return { next: before };
        return run.model.beginEnrollment(
          before,
          run.now,
          options,
          pending.id,
          unseal(pending.sealedSecret),
        );
      };
      break;
    }
    case 'complete': {
      const { codes } = run.pair(u, before.pending ?? undefined, c.pair, salt);
      invoke = () => run.mfa.completeEnrollment(userId, ...codes);
      expect_ = (real) => run.model.completeEnrollment(before, run.now, ...codes, issue(real));
      onFault = () => {
        const outcome = run.model.completeEnrollment(before, run.now, ...codes, []);
        // A first factor bound, but the caller never saw its codes.
        if (outcome.next.recovery && !before.recovery)
          outcome.next.recovery.unseen = POLICY.recoveryCodeCount;
        return outcome;
      };
      break;
    }
    case 'verify': {
      const { code } = run.code(u, run.factor(u, c.f), c.code, salt);
      invoke = () => run.mfa.verify(userId, code);
      expect_ = () => run.model.verify(before, run.now, code);
      break;
    }
    case 'resync': {
      const { codes } = run.pair(u, run.factor(u, c.f), c.pair, salt);
      invoke = () => run.mfa.resync(userId, ...codes);
      expect_ = () => run.model.resync(before, run.now, ...codes);
      break;
    }
    case 'recovery': {
      const code = run.recoveryCode(u, c.code, c.pick);
      invoke = () => run.mfa.useRecoveryCode(userId, code);
      expect_ = (real) => {
        const canonical = normalizeRecoveryCode(code);
        const outcome = run.model.useRecoveryCode(
          before,
          run.now,
          canonical,
          normalizeRecoveryCode,
        );
        if ((real as { ok?: boolean } | undefined)?.ok) {
          const original = [...(run.issued[u] as Set<string>)].find(
            (x) => normalizeRecoveryCode(x) === canonical,
          ) as string;
          expect(run.accepted[u]?.has(original), 'a recovery code accepted twice').toBe(false);
          run.accepted[u]?.add(original);
        }
        return outcome;
      };
      break;
    }
    case 'regenerate':
      invoke = () => run.mfa.regenerateRecoveryCodes(userId);
      expect_ = (real) => run.model.regenerateRecoveryCodes(before, issue(real));
      // Whether the new set was written is read from the store: a new salt.
      onFault = (record) => {
        const salt0 = beforeRecord?.recoveryCodes?.salt;
        if (record?.recoveryCodes?.salt === salt0) return { next: before, known: true };
        const next = run.model.regenerateRecoveryCodes(before, []).next;
        if (next.recovery) next.recovery.unseen = POLICY.recoveryCodeCount;
        // Not `before`: with every code unused, both show the same count.
        return { next, known: true };
      };
      break;
    case 'status':
      invoke = () => run.mfa.status(userId);
      expect_ = () => run.model.status(before, run.now);
      break;
    case 'list':
      invoke = () => run.mfa.listFactors(userId);
      expect_ = () => run.model.listFactors(before);
      break;
    case 'rename': {
      const id = run.factorId(u, c.f);
      invoke = () => run.mfa.renameFactor(userId, id, c.name);
      expect_ = () => run.model.renameFactor(before, id, c.name);
      break;
    }
    case 'remove': {
      const id = run.factorId(u, c.f);
      invoke = () => run.mfa.removeFactor(userId, id);
      expect_ = () => run.model.removeFactor(before, id);
      break;
    }
    case 'import': {
      const secret = importSecret(run, u, c, salt);
      const options = {
        secret,
        ...(c.lastStep === 'default'
          ? {}
          : { lastStep: c.lastStep === 'now' ? run.deviceStep(u) : -1 }),
        ...(c.name === undefined ? {} : { name: c.name }),
        recoveryCodes: c.codes,
      };
      invoke = () => run.mfa.importFactor(userId, { ...options, secret: secret.slice() });
      expect_ = (real) =>
        run.model.importFactor(
          before,
          run.now,
          options,
          (real as { factorId?: string }).factorId ?? '',
          issue(real),
        );
      onFault = (record) => {
        const known = new Set(before.factors.map((f) => f.id));
        const added = record?.factors.find((f) => !known.has(f.id));
        if (!added) return { next: before };
        const outcome = run.model.importFactor(before, run.now, options, added.id, []);
        if (outcome.next.recovery && !before.recovery)
          outcome.next.recovery.unseen = POLICY.recoveryCodeCount;
        return outcome;
      };
      break;
    }
    case 'disable':
      invoke = () => run.mfa.disable(userId);
      expect_ = () => run.model.disable(before);
      break;
    case 'erase':
      invoke = () => run.mfa.deleteUserData(userId);
      expect_ = () => run.model.deleteUserData(before, run.now);
      // The record cannot show the guard: it is there exactly when deleteUser
      // (the second store operation, after getUser) ran.
      onFault = () =>
        fault !== null && (fault.at > 2 || (fault.at === 2 && fault.mode === 'after'))
          ? { next: run.model.deleteUserData(before, run.now).next, known: true }
          : { next: before, known: true };
      break;
    case 'unlock':
      invoke = () => run.mfa.unlock(userId, c.scope);
      expect_ = () => run.model.unlock(before, c.scope);
      break;
    case 'reencrypt':
      invoke = () => run.mfa.reencryptSecret(userId);
      expect_ = () => run.model.reencryptSecret(before, run.now);
      break;
  }
  run.faulty.arm(fault);
  const real = await invoke().then(
    (value) => value,
    (error: unknown) => error,
  );
  const fired = run.faulty.fired;
  run.faulty.arm(null);
  tally(fired ? `${c.m} (fault)` : c.m, real);
  const record = await run.record(u);
  const stored = projectRecord(record, run.now);
  if (fired) {
    // A fault: ERR_STORE with the store's error as cause, and the record as
    // before the call, after its reservation only, or after all of it.
    expect(real, 'a faulted call must reject').toBeInstanceOf(MFAError);
    expect((real as MFAError).code).toBe('ERR_STORE');
    const outcome: Partial<Outcome> & { known?: true } = onFault
      ? onFault(record)
      : expect_(undefined);
    const candidates = (
      outcome.known ? [outcome.next] : [before, outcome.reserved, outcome.partial, outcome.next]
    ).filter((x): x is ModelUser => x !== undefined);
    const matches = candidates.filter(
      (candidate) => JSON.stringify(expected(candidate, run.now)) === JSON.stringify(stored),
    );
    // An expired enrollment is not compared; whether it is still held tells
    // apart a write that removed it from none (disable after its write).
    const match =
      matches.find((m) => (m.pending?.id ?? null) === (record?.pending?.id ?? null)) ?? matches[0];
    expect(
      match,
      `record after a fault in ${c.m}: ${JSON.stringify(stored)}, candidates ${JSON.stringify(candidates.map((x) => expected(x, run.now)))}`,
    ).toBeDefined();
    run.states[u] = match as ModelUser;
    return;
  }
  const outcome = expect_(real instanceof Error ? {} : real);
  if (typeof outcome.result === 'string' && outcome.result.startsWith('ERR_')) {
    if (!(real instanceof MFAError)) throw real;
    expect((real as MFAError).code as string, `${c.m} must reject`).toBe(outcome.result);
  } else if (outcome.result === 'RangeError') {
    expect(real, `${c.m} must throw a RangeError`).toBeInstanceOf(RangeError);
  } else {
    if (real instanceof Error) throw real;
    expect(summary(real), `${c.m} result`).toEqual(outcome.result);
  }
  expect(stored, `record after ${c.m}`).toEqual(expected(outcome.next, run.now));
  run.states[u] = outcome.next;
}

/** Calls in flight together: the invariants of any interleaving, then the model takes the store's state. */
async function parallel(run: Run, u: number, calls: Call[], salt: number) {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const planned = calls.map((c, i) => {
    if (c.m === 'verify') {
      const { code, step } = run.code(u, run.factor(u, c.f), c.code, salt + i);
      return { c, steps: step === null ? [] : [step], run: () => run.mfa.verify(userId, code) };
    }
    if (c.m === 'resync') {
      const { codes, end } = run.pair(u, run.factor(u, c.f), c.pair, salt + i);
      return {
        c,
        steps: end === null ? [] : [end - 1, end],
        run: () => run.mfa.resync(userId, ...codes),
      };
    }
    if (c.m === 'recovery') {
      const code = run.recoveryCode(u, c.code, c.pick);
      return { c, steps: [], code, run: () => run.mfa.useRecoveryCode(userId, code) };
    }
    if (c.m === 'list') return { c, steps: [], run: () => run.mfa.listFactors(userId) };
    return { c, steps: [], run: () => run.mfa.status(userId) };
  });
  const results = (await Promise.all(planned.map((p) => p.run()))) as {
    ok?: boolean;
    reason?: string;
    factorId?: string;
  }[];
  const record = await run.record(u);
  const stored = projectRecord(record, run.now);
  for (const [i, p] of planned.entries()) tally(`parallel ${p.c.m}`, results[i]);

  // One acceptance per step per factor: accepted steps are new and disjoint.
  const acceptedSteps = new Map<string, number[]>();
  let otpChecked = 0;
  let otpOk = 0;
  const recoveryOk: string[] = [];
  for (const [i, p] of planned.entries()) {
    const result = results[i] as { ok?: boolean; reason?: string; factorId?: string };
    if (p.c.m === 'verify' || p.c.m === 'resync') {
      if (result.ok) {
        otpOk++;
        const factor = before.factors.find((f) => f.id === result.factorId);
        expect(factor, 'a code accepted for an unknown factor').toBeDefined();
        expect(p.steps.length, 'a code of no step was accepted').toBeGreaterThan(0);
        const steps = acceptedSteps.get(factor?.id as string) ?? [];
        for (const s of p.steps) {
          expect(s, 'an accepted step must be newer than the last').toBeGreaterThan(
            factor?.lastStep as number,
          );
          expect(steps, 'a step accepted twice').not.toContain(s);
          steps.push(s);
        }
        acceptedSteps.set(factor?.id as string, steps);
      }
      if (
        result.ok ||
        ['mismatch', 'replayed', 'resync_required', 'wrong_order', 'clock_skew'].includes(
          result.reason ?? '',
        )
      )
        otpChecked++;
    }
    if (p.c.m === 'recovery' && result.ok) {
      const canonical = normalizeRecoveryCode(p.code as string);
      const original = [...(run.issued[u] as Set<string>)].find(
        (x) => normalizeRecoveryCode(x) === canonical,
      );
      expect(original, 'an unknown recovery code was accepted').toBeDefined();
      expect(run.accepted[u]?.has(original as string), 'a recovery code accepted twice').toBe(
        false,
      );
      run.accepted[u]?.add(original as string);
      recoveryOk.push(original as string);
    }
  }
  expect(
    stored.factors.map((f) => f.id),
    'factors after parallel calls',
  ).toEqual(before.factors.map((f) => f.id));
  for (const [i, factor] of before.factors.entries()) {
    const steps = acceptedSteps.get(factor.id) ?? [];
    expect(stored.factors[i]?.lastStep, 'lastStep after parallel calls').toBe(
      steps.length > 0 ? Math.max(...steps) : factor.lastStep,
    );
  }
  // The budget: without a success, each checked code reserved exactly one
  // attempt, however many factors it was checked against.
  if (otpOk === 0 && recoveryOk.length === 0) {
    expect(stored.otp.failures, 'OTP failures after parallel calls').toBe(
      before.throttle.otp.failures + otpChecked,
    );
  }
  // The lock: attempts stop once the charged guesses reach the budget; the last
  // attempt granted may pass it by less than its weight (one per factor).
  const n = Math.max(1, before.factors.length);
  expect(stored.otp.guesses).toBeLessThanOrEqual(
    Math.max(POLICY.throttle.maxFailures + n - 1, before.throttle.otp.guesses),
  );
  expect(stored.recovery.guesses).toBeLessThanOrEqual(POLICY.recoveryThrottle.maxFailures);
  if (run.model.isLocked(before, 'otp') && recoveryOk.length === 0) {
    for (const [i, p] of planned.entries()) {
      if (
        (p.c.m === 'verify' || p.c.m === 'resync') &&
        before.factors.length > 0 &&
        !['malformed', 'same_code'].includes(results[i]?.reason ?? '')
      ) {
        expect(results[i], 'a locked user got a code checked').toEqual({
          ok: false,
          reason: 'locked',
        });
      }
    }
  }
  if (before.recovery) {
    expect(stored.recoveryRemaining).toBe(remaining(before) - recoveryOk.length);
  }
  // The model takes the store's state.
  const next = clone(before);
  for (const [i, f] of next.factors.entries()) {
    const { lastStep, drift, lastUsedAt } = stored.factors[i] as Projection['factors'][number];
    Object.assign(f, { lastStep, drift, lastUsedAt });
  }
  if (next.recovery)
    next.recovery.unused = next.recovery.unused.filter((code) => !recoveryOk.includes(code));
  next.throttle = { otp: stored.otp, recovery: stored.recovery };
  expect(stored).toEqual(expected(next, run.now));
  run.states[u] = next;
}

/**
 * Calls that change the factors, raced: whatever the interleaving, no call
 * fails, the limit and the unique names hold, and a user has a recovery set
 * exactly when it has a factor. The model then takes the store's state.
 */
async function race(run: Run, u: number, calls: Call[], salt: number) {
  const userId = run.users[u] as string;
  const before = run.states[u] as ModelUser;
  const beforeRecord = await run.record(u);
  const planned = calls.map((c, i): (() => Promise<unknown>) => {
    switch (c.m) {
      case 'import':
        return () =>
          run.mfa.importFactor(userId, {
            secret: importSecret(run, u, c, salt + i),
            ...(c.name === undefined ? {} : { name: c.name }),
            ...(c.lastStep === 'none' ? { lastStep: -1 } : {}),
            recoveryCodes: c.codes,
          });
      case 'complete': {
        const { codes } = run.pair(u, before.pending ?? undefined, c.pair, salt + i);
        return () => run.mfa.completeEnrollment(userId, ...codes);
      }
      case 'remove':
        return () => run.mfa.removeFactor(userId, run.factorId(u, c.f));
      case 'verify': {
        const { code } = run.code(u, run.factor(u, c.f), c.code, salt + i);
        return () => run.mfa.verify(userId, code);
      }
      case 'regenerate':
        return () => run.mfa.regenerateRecoveryCodes(userId);
      default:
        return () => run.mfa.disable(userId);
    }
  });
  // During an erasure guard, a call that would create state is refused whole.
  const erasedOnly = (error: unknown) => {
    if (
      error instanceof MFAError &&
      error.code === 'ERR_ERASED' &&
      run.model.erased(before, run.now)
    )
      return { erased: true };
    throw error;
  };
  const results = await Promise.all(planned.map((p) => p().catch(erasedOnly)));
  const record = await run.record(u);
  for (const [i, c] of calls.entries()) tally(`race ${c.m}`, results[i]);
  const factors = record?.factors ?? [];
  expect(factors.length, 'factors after a race').toBeLessThanOrEqual(POLICY.maxFactors);
  // A secret enters once: no two factors share a digest, however imports race.
  expect(new Set(factors.map((f) => f.secretDigest)).size, 'secrets after a race').toBe(
    factors.length,
  );
  if (run.model.erased(before, run.now)) {
    expect(record, 'state created during the erasure guard').toBeNull();
  }
  expect(new Set(factors.map((f) => nameKey(f.name))).size, 'names after a race').toBe(
    factors.length,
  );
  expect(record?.recoveryCodes != null, 'a recovery set exactly with a factor').toBe(
    factors.length > 0,
  );
  // Codes shown by a call: known to the caller from now on. The set the store
  // holds is the one shown last only if exactly one call showed a set.
  const shown = results
    .map((r) => (r as { recoveryCodes?: string[] } | null)?.recoveryCodes)
    .filter((codes): codes is string[] => Array.isArray(codes));
  for (const codes of shown) for (const code of codes) run.issued[u]?.add(code);
  if (shown.length > 1) for (const codes of shown) for (const c of codes) run.maybeLive[u]?.add(c);
  const setKept = record?.recoveryCodes?.salt === beforeRecord?.recoveryCodes?.salt;
  const count = record?.recoveryCodes?.hashes.length ?? 0;
  const next: ModelUser = {
    pending: record?.pending
      ? {
          id: record.pending.id,
          name: record.pending.name,
          secret: unseal(record.pending.sealedSecret),
          createdAt: record.pending.createdAt,
          expiresAt: record.pending.expiresAt,
          replaceFactorId: record.pending.replaceFactorId,
          previous: record.pending.previous
            ? {
                id: record.pending.previous.id,
                secret: unseal(record.pending.previous.sealedSecret),
                expiresAt: record.pending.previous.expiresAt,
              }
            : null,
        }
      : null,
    factors: factors.map((f) => ({
      id: f.id,
      name: f.name,
      secret: unseal(f.sealedSecret),
      lastStep: f.lastStep,
      drift: f.drift,
      createdAt: f.createdAt,
      activatedAt: f.activatedAt,
      lastUsedAt: f.lastUsedAt,
    })),
    recovery: !record?.recoveryCodes
      ? null
      : setKept && before.recovery
        ? before.recovery
        : shown.length === 1 && (shown[0] as string[]).length === count
          ? { unused: [...(shown[0] as string[])], unseen: 0 }
          : { unused: [], unseen: count },
    throttle: {
      otp: { ...(record?.throttle.otp ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
      recovery: { ...(record?.throttle.recovery ?? { failures: 0, guesses: 0, blockedUntil: 0 }) },
    },
    erasedUntil: before.erasedUntil,
  };
  expect(projectRecord(record, run.now)).toEqual(expected(next, run.now));
  run.states[u] = next;
}

async function execute(run: Run, steps: Step[]): Promise<void> {
  for (const [i, s] of steps.entries()) {
    run.log.push(JSON.stringify(s));
    if (s.kind === 'advance') run.now += s.ms;
    else if (s.kind === 'drift') run.offsets[s.user] = (run.offsets[s.user] as number) + s.by;
    else if (s.kind === 'call') await sequential(run, s.user, s.call, s.fault, i);
    else if (s.kind === 'parallel') await parallel(run, s.user, s.calls, i);
    else await race(run, s.user, s.calls, i);
  }
}

// ── the runs ─────────────────────────────────────────────────────────────────

/** A store the model test runs against: its name in the test's title, its CI run count, and how to make it. */
export interface ModelTestStore {
  name: string;
  /** Runs in CI (TOTPKIT_FUZZ_RUNS or TOTPKIT_FUZZ_SECONDS override it). */
  runs: number;
  /**
   * The store for one run. It may return the same store every time: each run
   * uses users of its own (`fuzz-1-0`, `fuzz-1-1`, `fuzz-2-0`, …).
   */
  make: () => Promise<MFAStore>;
}

let runs = 0;
/** How often each method gave each outcome: printed on long runs, to see what the fuzzer reaches. */
const stats = new Map<string, number>();
function tally(method: string, result: unknown): void {
  const r = result as { ok?: boolean; reason?: string; state?: string; code?: string } | null;
  const what =
    r instanceof Error
      ? `error ${(r as MFAError).code}`
      : typeof r === 'object' && r !== null
        ? (r.reason ?? r.state ?? (r.ok ? 'ok' : '?'))
        : String(r);
  const key = `${method} ${what}`;
  stats.set(key, (stats.get(key) ?? 0) + 1);
}

/**
 * One test per store: random calls, codes, clock moves, parallel calls and
 * store faults, checked against the reference model after every step.
 */
export function describeModelTest(stores: readonly ModelTestStore[]): void {
  describe('the MFA service against a reference model', () => {
    for (const { name, runs: ciRuns, make } of stores) {
      it(
        `${name}: random calls, codes, clock moves, parallel calls and store faults`,
        async () => {
          let done = 0;
          const started = Date.now();
          await fc.assert(
            fc.asyncProperty(
              // How many factors each user starts with (bound or imported through the
              // same checked calls), then the steps.
              fc.array(fc.nat(3), { minLength: USERS, maxLength: USERS }),
              fc.array(step, { minLength: 1, maxLength: 60, size: 'medium' }),
              async (enrolled, steps) => {
                const run = new Run(await make(), `fuzz-${++runs}`);
                done++;
                const setup: Step[] = enrolled.flatMap((count, user): Step[] => [
                  ...(count > 0
                    ? ([
                        {
                          kind: 'call',
                          user,
                          call: { m: 'begin', name: undefined, replace: null },
                          fault: null,
                        },
                        { kind: 'call', user, call: { m: 'complete', pair: 'now' }, fault: null },
                      ] as const)
                    : []),
                  ...(['Phone', 'Tablet'] as const)
                    .slice(0, Math.max(0, count - 1))
                    .map((name): Step => ({
                      kind: 'call',
                      user,
                      call: {
                        m: 'import',
                        secret: 'fresh',
                        f: 0,
                        name,
                        lastStep: 'none',
                        codes: true,
                      },
                      fault: null,
                    })),
                ]);
                await execute(run, [...setup, ...steps]);
              },
            ),
            {
              seed: SEED,
              numRuns: RUNS ?? (SECONDS ? 1e9 : ciRuns),
              ...(SECONDS
                ? { interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false }
                : {}),
            },
          );
          if (RUNS || SECONDS || process.env.TOTPKIT_FUZZ_STATS) {
            const counts = [...stats].sort(([a], [b]) => a.localeCompare(b));
            console.log(
              `${name}: ${done} runs in ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${SEED}\n` +
                counts.map(([key, n]) => `  ${key}: ${n}`).join('\n'),
            );
            stats.clear();
          }
        },
        SECONDS ? SECONDS * 1000 + 180_000 : RUNS ? 24 * 3_600_000 : 180_000,
      );
    }
  });
}
