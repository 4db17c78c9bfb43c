/**
 * Codes as users type them: the type check and the normalisation that the
 * service (`createMFA`) and the `totpkit` command share, below both. Not
 * exported by the package.
 * @module
 */

/** Checks that a user-typed code is a string; the message names only its type. */
export function checkCodeType(code: unknown, field: string): string {
  if (typeof code !== 'string') {
    // Not describe(): a code passed as a number must not be echoed.
    const type = code === null ? 'null' : Array.isArray(code) ? 'an array' : typeof code;
    throw new TypeError(`"${field}" must be a string, got ${type}`);
  }
  return code;
}

/** Spaces (also inner ones, `123 456`) removed; full-width digits made ASCII by NFKC. */
export function normalizeCode(value: unknown, field: string): string {
  const code = checkCodeType(value, field);
  return code.length > 64 ? '' : code.normalize('NFKC').replace(/\s/g, '');
}
