// The example's password hashing: a stored hash is data from the database, so
// its scrypt parameters are bounded before anything is computed.
import { describe, expect, it, vi } from 'vitest';

const scrypt = vi.hoisted(() => ({ calls: [] as { N: number; r: number; p: number }[] }));
vi.mock('@noble/hashes/scrypt.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('@noble/hashes/scrypt.js')>();
  return {
    ...real,
    scryptAsync: (...args: Parameters<typeof real.scryptAsync>) => {
      const { N, r, p } = args[2];
      scrypt.calls.push({ N, r, p });
      return real.scryptAsync(...args);
    },
  };
});

const { hashPassword, verifyPassword, STORED_LIMITS } =
  await import('../../examples/auth-server/password.ts');

const CHEAP = { N: 2 ** 4, r: 8, p: 1 };

/** A stored hash of `password` with its scrypt fields replaced. */
async function storedWith(password: string, N: string, r: string, p: string): Promise<string> {
  const [scheme, , , , salt, hash] = (await hashPassword(password, CHEAP)).split('$');
  return [scheme, N, r, p, salt, hash].join('$');
}

describe('example auth server: verifyPassword', () => {
  it('accepts the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery', CHEAP);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery!', stored)).toBe(false);
  });

  it.each([
    ['N = 2^30 (128 GiB)', String(2 ** 30), '8', '1'],
    ['N = 2^19, r = 8 (512 MiB, over the 256 MiB bound)', String(2 ** 19), '8', '1'],
    ['r = 10^6', '16', '1000000', '1'],
    ['p = 2^20', '16', '8', String(2 ** 20)],
    ['N not a power of two', '1000', '8', '1'],
    ['N written with a leading zero', '016', '8', '1'],
    ['N in exponent notation', '1e3', '8', '1'],
    ['N = 1', '1', '8', '1'],
    ['an empty r', '16', '', '1'],
  ])('refuses a stored hash asking for %s without running scrypt', async (_, N, r, p) => {
    const stored = await storedWith('pw-123456', N, r, p);
    scrypt.calls.length = 0;
    expect(await verifyPassword('pw-123456', stored)).toBe(false);
    expect(scrypt.calls).toEqual([]);
  });

  it('refuses malformed stored hashes without running scrypt', async () => {
    const good = await hashPassword('pw-123456', CHEAP);
    const [scheme, N, r, p, salt, hash] = good.split('$') as [string, ...string[]];
    scrypt.calls.length = 0;
    for (const stored of [
      '',
      'bcrypt$16$8$1$' + salt + '$' + hash,
      [scheme, N, r, p, salt].join('$'),
      [scheme, N, r, p, salt, hash, 'extra'].join('$'),
      [scheme, N, r, p, salt!.slice(0, 8), hash].join('$'), // short salt
      [scheme, N, r, p, salt, hash!.slice(0, 20)].join('$'), // short hash
    ]) {
      expect(await verifyPassword('pw-123456', stored)).toBe(false);
    }
    expect(scrypt.calls).toEqual([]);
  });

  it('still checks hashes at the bound (256 MiB: N = 2^18, r = 8) and the default', async () => {
    expect(128 * 2 ** 18 * 8).toBe(STORED_LIMITS.maxMemoryBytes);
    const stored = await storedWith('pw-123456', String(2 ** 15), '8', '1');
    scrypt.calls.length = 0;
    expect(await verifyPassword('pw-123456', stored)).toBe(false); // computed with other N: no match
    expect(scrypt.calls).toEqual([{ N: 2 ** 15, r: 8, p: 1 }]);
  });
});
