/**
 * Argument checks shared by the public entry points (internal).
 *
 * Messages name the field and state the rule, and describe a bad value without
 * echoing anything that could be a secret: numbers are printed, strings and
 * byte arrays only by type and length.
 * @module
 * @internal
 */

/** The hash functions an HMAC-based OTP can use. */
export type HashAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

/** Number of digits in a one-time code. */
export type Digits = 6 | 7 | 8;

/** Describes a value for an error message without revealing secret content. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return `a string of length ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of length ${value.length}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * Describes only the type of a value, for fields that may hold a code: a code
 * passed as a number must not be echoed.
 */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/**
 * A null-prototype copy of `value`'s own enumerable properties: reading a
 * field the caller did not set gives `undefined`, never a value inherited
 * from a polluted `Object.prototype`.
 */
export function ownProperties<T extends object>(value: T): Partial<T> {
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) copy[key] = (value as Record<string, unknown>)[key];
  return copy as Partial<T>;
}

/**
 * Checks a plain options object (or `undefined`) and returns a copy of its own
 * properties ({@link ownProperties}), so defaults apply to fields the caller
 * did not set even when `Object.prototype` has been polluted.
 */
export function checkOptions<T extends object>(
  value: T | undefined,
  field = 'options',
): Partial<T> {
  if (value === undefined) return Object.create(null) as Partial<T>;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`"${field}" must be an object, got ${describe(value)}`);
  }
  return ownProperties(value);
}

/**
 * A deep copy of plain data (a store's record) holding only own enumerable
 * properties, in null-prototype objects: a field the store left out reads as
 * `undefined`, never as a value inherited from a polluted `Object.prototype`.
 * Arrays stay arrays; other values are kept as they are.
 */
export function ownData<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => ownData(item, depth + 1)) as T;
  if (value instanceof Uint8Array) return value;
  const copy = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    copy[key] = ownData((value as Record<string, unknown>)[key], depth + 1);
  }
  return copy as T;
}

/** Checks that `value` is an integer in `[min, max]`. */
export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`"${field}" must be an integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `"${field}" must be an integer from ${min} to ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks a byte array of a bounded length; the message never shows its content. */
export function checkBytes(value: unknown, field: string, min = 1, max = 1024): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`"${field}" must be a Uint8Array, got ${describe(value)}`);
  }
  if (value.length < min || value.length > max) {
    throw new RangeError(
      `"${field}" must be ${min} to ${max} bytes long, got ${value.length} bytes`,
    );
  }
  return value;
}

/** Checks a non-empty string. */
export function checkString(value: unknown, field: string, maxLength = 1024): string {
  if (typeof value !== 'string') {
    throw new TypeError(`"${field}" must be a string, got ${describe(value)}`);
  }
  if (value.length === 0 || value.length > maxLength) {
    throw new RangeError(
      `"${field}" must be 1 to ${maxLength} characters long, got ${value.length}`,
    );
  }
  return value;
}

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `text` is well-formed Unicode (no lone surrogate): such a string
 * encodes to UTF-8 without loss. A lone surrogate becomes U+FFFD, so two
 * different strings would reach a database, or AES-GCM associated data, as
 * the same bytes. `String.prototype.isWellFormed` where the runtime has it
 * (ES2024), a regular expression otherwise.
 */
export function isWellFormedText(text: string): boolean {
  const native = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof native === 'function' ? native.call(text) : !LONE_SURROGATE.test(text);
}

/** The longest user id, in UTF-16 code units. */
export const MAX_USER_ID_LENGTH = 256;

/**
 * Checks a user id, below both the service and the stores (every store calls
 * it in every method, so a store called directly refuses what the service
 * refuses): a well-formed Unicode string of 1–256 characters without U+0000
 * or U+FFFD. A lone surrogate is refused: it would reach a database, the
 * cipher's associated data and the recovery-code hash as U+FFFD, the same
 * bytes as another id, and U+FFFD itself is refused so that no id can be
 * the one a lone surrogate became on the way. U+0000 is refused because
 * PostgreSQL text cannot hold it: every store must accept the same ids.
 *
 * @param userId - the id to check
 * @returns the id
 * @throws TypeError if it is not a string or holds a lone surrogate
 * @throws RangeError if it is empty, longer than 256, or holds U+0000 or U+FFFD
 */
export function checkUserId(userId: unknown): string {
  const id = checkString(userId, 'userId', MAX_USER_ID_LENGTH);
  if (!isWellFormedText(id)) {
    throw new TypeError('"userId" must be well-formed Unicode (it contains a lone surrogate)');
  }
  if (id.includes('\0')) throw new RangeError('"userId" must not contain U+0000');
  if (id.includes('\uFFFD')) {
    throw new RangeError('"userId" must not contain U+FFFD (what a lone surrogate becomes)');
  }
  return id;
}

/**
 * The defaults of the OTP parameters: RFC 4226/6238's, and the only values
 * every authenticator app supports.
 */
export const OTP_DEFAULTS = Object.freeze({ algorithm: 'SHA1', digits: 6, period: 30 } as const);

/** The supported hash algorithms. */
export const ALGORITHMS: readonly HashAlgorithm[] = Object.freeze(['SHA1', 'SHA256', 'SHA512']);

/** Checks a hash algorithm name (exact spelling). */
export function checkAlgorithm(value: unknown, field = 'algorithm'): HashAlgorithm {
  if (typeof value !== 'string') {
    throw new TypeError(`"${field}" must be 'SHA1', 'SHA256' or 'SHA512', got ${describe(value)}`);
  }
  if (!ALGORITHMS.includes(value as HashAlgorithm)) {
    throw new RangeError(`"${field}" must be 'SHA1', 'SHA256' or 'SHA512'`);
  }
  return value as HashAlgorithm;
}

/** Checks a digit count. */
export function checkDigits(value: unknown, field = 'digits'): Digits {
  if (typeof value !== 'number') {
    throw new TypeError(`"${field}" must be 6, 7 or 8, got ${describe(value)}`);
  }
  if (value !== 6 && value !== 7 && value !== 8) {
    throw new RangeError(`"${field}" must be 6, 7 or 8, got ${describe(value)}`);
  }
  return value;
}

/** Largest time step period accepted, in seconds (a little over 136 years). */
export const MAX_PERIOD_SECONDS = 2 ** 32 - 1;

/** Checks a time-step period in seconds. */
export function checkPeriod(value: unknown, field = 'period'): number {
  return checkInteger(value, field, 1, MAX_PERIOD_SECONDS);
}

/**
 * The periods authenticator apps use, in seconds: 10 (Authy's own tokens) to
 * 120 (Italy's SPID codes); 30 is the default, and what Google Authenticator
 * on Android uses whatever the period. docs/authenticator-apps.md gives the
 * sources. Key URIs, the service's `totp.period` and imported factors must lie
 * in this range; the primitives take any period from 1 s.
 */
export const APP_PERIODS = Object.freeze({ min: 10, max: 120 } as const);

/** Checks a period an authenticator app can use: a whole number of seconds, 10 to 120. */
export function checkAppPeriod(value: unknown, field = 'period'): number {
  if (typeof value !== 'number') {
    throw new TypeError(`"${field}" must be an integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < APP_PERIODS.min || value > APP_PERIODS.max) {
    throw new RangeError(
      `"${field}" must be a whole number of seconds from ${APP_PERIODS.min} to ${APP_PERIODS.max} ` +
        `(the periods authenticator apps use), got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks a Unix time in milliseconds. */
export function checkNow(value: unknown, field = 'now'): number {
  if (typeof value !== 'number') {
    throw new TypeError(`"${field}" must be a number of Unix milliseconds, got ${describe(value)}`);
  }
  if (!Number.isFinite(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `"${field}" must be Unix milliseconds from 0 to 2^53 - 1, got ${describe(value)}`,
    );
  }
  return value;
}

/** The largest HOTP counter: the counter is 8 bytes (RFC 4226 §5.2). */
export const MAX_COUNTER = 2n ** 64n - 1n;

/** Checks an HOTP counter: a safe integer ≥ 0, or a bigint below 2^64. */
export function checkCounter(value: unknown, field = 'counter'): number | bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_COUNTER) {
      throw new RangeError(`"${field}" must be from 0 to 2^64 - 1, got ${describe(value)}`);
    }
    return value;
  }
  if (typeof value !== 'number') {
    throw new TypeError(`"${field}" must be an integer or a bigint, got ${describe(value)}`);
  }
  return checkInteger(value, field, 0, Number.MAX_SAFE_INTEGER);
}
