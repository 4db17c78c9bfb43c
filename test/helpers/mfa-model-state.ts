/**
 * The reference model's state (test/helpers/mfa-model.ts): a user's
 * factors, pending enrollment, recovery codes, throttle and erasure guard,
 * what a call returns, and the projection compared with a store's record.
 */
import type { AttemptPolicy } from '../../src/store/contract.ts';
import { emptyAccount, type ModelAccount } from './account-model.ts';

export const PERIOD_MS = 30_000;

export interface ModelPolicy {
  window: number;
  bindingWindow: number;
  maxDrift: number;
  maxFactors: number;
  pendingTtlMs: number;
  throttle: AttemptPolicy;
  recoveryThrottle: AttemptPolicy;
  recoveryCodeCount: number;
  erasureGuardMs: number;
}

export interface Throttle {
  failures: number;
  guesses: number;
  blockedUntil: number;
}

export interface ModelFactor {
  id: string;
  name: string;
  secret: Uint8Array;
  lastStep: number;
  drift: number;
  createdAt: number;
  activatedAt: number;
  lastUsedAt: number | null;
}

export interface ModelPending {
  id: string;
  name: string;
  secret: Uint8Array;
  createdAt: number;
  expiresAt: number;
  replaceFactorId: string | null;
  /** The enrollment this one replaced while it was unexpired (issue 12: stale_qr), or null. */
  previous: { id: string; secret: Uint8Array; expiresAt: number } | null;
}

/** Steps searched each side for a skewed clock: the default, one day of 30 s steps. */
export const SKEW_SEARCH = 2880;

export interface ModelUser {
  pending: ModelPending | null;
  /** In createdAt order (then id), as listFactors returns them. */
  factors: ModelFactor[];
  /** Unused codes the caller saw, and how many more unused codes exist that it never saw. */
  recovery: { unused: string[]; unseen: number } | null;
  throttle: { otp: Throttle; recovery: Throttle };
  /** Until when no call may create state, after deleteUserData; `null` if never erased. */
  erasedUntil: number | null;
  /** Issues 20 and 21: generation, codes, budgets, sends, proofs, devices (test/helpers/account-model.ts). */
  account: ModelAccount;
}

export const emptyUser = (): ModelUser => ({
  pending: null,
  factors: [],
  recovery: null,
  throttle: { otp: fresh(), recovery: fresh() },
  erasedUntil: null,
  account: emptyAccount(),
});

export const clone = (user: ModelUser): ModelUser => structuredClone(user);

/** What a call returns: `result` to compare, `next` state, and the states after a first write. */
export interface Outcome {
  result: unknown;
  next: ModelUser;
  /** The state with only the attempt reserved (or, for unlock of both scopes, the first reset). */
  reserved?: ModelUser;
  /** For a resync, the state after it claimed the first code's step only (its second write). */
  partial?: ModelUser;
}

export function remaining(user: ModelUser): number {
  return user.recovery ? user.recovery.unused.length + user.recovery.unseen : 0;
}

/** The part of a user's state a store record shows, for comparing model and store. */
export interface Projection {
  pending: {
    id: string;
    name: string;
    expiresAt: number;
    replaceFactorId: string | null;
    /** The replaced enrollment kept for stale_qr: its id and expiry. */
    previous: { id: string; expiresAt: number } | null;
  } | null;
  factors: {
    id: string;
    name: string;
    lastStep: number;
    drift: number;
    createdAt: number;
    activatedAt: number;
    lastUsedAt: number | null;
  }[];
  recoveryRemaining: number | null;
  otp: Throttle;
  recovery: Throttle;
}

export function project(user: ModelUser): Projection {
  const p = user.pending;
  return {
    pending: p
      ? {
          id: p.id,
          name: p.name,
          expiresAt: p.expiresAt,
          replaceFactorId: p.replaceFactorId,
          previous: p.previous ? { id: p.previous.id, expiresAt: p.previous.expiresAt } : null,
        }
      : null,
    factors: user.factors.map(
      ({ id, name, lastStep, drift, createdAt, activatedAt, lastUsedAt }) => ({
        id,
        name,
        lastStep,
        drift,
        createdAt,
        activatedAt,
        lastUsedAt,
      }),
    ),
    recoveryRemaining: user.recovery ? remaining(user) : null,
    otp: { ...user.throttle.otp },
    recovery: { ...user.throttle.recovery },
  };
}

export function fresh(): Throttle {
  return { failures: 0, guesses: 0, blockedUntil: 0 };
}
