/**
 * The model test's system under test (test/helpers/model-run.ts): a store
 * wrapper that injects faults, a plaintext cipher so secrets can be read
 * back, the projection of a stored record for comparing with the reference
 * model, and {@link Run}: one run's service, users, clocks and the codes it
 * makes for them.
 */
import { expect } from 'vitest';
import { createMFA, MFAError, type MFA, type MFAStore } from '../../src/index.ts';
import type { UserRecord } from '../../src/store.ts';
import { REQUIRED_STORE_METHODS } from '../../src/store/throttle.ts';
import {
  codeAt,
  emptyUser,
  Model,
  project,
  stepOf,
  type ModelFactor,
  type ModelUser,
  type Projection,
} from './mfa-model.ts';
import { AccountModel } from './account-model.ts';
import {
  ACCOUNT_POLICY,
  CHEAP_SCRYPT,
  purposes,
  POLICY,
  T0,
  USERS,
  type CodeKind,
  type FactorPick,
  type PairKind,
  type RecoveryKind,
} from './model-steps.ts';

/** A store that fails its N-th operation of the armed call, before or after running it. */
export class FaultyStore {
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
      ...(['updateAccount', 'resetUser'] as const).filter(
        (n) => !(REQUIRED_STORE_METHODS as readonly string[]).includes(n),
      ),
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
export const cipher = {
  encrypt: async (plaintext: Uint8Array) => `plain.${Buffer.from(plaintext).toString('base64url')}`,
  decrypt: async (sealed: string) => new Uint8Array(Buffer.from(sealed.slice(6), 'base64url')),
  needsReencryption: () => true,
};
export const unseal = (sealed: string) => new Uint8Array(Buffer.from(sealed.slice(6), 'base64url'));

export function projectRecord(record: UserRecord | null, now: number): Projection {
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
export function expected(user: ModelUser, now: number): Projection {
  const p = project(user);
  return p.pending && p.pending.expiresAt <= now ? { ...p, pending: null } : p;
}

/** The comparable part of a result. */
export function summary(result: unknown): unknown {
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
  // 0.3: disable says { disabled, generation } (the generation is checked apart).
  if ('disabled' in r) return r.disabled;
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
export class Run {
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

  /** Issues 20 and 21: the rules of the account document, and what the test saw of it. */
  readonly account: AccountModel;
  readonly key = new Uint8Array(32).fill(7);
  /** Messages the sender was given; the next send throws when `senderFails`. */
  readonly outbox: { userId: string; code: string; purpose: string; destination: string }[] = [];
  senderFails = false;
  /** The code last given to the sender, failing or not (it must appear in no error). */
  lastAttempt: string | null = null;
  /** Every token (proof, device) and code the test was given, by its stored hash. */
  readonly byHash = new Map<string, string>();
  /** Proofs and devices given to each user (tokens), and device ids. */
  readonly proofsGiven: { token: string; purpose: string; expiresAt: number }[][];
  readonly devicesGiven: { token: string; id: string }[][];

  constructor(inner: MFAStore, prefix: string, proofRule: 'seed' | 'any' | 'none' = 'none') {
    this.faulty = new FaultyStore(inner);
    this.account = new AccountModel({ ...ACCOUNT_POLICY, proofRule });
    const required = Object.fromEntries(purposes.slice(0, 5).map((p) => [p, proofRule]));
    this.mfa = createMFA({
      store: this.faulty.store(),
      issuer: 'Fuzz',
      cipher,
      clock: () => this.now,
      verification: {
        key: this.key,
        sender: async (message: {
          userId: string;
          code: string;
          purpose: string;
          destination: string;
        }) => {
          this.lastAttempt = message.code;
          if (this.senderFails) throw new Error(`provider refused code ${message.code}`);
          this.outbox.push({ ...message });
        },
      },
      policy: {
        ...POLICY,
        recoveryCodeScrypt: CHEAP_SCRYPT,
        verificationCodes: ACCOUNT_POLICY.codes,
        proofs: { ttlMs: ACCOUNT_POLICY.proofTtlMs, required },
        rememberedDevices: ACCOUNT_POLICY.devices,
      },
    } as Parameters<typeof createMFA>[0]);
    this.users = Array.from({ length: USERS }, (_, i) => `${prefix}-${i}`);
    this.states = this.users.map(emptyUser);
    this.offsets = this.users.map(() => 0);
    this.issued = this.users.map(() => new Set());
    this.accepted = this.users.map(() => new Set());
    this.maybeLive = this.users.map(() => new Set());
    this.proofsGiven = this.users.map(() => []);
    this.devicesGiven = this.users.map(() => []);
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

/** How often each method gave each outcome: printed on long runs, to see what the fuzzer reaches. */
export const stats = new Map<string, number>();
export function tally(method: string, result: unknown): void {
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
