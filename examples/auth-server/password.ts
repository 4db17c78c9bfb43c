// Password hashing for the example: scrypt (RFC 7914) from @noble/hashes, a
// random 16-byte salt per password, parameters stored with the hash so they
// can be raised later without breaking old accounts.
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** scrypt cost; N = 2^15, r = 8 is 32 MiB and roughly 0.1–0.2 s per hash. */
export interface PasswordHashParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_PASSWORD_PARAMS: PasswordHashParams = Object.freeze({
  N: 2 ** 15,
  r: 8,
  p: 1,
});

/** NIST SP 800-63B: at least 8 characters, and long passphrases allowed. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

// NFKC, so the same passphrase typed on different keyboards hashes the same.
const normalize = (password: string): string => password.normalize('NFKC');

/** Hashes a password as `scrypt$N$r$p$salt$hash` (salt and hash in base64url). */
export async function hashPassword(
  password: string,
  params: PasswordHashParams = DEFAULT_PASSWORD_PARAMS,
): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(normalize(password), salt, { ...params, dkLen: 32 });
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    Buffer.from(hash).toString('base64url'),
  ].join('$');
}

// What a stored hash may ask for. The parameters come from the row, so a
// tampered or corrupt row must not be able to demand a huge computation
// (N = 2^20, r = 8 is 1 GiB per evaluation): outside these bounds, 8 times
// the default's memory and 4 lanes, the hash never matches.
export const STORED_LIMITS = Object.freeze({
  maxMemoryBytes: 256 * 2 ** 20,
  maxP: 4,
  saltBytes: 16,
  hashBytes: 32,
});

function storedParams(N: string, r: string, p: string): PasswordHashParams | null {
  const decimal = /^[1-9][0-9]{0,9}$/;
  if (!decimal.test(N) || !decimal.test(r) || !decimal.test(p)) return null;
  const params = { N: Number(N), r: Number(r), p: Number(p) };
  const powerOfTwo = params.N > 1 && (params.N & (params.N - 1)) === 0;
  if (!powerOfTwo || params.p > STORED_LIMITS.maxP) return null;
  return 128 * params.N * params.r <= STORED_LIMITS.maxMemoryBytes ? params : null;
}

/**
 * Checks a password against a stored hash in constant time. A stored hash
 * that is malformed or asks for more than {@link STORED_LIMITS} never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, N = '', r = '', p = '', salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined || rest.length > 0) {
    return false;
  }
  const params = storedParams(N, r, p);
  const saltBytes = Buffer.from(salt, 'base64url');
  const expected = Buffer.from(hash, 'base64url');
  if (
    params === null ||
    saltBytes.length !== STORED_LIMITS.saltBytes ||
    expected.length !== STORED_LIMITS.hashBytes
  ) {
    return false;
  }
  const actual = await scryptAsync(normalize(password), saltBytes, {
    ...params,
    dkLen: expected.length,
  });
  return timingSafeEqual(Buffer.from(actual), expected);
}

/** Thrown when too many password checks are already waiting; the app answers 503. */
export class ServerBusyError extends Error {
  override readonly name = 'ServerBusyError';
  /** @param retryAfterSeconds how long the queue needs to drain, roughly */
  constructor(readonly retryAfterSeconds: number) {
    super('too many password checks are waiting');
  }
}

/**
 * Runs password hashing one evaluation at a time, with at most `maxWaiting`
 * requests in line. Each scrypt evaluation holds 128·N·r bytes (32 MiB by
 * default) until it ends, and scrypt from @noble/hashes runs on the main
 * thread, so running several at once finishes none sooner: 64 concurrent
 * sign-ins without this queue took the server to 2.4 GB. With it, memory
 * stays at one evaluation, and a burst beyond the line is refused at once
 * (503 with Retry-After) instead of making every other page wait.
 * The same design as totpkit's recovery-code hasher.
 */
export class PasswordHasher {
  #queue: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #lastMs = 200;
  readonly #params: PasswordHashParams;
  readonly #maxWaiting: number;
  #dummy: Promise<string> | undefined;

  constructor(params: PasswordHashParams = DEFAULT_PASSWORD_PARAMS, maxWaiting = 16) {
    this.#params = params;
    this.#maxWaiting = maxWaiting;
  }

  #run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#waiting >= this.#maxWaiting) {
      const seconds = Math.max(1, Math.ceil((this.#waiting * this.#lastMs) / 1000));
      return Promise.reject(new ServerBusyError(seconds));
    }
    this.#waiting++;
    const run = this.#queue.then(async () => {
      const started = Date.now();
      try {
        return await task();
      } finally {
        this.#lastMs = Date.now() - started;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run.finally(() => this.#waiting--);
  }

  /** Hashes a new password (sign-up). */
  hash(password: string): Promise<string> {
    return this.#run(() => hashPassword(password, this.#params));
  }

  /** Checks a password against a stored hash. */
  verify(password: string, stored: string): Promise<boolean> {
    return this.#run(() => verifyPassword(password, stored));
  }

  /**
   * Spends the time of one password check for an unknown email address, so
   * that response times do not tell which addresses have accounts.
   */
  verifyNone(password: string): Promise<false> {
    return this.#run(async () => {
      this.#dummy ??= hashPassword('not a real password', this.#params);
      await verifyPassword(password, await this.#dummy);
      return false as const;
    });
  }
}
