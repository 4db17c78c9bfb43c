/**
 * Out-of-band verification codes (internal): the identity step before a
 * first enrollment, and an app's own re-verifications. A code is made here
 * (CSPRNG, `policy.verificationCodes.length` digits), handed to the app's
 * `sender`, and stored only as a keyed hash bound to user, purpose and
 * destination:
 *
 *   codeHash = base64url(HMAC-SHA-256(key, "totpkit code v1\0" ‖ userId ‖
 *   "\0" ‖ purpose ‖ "\0" ‖ destinationKey ‖ "\0" ‖ code))
 *
 * Every rule is judged in memory on the account document and made final by
 * one compare-and-set write (account-state.ts): one live code per purpose,
 * the per-code cap and the per-purpose budget charged before the answer is
 * decided (so parallel guesses never exceed either), the resend cooldown and
 * the daily caps counted before the sender runs and taken back if it fails.
 * Answers do not depend on whether the user exists or has a factor.
 * @module
 * @internal
 */
import { checkOptions, describe, describeType, isWellFormedText } from '../_assert.ts';
import { encodeBase64url, utf8 } from '../_encoding.ts';
import { timingSafeEqual } from '../compare.ts';
import { MFAError } from '../errors.ts';
import type { AccountState, SendCounter } from '../store/contract.ts';
import { SEND_WINDOW_MS } from './account-policy.ts';
import { updateAccountState } from './account-state.ts';
import type {
  CheckVerificationCodeFailure,
  CheckVerificationCodeOptions,
  CheckVerificationCodeResult,
  SendVerificationCodeOptions,
  SendVerificationCodeResult,
  VerificationMessage,
  VerificationOptions,
} from './account-types.ts';
import type { MFAContext } from './context.ts';
import { checkUserId } from './input.ts';
import { addProof } from './proofs.ts';
import {
  checkChannel,
  checkDestination,
  checkPurpose,
  destinationKey,
  maskDestination,
} from './verification-input.ts';

const CODE_TAG = 'totpkit code v1\0';

/** A WebCrypto key (the type is not global in every lib setting). */
type HMACKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

/** A send refused by the cooldown or a cap. */
type SendRefusal = Extract<SendVerificationCodeResult, { ok: false }>;

/** The checked `verification` option: the sender and the HMAC key (non-extractable). */
export class Verifier {
  readonly #sender: (message: VerificationMessage) => Promise<void>;
  readonly #key: Promise<HMACKey>;

  constructor(options: VerificationOptions) {
    const { sender, key } = checkOptions(options, 'verification');
    if (typeof sender !== 'function') {
      throw new TypeError(`"verification.sender" must be a function, got ${describe(sender)}`);
    }
    if (!(key instanceof Uint8Array) || key.length < 32) {
      throw new TypeError(
        `"verification.key" must be a Uint8Array of at least 32 random bytes, got ${describe(key)}`,
      );
    }
    this.#sender = sender;
    const copy = key.slice();
    this.#key = globalThis.crypto.subtle
      .importKey('raw', copy, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      .finally(() => copy.fill(0));
    // A failure surfaces at the first send or check; none is left unhandled meanwhile.
    this.#key.catch(() => {});
  }

  /** The keyed hash of `code` (see the module comment). */
  async hash(userId: string, purpose: string, destKey: string, code: string): Promise<string> {
    const input = utf8(`${CODE_TAG}${userId}\0${purpose}\0${destKey}\0${code}`);
    try {
      const mac = await globalThis.crypto.subtle.sign('HMAC', await this.#key, input);
      return encodeBase64url(new Uint8Array(mac));
    } finally {
      input.fill(0); // it holds the code
    }
  }

  /** Calls the app's sender. */
  send(message: VerificationMessage): Promise<void> {
    return Promise.resolve(this.#sender.call(undefined, Object.freeze(message)));
  }

  /** A description without the key. */
  toString(): string {
    return 'Verifier';
  }
}

/** The verifier, or the TypeError of a service created without `verification`. */
function required(verifier: Verifier | null): Verifier {
  if (verifier === null) {
    throw new TypeError(
      '"options.verification" must be given to createMFA ({ sender, key }) to send or check ' +
        'verification codes',
    );
  }
  return verifier;
}

/** `length` uniformly random decimal digits (bytes ≥ 250 are drawn again: no modulo bias). */
function randomDigits(length: number): string {
  let code = '';
  while (code.length < length) {
    for (const byte of globalThis.crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 250 && code.length < length) code += String(byte % 10);
    }
  }
  return code;
}

/** The counter of `key` if its 24-hour window is still running at `now`. */
function liveCounter(sends: SendCounter[], key: string, now: number): SendCounter | undefined {
  return sends.find((s) => s.key === key && s.windowStart + SEND_WINDOW_MS > now);
}

/** Counts one send for `key` at `now` (in place); returns the counter as it was. */
function countSend(account: AccountState, key: string, now: number): SendCounter | null {
  const before = account.sends.find((s) => s.key === key) ?? null;
  const live = liveCounter(account.sends, key, now);
  const after: SendCounter = live
    ? { ...live, count: live.count + 1, lastSentAt: now }
    : { key, count: 1, windowStart: now, lastSentAt: now };
  account.sends = [...account.sends.filter((s) => s.key !== key), after];
  return before === null ? null : { ...before };
}

/** See {@link MFA.sendVerificationCode}. */
export async function sendVerificationCode(
  ctx: MFAContext,
  verifier: Verifier | null,
  userId: string,
  options: SendVerificationCodeOptions,
): Promise<SendVerificationCodeResult> {
  const v = required(verifier);
  checkUserId(userId);
  const o = checkOptions(options);
  const channel = checkChannel(o.channel);
  const destination = checkDestination(o.destination, channel);
  const purpose = checkPurpose(o.purpose);
  const now = ctx.now();
  const policy = ctx.policy.verificationCodes;
  const masked = maskDestination(channel, destination);
  const destKey = await destinationKey(userId, channel, destination);
  const code = randomDigits(policy.length);
  const id = globalThis.crypto.randomUUID();
  const expiresAt = now + policy.ttlMs;
  const codeHash = await v.hash(userId, purpose, destKey, code);
  const refuse = (reason: SendRefusal['reason'], retryAfterMs: number) => ({
    result: { ok: false as const, reason, retryAfterMs: Math.max(1, retryAfterMs) },
  });
  /** The counters as they were before this send (for a take-back), once it is counted. */
  let before: { key: string; counter: SendCounter | null; windowStart: number }[] = [];
  const decided = await updateAccountState<{ ok: true } | SendRefusal>(ctx, userId, now, (read) => {
    const a = read.account;
    const last = a.sends.find((s) => s.key === destKey);
    if (last !== undefined && last.lastSentAt + policy.resendCooldownMs > now) {
      return refuse('cooldown', last.lastSentAt + policy.resendCooldownMs - now);
    }
    for (const [key, cap] of [
      [destKey, policy.dailyLimitPerDestination],
      ['', policy.dailyLimitPerUser],
    ] as const) {
      const live = liveCounter(a.sends, key, now);
      if (live !== undefined && live.count >= cap) {
        return refuse('daily_limit', live.windowStart + SEND_WINDOW_MS - now);
      }
    }
    // One live code per purpose: this one replaces any earlier one.
    a.codes = [
      ...a.codes.filter((c) => c.purpose !== purpose),
      {
        id,
        purpose,
        channel,
        destinationKey: destKey,
        codeHash,
        sentAt: now,
        expiresAt,
        attempts: 0,
      },
    ];
    before = [destKey, ''].map((key) => {
      const counter = countSend(a, key, now);
      return { key, counter, windowStart: liveCounter(a.sends, key, now)!.windowStart };
    });
    return { result: { ok: true as const }, account: a };
  });
  if (!decided.ok) {
    const { reason, retryAfterMs } = decided;
    ctx.emit({
      type: 'verification_code_refused',
      userId,
      at: now,
      channel,
      purpose,
      destination: masked,
      reason,
      retryAfterMs,
    });
    return decided;
  }
  try {
    await v.send({ userId, channel, destination, code, purpose, expiresAt });
  } catch (error) {
    await takeBack(ctx, userId, now, id, before);
    ctx.emit({
      type: 'verification_code_send_failed',
      userId,
      at: now,
      channel,
      purpose,
      destination: masked,
    });
    // No cause: a provider's error may echo the code.
    throw new MFAError(
      'ERR_SENDER',
      `the verification code sender failed (${errorName(error)}); no code is live and no send ` +
        `was counted`,
    );
  }
  ctx.emit({
    type: 'verification_code_sent',
    userId,
    at: now,
    channel,
    purpose,
    destination: masked,
    expiresAt,
  });
  return { ok: true, expiresAt, codeLength: code.length };
}

/** The class name of what a sender threw, if it is a plain identifier. */
function errorName(error: unknown): string {
  const name = error instanceof Error ? error.name : undefined;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)
    ? name
    : `a thrown ${describeType(error)}`;
}

/**
 * Takes back a send whose sender failed: its code (by id, if still live)
 * and the counts it added, with `lastSentAt` as it was, if the window is
 * still the one it counted in.
 */
async function takeBack(
  ctx: MFAContext,
  userId: string,
  now: number,
  id: string,
  before: { key: string; counter: SendCounter | null; windowStart: number }[],
): Promise<void> {
  await updateAccountState(ctx, userId, now, (read) => {
    const a = read.account;
    let changed = a.codes.some((c) => c.id === id);
    a.codes = a.codes.filter((c) => c.id !== id);
    for (const { key, counter, windowStart } of before) {
      const current = a.sends.find((s) => s.key === key);
      if (current === undefined || current.windowStart !== windowStart) continue;
      changed = true;
      const others = a.sends.filter((s) => s.key !== key);
      if (current.count <= 1) {
        // This send opened the window: the counter goes back to what it was.
        a.sends = counter === null ? others : [...others, counter];
      } else {
        const restored = current.lastSentAt === now && counter !== null ? counter.lastSentAt : null;
        a.sends = [
          ...others,
          { ...current, count: current.count - 1, lastSentAt: restored ?? current.lastSentAt },
        ];
      }
    }
    return changed ? { result: undefined, account: a } : { result: undefined };
  });
}

/** Checks a destination given to a check (the channel is the live code's). */
function checkCheckDestination(destination: unknown): string | undefined {
  if (destination === undefined) return undefined;
  if (typeof destination !== 'string') {
    throw new TypeError(
      `"destination" must be a string or undefined, got ${describeType(destination)}`,
    );
  }
  const length = [...destination].length;
  if (length === 0 || length > 320 || /\p{Cc}/u.test(destination)) {
    throw new RangeError('"destination" must be 1 to 320 characters long, no control characters');
  }
  if (!isWellFormedText(destination)) {
    throw new RangeError('"destination" must be well-formed Unicode (no lone surrogates)');
  }
  return destination;
}

/** See {@link MFA.checkVerificationCode}. */
export async function checkVerificationCode(
  ctx: MFAContext,
  verifier: Verifier | null,
  userId: string,
  code: string,
  options: CheckVerificationCodeOptions,
): Promise<CheckVerificationCodeResult> {
  const v = required(verifier);
  checkUserId(userId);
  if (typeof code !== 'string') {
    throw new TypeError(`"code" must be a string, got ${describeType(code)}`);
  }
  const o = checkOptions(options);
  const purpose = checkPurpose(o.purpose);
  const destination = checkCheckDestination(o.destination);
  const now = ctx.now();
  const policy = ctx.policy.verificationCodes;
  const input = code.replace(/\s/g, '');
  const answer = (result: CheckVerificationCodeResult) => {
    const reason: CheckVerificationCodeFailure | undefined = result.ok ? undefined : result.reason;
    ctx.emit({
      type: 'verification_code_checked',
      userId,
      at: now,
      ok: result.ok,
      ...(reason === undefined ? {} : { reason }),
      purpose,
    });
    return result;
  };
  // The format first: no store call for what cannot be a code.
  if (input.length !== policy.length || !/^[0-9]+$/.test(input)) {
    return answer({ ok: false, reason: 'malformed' });
  }
  const fail = (reason: Exclude<CheckVerificationCodeFailure, 'throttled'>) => ({
    ok: false as const,
    reason,
  });
  const result = await updateAccountState<CheckVerificationCodeResult>(
    ctx,
    userId,
    now,
    async (read) => {
      const a = read.account;
      // Expired windows were pruned: a budget found is the current window's.
      const budget = a.budgets.find((b) => b.purpose === purpose);
      if (budget !== undefined && budget.failures >= policy.budget) {
        const retryAfterMs = Math.max(1, budget.windowStart + policy.budgetWindowMs - now);
        return { result: { ok: false, reason: 'throttled', retryAfterMs } };
      }
      // Charged before the answer is decided, in the write that returns it.
      a.budgets = [
        ...a.budgets.filter((b) => b.purpose !== purpose),
        budget === undefined
          ? { purpose, failures: 1, windowStart: now }
          : { ...budget, failures: budget.failures + 1 },
      ];
      const live = a.codes.find((c) => c.purpose === purpose);
      if (live === undefined) return { result: fail('no_code'), account: a };
      const others = a.codes.filter((c) => c !== live);
      if (live.attempts >= policy.maxAttemptsPerCode) {
        a.codes = others;
        return { result: fail('attempts_exhausted'), account: a };
      }
      const charged = { ...live, attempts: live.attempts + 1 };
      const key =
        destination === undefined
          ? live.destinationKey
          : await destinationKey(userId, live.channel, destination);
      const hash = await v.hash(userId, purpose, key, input);
      if (timingSafeEqual(utf8(hash), utf8(live.codeHash))) {
        a.codes = others; // used up, in time or not
        if (now >= live.expiresAt) return { result: fail('expired'), account: a };
        const proof = await addProof(ctx, a, userId, purpose, 'verification', now);
        return { result: { ok: true, proof: proof.token, expiresAt: proof.expiresAt }, account: a };
      }
      if (charged.attempts >= policy.maxAttemptsPerCode) {
        a.codes = others;
        return { result: fail('attempts_exhausted'), account: a };
      }
      a.codes = [...others, charged];
      return { result: fail('wrong_code'), account: a };
    },
  );
  return answer(result);
}
