// A custom MFAStore for a document database: one JSON document per user,
// every operation a read followed by a *conditional* write that succeeds only
// if the document's version is unchanged (compare-and-set), retried on
// conflict. That is how DynamoDB condition expressions, Firestore
// transactions, MongoDB version filters or etcd transactions make an update
// atomic; the same shape fits any of them.
//
// The database it needs is an interface of two calls (versioned-documents.ts,
// with an in-memory stand-in). custom-store.test.ts checks it with the
// conformance suite from totpkit/testing, concurrency cases included: run
// `npm run examples`.
import {
  attemptDelayMs,
  checkUserId,
  type AccountUpdateOutcome,
  type AccountWrite,
  type AccountWriteOptions,
  type ActiveFactor,
  type AddFactorOptions,
  type AddFactorResult,
  type AttemptReservation,
  type DeleteFactorsOutcome,
  type DeleteUserOptions,
  type FactorChangeOptions,
  type FactorRemoval,
  type FactorRenameOutcome,
  type MFAStore,
  type PendingActivation,
  type PendingEnrollment,
  type PutPendingOptions,
  type PutPendingOutcome,
  type RecoveryCodeSet,
  type RefundAttemptOptions,
  type ReplaceRecoveryCodesOutcome,
  type ReserveAttemptOptions,
  type ResetUserOutcome,
  type ThrottleScope,
  type ThrottleState,
  type UserRecord,
} from 'totpkit/store';
import type { VersionedDocuments } from './versioned-documents.ts';

/**
 * The user document: a UserRecord without the id, and the erasure guard:
 * `erasedUntil`, the end of the guard `deleteUser` left (absent: none).
 */
type UserDocument = Omit<UserRecord, 'userId'> & { erasedUntil?: number };

const fresh = (): ThrottleState => ({ failures: 0, guesses: 0, blockedUntil: 0 });

const emptyDocument = (): UserDocument => ({
  factors: [],
  pending: null,
  recoveryCodes: null,
  throttle: { otp: fresh(), recovery: fresh() },
  account: null,
  accountVersion: 0,
});

/** Whether the erasure guard of `doc` is in force at `at`: nothing may be created then. */
const erased = (doc: UserDocument | null, at: number): boolean =>
  doc?.erasedUntil !== undefined && at < doc.erasedUntil;

/** Whether a document holds nothing: no factor, enrollment, codes or failures. */
const isEmpty = (doc: UserDocument): boolean =>
  doc.factors.length === 0 &&
  !doc.pending &&
  !doc.recoveryCodes &&
  doc.throttle.otp.failures === 0 &&
  doc.throttle.recovery.failures === 0 &&
  doc.account === null;

/**
 * Whether an account write may be made on `doc`: the account version is
 * still the one the service read (0 for a document without one).
 */
const current = (doc: UserDocument | null, write: AccountWrite | undefined): boolean =>
  write === undefined || (doc?.accountVersion ?? 0) === write.version;

/** `doc` with the account write made (the version moves by one). */
const written = (doc: UserDocument, write: AccountWrite | undefined): UserDocument =>
  write === undefined ? doc : { ...doc, account: write.account, accountVersion: write.version + 1 };

/** Reads a stored document; one written before the account state (0.2) has none. */
const parse = (value: string): UserDocument => {
  const doc = JSON.parse(value) as UserDocument;
  return { ...doc, account: doc.account ?? null, accountVersion: doc.accountVersion ?? 0 };
};

/** What an update function decides: the document to write (or none) and the result. */
type Decision<T> = { write?: UserDocument; result: T };

export class DocumentStore implements MFAStore {
  readonly #db: VersionedDocuments;
  readonly #prefix: string;

  constructor(db: VersionedDocuments, { prefix = 'mfa:' }: { prefix?: string } = {}) {
    this.#db = db;
    this.#prefix = prefix;
  }

  /**
   * The one primitive: read the document, decide, write it back only if nobody
   * wrote in between; on a conflict, decide again from the newer document.
   * Every decision is thus made on the document it replaces: atomic.
   */
  async #update<T>(userId: string, decide: (doc: UserDocument | null) => Decision<T>): Promise<T> {
    // The contract: every method refuses an ill-formed id itself.
    const key = this.#prefix + checkUserId(userId);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const stored = await this.#db.get(key);
      const doc = stored === null ? null : parse(stored.value);
      const { write, result } = decide(doc);
      if (write === undefined) return result;
      if (await this.#db.put(key, JSON.stringify(write), stored?.version ?? null)) return result;
    }
    throw new Error('DocumentStore: too much contention on one user document');
  }

  async getUser(userId: string): Promise<UserRecord | null> {
    const stored = await this.#db.get(this.#prefix + checkUserId(userId));
    const doc = stored === null ? null : parse(stored.value);
    // The contract: null for a user the store has nothing for.
    if (doc === null || isEmpty(doc)) return null;
    const { erasedUntil: _guard, ...record } = doc;
    return { userId, ...record };
  }

  putPending(
    userId: string,
    pending: PendingEnrollment,
    options: PutPendingOptions = {},
  ): Promise<PutPendingOutcome> {
    return this.#update<PutPendingOutcome>(userId, (doc) => {
      if (erased(doc, pending.createdAt)) return { result: 'erased' };
      if (!current(doc, options.account)) return { result: 'conflict' };
      // The enrollment this one replaces, if unexpired, is kept as `previous`
      // (its codes are then recognised as a stale QR code); only the last one.
      const old = doc?.pending;
      const previous =
        old && old.id !== pending.id && pending.createdAt < old.expiresAt
          ? {
              id: old.id,
              sealedSecret: old.sealedSecret,
              algorithm: old.algorithm,
              digits: old.digits,
              period: old.period,
              expiresAt: old.expiresAt,
            }
          : null;
      return {
        write: written(
          { ...(doc ?? emptyDocument()), pending: { ...pending, previous } },
          options.account,
        ),
        result: 'stored',
      };
    });
  }

  /**
   * Adds `factor` if the secret is new to the user and the limit and the name
   * allow, removing `replaceFactorId`.
   */
  #add(
    doc: UserDocument,
    factor: ActiveFactor,
    replaceFactorId: string | null,
    options: AddFactorOptions,
  ): Decision<AddFactorResult> {
    const kept = doc.factors.filter((f) => f.id !== replaceFactorId);
    // A secret enters once: compared by its digest (null, a 0.2 factor: unknown).
    const twin = kept.find(
      (f) => f.secretDigest !== null && f.secretDigest === factor.secretDigest,
    );
    if (twin !== undefined) {
      return { result: { ok: false, reason: 'duplicate_secret', factorId: twin.id } };
    }
    if (kept.length + 1 > options.maxFactors) {
      return { result: { ok: false, reason: 'factor_limit' } };
    }
    if (kept.some((f) => f.nameKey === factor.nameKey)) {
      return { result: { ok: false, reason: 'name_taken' } };
    }
    const firstFactor = doc.factors.length === 0;
    const factors = [...kept, factor].sort(
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1),
    );
    return {
      write: written(
        { ...doc, factors, recoveryCodes: firstFactor ? options.recoveryCodes : doc.recoveryCodes },
        options.account,
      ),
      result: { ok: true, firstFactor, replaced: kept.length < doc.factors.length },
    };
  }

  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<AddFactorResult> {
    return this.#update(userId, (doc) => {
      if (erased(doc, activation.now)) return { result: { ok: false, reason: 'erased' } };
      if (!current(doc, activation.account)) return { result: { ok: false, reason: 'conflict' } };
      const pending = doc?.pending;
      if (!doc || !pending || pending.id !== pendingId || !(activation.now < pending.expiresAt)) {
        return { result: { ok: false, reason: 'not_pending' } };
      }
      const { expiresAt: _expiresAt, replaceFactorId, previous: _previous, ...rest } = pending;
      const factor: ActiveFactor = {
        ...rest,
        // The parameters the user's app used, if the service bound those.
        ...activation.params,
        lastStep: activation.lastStep,
        drift: activation.drift,
        activatedAt: activation.now,
        lastUsedAt: null,
      };
      const decision = this.#add(doc, factor, replaceFactorId, activation);
      if (decision.write === undefined) return decision;
      // The enrollment is used up, and a bound factor resets both scopes.
      return {
        ...decision,
        write: { ...decision.write, pending: null, throttle: emptyDocument().throttle },
      };
    });
  }

  addFactor(
    userId: string,
    factor: ActiveFactor,
    options: AddFactorOptions,
  ): Promise<AddFactorResult> {
    return this.#update(userId, (doc) => {
      if (erased(doc, factor.activatedAt)) return { result: { ok: false, reason: 'erased' } };
      if (!current(doc, options.account)) return { result: { ok: false, reason: 'conflict' } };
      return this.#add(doc ?? emptyDocument(), factor, null, options);
    });
  }

  reserveAttempt(userId: string, options: ReserveAttemptOptions): Promise<AttemptReservation> {
    const { scope, now, policy, weight } = options;
    return this.#update<AttemptReservation>(userId, (doc) => {
      if (erased(doc, now)) return { result: { ok: false, reason: 'erased' } };
      const current = doc ?? emptyDocument();
      const state = current.throttle[scope];
      // Locked once the charged guesses (each attempt weighs the secrets it is
      // compared with) reach the budget, whatever factors the user has now.
      if (state.guesses >= policy.maxFailures) return { result: { ok: false, reason: 'locked' } };
      if (now < state.blockedUntil) {
        return {
          result: { ok: false, reason: 'throttled', retryAfterMs: state.blockedUntil - now },
        };
      }
      const failures = state.failures + 1;
      const guesses = state.guesses + weight;
      const throttle = {
        ...current.throttle,
        [scope]: { failures, guesses, blockedUntil: now + attemptDelayMs(policy, failures) },
      };
      return { write: { ...current, throttle }, result: { ok: true, failures, guesses } };
    });
  }

  recordSuccess(
    userId: string,
    factorId: string,
    step: number,
    drift: number,
    now: number,
  ): Promise<boolean> {
    return this.#update(userId, (doc) => {
      const factor = doc?.factors.find((f) => f.id === factorId);
      if (!doc || !factor || step <= factor.lastStep) return { result: false };
      const factors = doc.factors.map((f) =>
        f.id === factorId ? { ...f, lastStep: step, drift, lastUsedAt: now } : f,
      );
      const throttle = { ...doc.throttle, otp: fresh() };
      return { write: { ...doc, factors, throttle }, result: true };
    });
  }

  replaceRecoveryCodes(
    userId: string,
    codes: RecoveryCodeSet,
    { account }: FactorChangeOptions,
  ): Promise<ReplaceRecoveryCodesOutcome> {
    return this.#update<ReplaceRecoveryCodesOutcome>(userId, (doc) => {
      if (!current(doc, account)) return { result: 'conflict' };
      if (!doc || doc.factors.length === 0) return { result: 'no_factor' };
      return { write: written({ ...doc, recoveryCodes: codes }, account), result: 'replaced' };
    });
  }

  replaceSealedSecret(userId: string, id: string, sealedSecret: string): Promise<boolean> {
    return this.#update(userId, (doc) => {
      if (doc?.factors.some((f) => f.id === id)) {
        const factors = doc.factors.map((f) => (f.id === id ? { ...f, sealedSecret } : f));
        return { write: { ...doc, factors }, result: true };
      }
      if (doc?.pending?.id === id) {
        return { write: { ...doc, pending: { ...doc.pending, sealedSecret } }, result: true };
      }
      const previous = doc?.pending?.previous;
      if (doc?.pending && previous?.id === id) {
        const pending = { ...doc.pending, previous: { ...previous, sealedSecret } };
        return { write: { ...doc, pending }, result: true };
      }
      return { result: false };
    });
  }

  consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#update(userId, (doc) => {
      const codes = doc?.recoveryCodes;
      if (!doc || !codes || !codes.hashes.includes(hash)) return { result: false };
      const index = codes.hashes.indexOf(hash);
      const hashes = [...codes.hashes.slice(0, index), ...codes.hashes.slice(index + 1)];
      return {
        write: { ...doc, recoveryCodes: { ...codes, hashes }, throttle: emptyDocument().throttle },
        result: true,
      };
    });
  }

  resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    return this.#update(userId, (doc) =>
      doc
        ? {
            write: {
              ...doc,
              throttle: { ...doc.throttle, [scope]: fresh() },
            },
            result: undefined,
          }
        : { result: undefined },
    );
  }

  refundAttempt(userId: string, options: RefundAttemptOptions): Promise<boolean> {
    const { scope, failures, guesses, weight, blockedUntil } = options;
    return this.#update(userId, (doc) => {
      const state = doc?.throttle[scope];
      if (!doc || failures < 1 || state?.failures !== failures || state.guesses !== guesses) {
        return { result: false };
      }
      const refunded = {
        failures: failures - 1,
        guesses: Math.max(0, guesses - weight),
        blockedUntil,
      };
      return { write: { ...doc, throttle: { ...doc.throttle, [scope]: refunded } }, result: true };
    });
  }

  renameFactor(
    userId: string,
    factorId: string,
    name: string,
    nameKey: string,
  ): Promise<FactorRenameOutcome> {
    return this.#update<FactorRenameOutcome>(userId, (doc) => {
      if (!doc?.factors.some((f) => f.id === factorId)) return { result: 'not_found' };
      if (doc.factors.some((f) => f.id !== factorId && f.nameKey === nameKey)) {
        return { result: 'name_taken' };
      }
      const factors = doc.factors.map((f) => (f.id === factorId ? { ...f, name, nameKey } : f));
      return { write: { ...doc, factors }, result: 'renamed' };
    });
  }

  removeFactor(
    userId: string,
    factorId: string,
    { account }: FactorChangeOptions,
  ): Promise<FactorRemoval | 'conflict'> {
    return this.#update<FactorRemoval | 'conflict'>(userId, (doc) => {
      if (!current(doc, account)) return { result: 'conflict' };
      const factors = doc?.factors.filter((f) => f.id !== factorId) ?? [];
      if (!doc || factors.length === doc.factors.length) {
        return { result: { removed: false, remaining: factors.length } };
      }
      // The last factor takes the enrollment and the recovery codes with it.
      const write =
        factors.length === 0
          ? { ...doc, factors, pending: null, recoveryCodes: null }
          : { ...doc, factors };
      return {
        write: written(write, account),
        result: { removed: true, remaining: factors.length },
      };
    });
  }

  deleteFactors(userId: string, { account }: FactorChangeOptions): Promise<DeleteFactorsOutcome> {
    return this.#update<DeleteFactorsOutcome>(userId, (doc) => {
      if (!current(doc, account)) return { result: 'conflict' };
      if (!doc || (doc.factors.length === 0 && !doc.pending && !doc.recoveryCodes)) {
        return { result: 'nothing' };
      }
      const write = { ...doc, factors: [], pending: null, recoveryCodes: null };
      return { write: written(write, account), result: 'deleted' };
    });
  }

  updateAccount(userId: string, options: AccountWriteOptions): Promise<AccountUpdateOutcome> {
    return this.#update<AccountUpdateOutcome>(userId, (doc) => {
      if (erased(doc, options.now)) return { result: 'erased' };
      if (!current(doc, options)) return { result: 'conflict' };
      return { write: written(doc ?? emptyDocument(), options), result: 'updated' };
    });
  }

  resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
    return this.#update<ResetUserOutcome>(userId, (doc) => {
      if (erased(doc, options.now)) return { result: 'erased' };
      if (!current(doc, options)) return { result: 'conflict' };
      // Everything goes, both throttle scopes included; the document is written.
      return { write: written(emptyDocument(), options), result: 'reset' };
    });
  }

  deleteUser(userId: string, { now, guardMs }: DeleteUserOptions): Promise<boolean> {
    // An empty document reads as "nothing" (the database has no delete here);
    // it keeps the erasure guard, so that calls in flight create nothing.
    return this.#update(userId, (doc) => ({
      write: { ...emptyDocument(), erasedUntil: now + guardMs },
      result: doc !== null && !isEmpty(doc),
    }));
  }
}
