import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateSecret } from '../src/index.ts';

describe('generateSecret', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns 20 bytes by default (160 bits, RFC 4226 R6)', () => {
    const secret = generateSecret();
    expect(secret).toBeInstanceOf(Uint8Array);
    expect(Object.getPrototypeOf(secret)).toBe(Uint8Array.prototype);
    expect(secret).toHaveLength(20);
    expect(generateSecret({})).toHaveLength(20);
  });

  it.each([16, 17, 32, 64])('returns %d bytes when asked', (bytes) => {
    expect(generateSecret({ bytes })).toHaveLength(bytes);
  });

  it.each([0, 1, 8, 15, 65, 128])('refuses %d bytes (16 to 64 only)', (bytes) => {
    expect(() => generateSecret({ bytes })).toThrow(RangeError);
    expect(() => generateSecret({ bytes })).toThrow(/"bytes" must be an integer from 16 to 64/);
  });

  it('fills the whole array from globalThis.crypto.getRandomValues', () => {
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues');
    const secret = generateSecret({ bytes: 32 });
    expect(spy).toHaveBeenCalledTimes(1);
    const filled = spy.mock.calls[0]?.[0] as Uint8Array;
    expect(filled).toBeInstanceOf(Uint8Array);
    expect(filled.length).toBe(32);
    expect(secret).toBe(filled);
  });

  it('gives distinct secrets with no stuck bits', () => {
    const secrets = Array.from({ length: 2000 }, () => generateSecret({ bytes: 16 }));
    const hex = new Set(secrets.map((s) => Buffer.from(s).toString('hex')));
    expect(hex.size).toBe(secrets.length);
    // Each of the 128 bit positions is set in about half of 2000 draws; a stuck
    // or strongly biased bit would be far outside 1000 ± 200 (over 8.9 sigma).
    for (let bit = 0; bit < 128; bit++) {
      const ones = secrets.filter((s) => ((s[bit >> 3] as number) >> (bit & 7)) & 1).length;
      expect(ones, `bit ${bit}`).toBeGreaterThan(800);
      expect(ones, `bit ${bit}`).toBeLessThan(1200);
    }
  });
});
