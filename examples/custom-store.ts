// A custom MFAStore for a document database: one JSON document per user,
// every operation a read followed by a *conditional* write that succeeds only
// if the document's version is unchanged (compare-and-set), retried on
// conflict. That is how DynamoDB condition expressions, Firestore
// transactions, MongoDB version filters or etcd transactions make an update
// atomic; the same shape fits any of them.
//
// custom-store.test.ts checks it with the conformance suite from
// totpkit/testing, concurrency cases included: run `npm run examples`.
import {
  attemptDelayMs,
  type AttemptPolicy,
  type AttemptReservation,
  type MFAStore,
  type PendingActivation,
  type PendingEnrollment,
  type RecoveryCodeSet,
  type ThrottleScope,
  type UserRecord,
} from 'totpkit';

/** What the store needs from the database: versioned reads and conditional writes. */
export interface VersionedDocuments {
  /** Reads a document and its version, or `null` if there is none. */
  get(key: string): Promise<{ value: string; version: number } | null>;
  /**
   * Writes `value` only if the document's version is still `expected` (`null`:
   * only if it does not exist). Returns whether it was written.
   */
  put(key: string, value: string, expected: number | null): Promise<boolean>;
}

/**
 * An in-memory stand-in for the database. Each call yields to the event loop
 * first, like a network round trip, so concurrent operations really interleave
 * between the read and the write.
 */
export class InMemoryDocuments implements VersionedDocuments {
  readonly #docs = new Map<string, { value: string; version: number }>();

  async get(key: string): Promise<{ value: string; version: number } | null> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.#docs.get(key) ?? null;
  }

  async put(key: string, value: string, expected: number | null): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    const current = this.#docs.get(key);
    if ((current?.version ?? null) !== expected) return false;
    this.#docs.set(key, { value, version: (current?.version ?? 0) + 1 });
    return true;
  }
}

/** The user document: a UserRecord without the id. */
type UserDocument = Omit<UserRecord, 'userId'>;

const emptyDocument = (): UserDocument => ({
  active: null,
  pending: null,
  recoveryCodes: null,
  throttle: { otp: { failures: 0, blockedUntil: 0 }, recovery: { failures: 0, blockedUntil: 0 } },
});

/** Whether a document holds nothing: no factor, enrollment, codes or failures. */
const isEmpty = (doc: UserDocument): boolean =>
  !doc.active &&
  !doc.pending &&
  !doc.recoveryCodes &&
  doc.throttle.otp.failures === 0 &&
  doc.throttle.recovery.failures === 0;

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
    const key = this.#prefix + userId;
    for (let attempt = 0; attempt < 1000; attempt++) {
      const stored = await this.#db.get(key);
      const doc = stored === null ? null : (JSON.parse(stored.value) as UserDocument);
      const { write, result } = decide(doc);
      if (write === undefined) return result;
      if (await this.#db.put(key, JSON.stringify(write), stored?.version ?? null)) return result;
    }
    throw new Error('DocumentStore: too much contention on one user document');
  }

  async getUser(userId: string): Promise<UserRecord | null> {
    const stored = await this.#db.get(this.#prefix + userId);
    const doc = stored === null ? null : (JSON.parse(stored.value) as UserDocument);
    // The contract: null for a user the store has nothing for.
    return doc === null || isEmpty(doc) ? null : { userId, ...doc };
  }

  putPending(userId: string, pending: PendingEnrollment, replaceActive: boolean): Promise<boolean> {
    return this.#update(userId, (doc) => {
      if (doc?.active && !replaceActive) return { result: false };
      return { write: { ...(doc ?? emptyDocument()), pending }, result: true };
    });
  }

  activatePending(
    userId: string,
    pendingId: string,
    activation: PendingActivation,
  ): Promise<boolean> {
    return this.#update(userId, (doc) => {
      const pending = doc?.pending;
      if (!doc || !pending || pending.id !== pendingId || activation.now >= pending.expiresAt) {
        return { result: false };
      }
      const { id: _pendingId, createdAt: _createdAt, expiresAt: _expiresAt, ...factor } = pending;
      return {
        write: {
          ...emptyDocument(), // resets both throttle scopes
          active: {
            ...factor,
            id: activation.factorId,
            lastStep: activation.lastStep,
            drift: activation.drift,
            activatedAt: activation.now,
          },
          recoveryCodes: activation.recoveryCodes,
        },
        result: true,
      };
    });
  }

  reserveAttempt(
    userId: string,
    scope: ThrottleScope,
    now: number,
    policy: AttemptPolicy,
  ): Promise<AttemptReservation> {
    return this.#update<AttemptReservation>(userId, (found) => {
      const doc = found ?? emptyDocument();
      const state = doc.throttle[scope];
      if (state.failures >= policy.maxFailures) return { result: { ok: false, reason: 'locked' } };
      if (now < state.blockedUntil) {
        return {
          result: { ok: false, reason: 'throttled', retryAfterMs: state.blockedUntil - now },
        };
      }
      const failures = state.failures + 1;
      const throttle = {
        ...doc.throttle,
        [scope]: { failures, blockedUntil: now + attemptDelayMs(policy, failures) },
      };
      return { write: { ...doc, throttle }, result: { ok: true, failures } };
    });
  }

  recordSuccess(userId: string, factorId: string, step: number, drift: number): Promise<boolean> {
    return this.#update(userId, (doc) => {
      if (!doc?.active || doc.active.id !== factorId || step <= doc.active.lastStep) {
        return { result: false };
      }
      return {
        write: {
          ...doc,
          active: { ...doc.active, lastStep: step, drift },
          throttle: { ...doc.throttle, otp: { failures: 0, blockedUntil: 0 } },
        },
        result: true,
      };
    });
  }

  replaceRecoveryCodes(userId: string, factorId: string, codes: RecoveryCodeSet): Promise<boolean> {
    return this.#update(userId, (doc) =>
      doc?.active?.id === factorId
        ? { write: { ...doc, recoveryCodes: codes }, result: true }
        : { result: false },
    );
  }

  replaceSealedSecret(userId: string, factorId: string, sealedSecret: string): Promise<boolean> {
    return this.#update(userId, (doc) =>
      doc?.active?.id === factorId
        ? { write: { ...doc, active: { ...doc.active, sealedSecret } }, result: true }
        : { result: false },
    );
  }

  consumeRecoveryCode(userId: string, hash: string): Promise<boolean> {
    return this.#update(userId, (doc) => {
      const codes = doc?.recoveryCodes;
      if (!doc || !codes || !codes.hashes.includes(hash)) return { result: false };
      return {
        write: {
          ...doc,
          recoveryCodes: { ...codes, hashes: codes.hashes.filter((h) => h !== hash) },
          throttle: emptyDocument().throttle, // a recovery code unlocks both scopes
        },
        result: true,
      };
    });
  }

  resetThrottle(userId: string, scope: ThrottleScope): Promise<void> {
    return this.#update(userId, (doc) =>
      doc === null
        ? { result: undefined }
        : {
            write: {
              ...doc,
              throttle: { ...doc.throttle, [scope]: { failures: 0, blockedUntil: 0 } },
            },
            result: undefined,
          },
    );
  }

  deleteFactor(userId: string): Promise<boolean> {
    return this.#update(userId, (doc) => {
      if (!doc || (!doc.active && !doc.pending && !doc.recoveryCodes)) return { result: false };
      // The throttle state stays: disabling must not reset a lock.
      return { write: { ...emptyDocument(), throttle: doc.throttle }, result: true };
    });
  }
}
