/**
 * What every flow of the MFA service shares (internal): the checked options,
 * the clock, events (with the call's request context), sealing and opening
 * secrets, and the read and attempt reservation in front of every code check
 * (`attempts.ts`). The flows themselves live in `enrollment.ts`, `login.ts`,
 * `recovery-codes.ts`, `factors.ts`, `account.ts` and `devices.ts`;
 * `service.ts` puts them together behind the {@link MFA} interface, giving
 * each call its own context ({@link MFAContext.forCall}).
 * @module
 * @internal
 */
import { checkNow } from '../_assert.ts';
import { MFAError } from '../errors.ts';
import type {
  AttemptPolicy,
  FactorParams,
  MFAStore,
  RecoveryCodeSet,
  ThrottleScope,
} from '../store/contract.ts';
import { deliverEvent, type EventErrorHandler } from './_emit.ts';
import {
  readForAttempt,
  type Admitted,
  type AttemptHost,
  type Failure,
  type ReadForAttemptOptions,
  type Refusal,
} from './attempts.ts';
import type { SecretCipher } from './cipher.ts';
import type { MFAEvent } from './events.ts';
import type { MFAPolicy } from './policy.ts';
import { RecoveryCodeHasher } from './recovery-hash.ts';
import { checkRequestContext, type RequestContext } from './request-context.ts';
import { checkServiceOptions } from './service-options.ts';
import type { MFAOptions } from './types.ts';

export { isCipherError } from './attempts.ts';

/**
 * The service's checked options and the helpers every flow uses. One is made
 * by {@link createMFA}; each call works on {@link MFAContext.forCall}'s copy,
 * which carries that call's request context into its events.
 */
export class MFAContext implements AttemptHost {
  readonly store: MFAStore;
  readonly issuer: string;
  readonly cipher: SecretCipher;
  readonly clock: () => number;
  readonly policy: MFAPolicy;
  readonly params: FactorParams;
  readonly onEvent: ((event: MFAEvent) => unknown) | undefined;
  readonly onEventError: EventErrorHandler | undefined;
  readonly hasher: RecoveryCodeHasher;
  /**
   * The call's request context (checked, deep-frozen), added to every event
   * as `context`; `undefined` when the caller gave none. Never given to the
   * store, never read.
   */
  readonly requestContext: RequestContext | undefined;

  constructor(options: MFAOptions) {
    const settings = checkServiceOptions(options);
    this.store = settings.store;
    this.issuer = settings.issuer;
    this.cipher = settings.cipher;
    this.clock = settings.clock;
    this.policy = settings.policy;
    this.params = settings.params;
    this.onEvent = settings.onEvent;
    this.onEventError = settings.onEventError;
    this.hasher = new RecoveryCodeHasher();
    this.requestContext = undefined;
  }

  /**
   * The context of one call: the same service, with the call's
   * `options.context` checked and frozen for its events.
   *
   * @throws TypeError / RangeError naming `options.context`
   */
  forCall(context: unknown): MFAContext {
    const checked = checkRequestContext(context);
    const call = Object.create(this) as MFAContext;
    Object.defineProperty(call, 'requestContext', { value: checked, enumerable: true });
    return call;
  }

  now(): number {
    return checkNow(this.clock(), 'clock()');
  }

  /** Delivers an event to `onEvent`, with the call's request context if it has one. */
  emit(event: MFAEvent): void {
    const context = this.requestContext;
    deliverEvent(
      this.onEvent,
      this.onEventError,
      context === undefined ? event : { ...event, context },
    );
  }

  async seal(userId: string, secret: Uint8Array): Promise<string> {
    let sealed: unknown;
    try {
      sealed = await this.cipher.encrypt(secret, userId);
    } catch (cause) {
      if (cause instanceof MFAError) throw cause;
      throw new MFAError('ERR_CIPHER', 'cipher.encrypt failed', { cause });
    }
    if (typeof sealed !== 'string' || sealed.length === 0) {
      throw new MFAError('ERR_CIPHER', `cipher.encrypt must return a non-empty string`);
    }
    return sealed;
  }

  /**
   * Opens a sealed secret, runs `use` on it, then wipes the plaintext (best
   * effort: a JavaScript string or engine copy cannot be wiped). Codes were
   * validated before, so anything `use` throws comes from a corrupt record.
   */
  async withSecret<T>(userId: string, sealed: string, use: (secret: Uint8Array) => T): Promise<T> {
    let secret: unknown;
    try {
      secret = await this.cipher.decrypt(sealed, userId);
    } catch (cause) {
      if (cause instanceof MFAError) throw cause;
      throw new MFAError('ERR_CIPHER', 'cipher.decrypt failed', { cause });
    }
    if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > 1024) {
      throw new MFAError(
        'ERR_CIPHER',
        'cipher.decrypt must return a Uint8Array of 1 to 1024 bytes',
      );
    }
    try {
      return use(secret);
    } catch (cause) {
      throw new MFAError('ERR_STORE', 'the stored factor is invalid', { cause });
    } finally {
      secret.fill(0);
    }
  }

  /** A new set of recovery codes: the codes to show once, and the hashes to store. */
  createRecoverySet(userId: string): Promise<{ codes: string[]; set: RecoveryCodeSet }> {
    return this.hasher.createSet(
      this.policy.recoveryCodeCount,
      this.policy.recoveryCodeScrypt,
      userId,
    );
  }

  throttlePolicy(scope: ThrottleScope): Readonly<AttemptPolicy> {
    return scope === 'otp' ? this.policy.throttle : this.policy.recoveryThrottle;
  }

  /** Whether `scope` is locked at `guesses` charged guesses. */
  isLocked(scope: ThrottleScope, guesses: number): boolean {
    return guesses >= this.throttlePolicy(scope).maxFailures;
  }

  /**
   * The one answer to a store operation refused by an erasure guard (or that
   * found the user erased under it): nothing was written.
   */
  erased(): MFAError {
    const minutes = Math.round(this.policy.erasureGuardMs / 60_000);
    return new MFAError(
      'ERR_ERASED',
      `the user's data was erased (within the last ${minutes} minutes, ` +
        `policy.erasureGuardMs); nothing was written`,
    );
  }

  /** The read and the attempt reservation in front of every code check: see `attempts.ts`. */
  readForAttempt<R extends object>(
    options: ReadForAttemptOptions<R>,
  ): Promise<Admitted<Exclude<R, Failure>> | Extract<R, Failure> | Refusal> {
    return readForAttempt(this, options);
  }

  /** After a failed check: reports the lock if this attempt's guesses reached the budget. */
  failed(userId: string, scope: ThrottleScope, now: number, guesses: number): void {
    if (this.isLocked(scope, guesses)) {
      this.emit({ type: 'locked', userId, at: now, scope });
    }
  }
}
