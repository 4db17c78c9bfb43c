/**
 * The two scrypt paths for recovery codes: native `node:crypto` (src/mfa/_scrypt.ts)
 * and noble (src/mfa/_scrypt.web.ts, the browser and Worker build). Both
 * reproduce RFC 7914's vectors, agree byte for byte on random inputs and
 * parameters, and verify each other's recovery code sets, and those stored
 * by 0.1.0. The hasher keeps its concurrency bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadScrypt as loadNative } from '../../src/mfa/_scrypt.ts';
import { loadScrypt as loadNoble, type ScryptBackend } from '../../src/mfa/_scrypt.web.ts';
import { normalizeRecoveryCode, RecoveryCodeHasher } from '../../src/mfa/recovery-hash.ts';
import { enroll, harness, NO_THROTTLE, sameAccount } from '../helpers/mfa.ts';
import legacy from '../fixtures/recovery-0.1.0.json' with { type: 'json' };
import rfc7914 from '../vectors/rfc7914.json' with { type: 'json' };

const ascii = (text: string) => new TextEncoder().encode(text);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const PATHS = { native: loadNative, noble: loadNoble } as const;

describe('recovery-code scrypt', () => {
  it('Node takes the native path, the web module noble', async () => {
    expect((await loadNative()).name).toBe('node:crypto');
    expect((await loadNative()).concurrency).toBe(2);
    expect((await loadNoble()).name).toBe('@noble/hashes');
    expect((await loadNoble()).concurrency).toBe(1);
  });

  for (const [path, load] of Object.entries(PATHS)) {
    it(`${path}: the RFC 7914 §12 vectors`, async () => {
      const scrypt = await load();
      for (const v of rfc7914.vectors) {
        const key = await scrypt.derive(ascii(v.password), ascii(v.salt), v, v.dkLen);
        expect(key).toBeInstanceOf(Uint8Array);
        expect(hex(key), `${v.password}/${v.salt}`).toBe(v.hex);
      }
    });

    it(`${path}: verifies the sets 0.1.0 stored (N = 2^14, r = 8, p = 1)`, async () => {
      const hasher = new RecoveryCodeHasher(load);
      for (const [i, code] of legacy.codes.entries()) {
        const canonical = normalizeRecoveryCode(code) as string;
        expect(await hasher.find(canonical, legacy.set, legacy.userId)).toBe(legacy.set.hashes[i]);
      }
      expect(await hasher.find('000000000000', legacy.set, legacy.userId)).toBeNull();
      // The user id is part of the hash input.
      const other = normalizeRecoveryCode(legacy.codes[0] as string) as string;
      expect(await hasher.find(other, legacy.set, `${legacy.userId}x`)).toBeNull();
    });
  }

  it('native and noble agree byte for byte on random passwords, salts and parameters', async () => {
    const [native, noble] = [await loadNative(), await loadNoble()];
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 130 }),
        async (password, salt, logN, r, p, dkLen) => {
          const params = { N: 2 ** logN, r, p };
          const a = await native.derive(password, salt, params, dkLen);
          const b = await noble.derive(password, salt, params, dkLen);
          expect(a).toHaveLength(dkLen);
          expect(hex(a)).toBe(hex(b));
        },
      ),
      { numRuns: 60, seed: 7914 },
    );
  });

  it("native lifts OpenSSL's 32 MiB default memory limit (the policy allows 256 MiB)", async () => {
    // 128 · N · r = 64 MiB at N = 2^16, r = 8: refused under the default maxmem.
    const params = { N: 2 ** 16, r: 8, p: 1 };
    const native = await (await loadNative()).derive(ascii('a'), ascii('b'), params, 32);
    // The reference value comes from Python's hashlib.scrypt (OpenSSL), an independent path.
    expect(hex(native)).toBe(EXPECTED_64MIB);
  });

  it('a set hashed on one path verifies on the other, and with the service on each', async () => {
    const params = { N: 1024, r: 8, p: 1 };
    for (const [from, to] of [
      ['native', 'noble'],
      ['noble', 'native'],
    ] as const) {
      const { codes, set } = await new RecoveryCodeHasher(PATHS[from]).createSet(4, params, 'u-1');
      const verifier = new RecoveryCodeHasher(PATHS[to]);
      for (const [i, code] of codes.entries()) {
        const canonical = normalizeRecoveryCode(code) as string;
        expect(await verifier.find(canonical, set, 'u-1'), `${from} → ${to}`).toBe(set.hashes[i]);
      }
      const wrong = normalizeRecoveryCode(codes[0] as string)!.replace(/^./, (c) =>
        c === '0' ? '1' : '0',
      );
      expect(await verifier.find(wrong, set, 'u-1')).toBeNull();
    }
  });

  it('the service verifies a 0.1.0 set after the default parameters changed', async () => {
    const h = harness({ policy: { recoveryThrottle: NO_THROTTLE } });
    await enroll(h, legacy.userId);
    // The record as 0.1.0 left it: its stored set in place of the new one.
    expect(
      await h.store.replaceRecoveryCodes(
        legacy.userId,
        legacy.set,
        await sameAccount(h.store, legacy.userId, h.now),
      ),
    ).toBe('replaced');
    expect(await h.mfa.useRecoveryCode(legacy.userId, legacy.codes[1] as string)).toEqual({
      ok: true,
      remaining: 2,
      generation: expect.any(Number),
    });
    expect(await h.mfa.useRecoveryCode(legacy.userId, legacy.codes[1] as string)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });
});

describe('the hasher bounds concurrent evaluations', () => {
  /** A backend that counts how many derivations run at once. */
  function counting(concurrency: number, inner: ScryptBackend) {
    const seen = { running: 0, most: 0, calls: 0 };
    const backend: ScryptBackend = {
      name: inner.name,
      concurrency,
      async derive(...args) {
        seen.calls++;
        seen.most = Math.max(seen.most, ++seen.running);
        try {
          await new Promise((resolve) => setTimeout(resolve, 2));
          return await inner.derive(...args);
        } finally {
          seen.running--;
        }
      },
    };
    return { seen, load: async () => backend };
  }

  for (const concurrency of [1, 2]) {
    it(`at most ${concurrency} at once, for one set and for attempts arriving together`, async () => {
      const { seen, load } = counting(concurrency, await loadNoble());
      const hasher = new RecoveryCodeHasher(load);
      const params = { N: 1024, r: 1, p: 1 };
      const { codes, set } = await hasher.createSet(10, params, 'u');
      expect(seen.calls).toBe(10);
      expect(seen.most).toBe(concurrency);
      const found = await Promise.all(
        codes.map((code) => hasher.find(normalizeRecoveryCode(code) as string, set, 'u')),
      );
      expect(found).toEqual(set.hashes);
      expect(seen.calls).toBe(20);
      expect(seen.most).toBe(concurrency);
    });
  }

  it('a failed evaluation frees its slot', async () => {
    let fail = true;
    const noble = await loadNoble();
    const load = async (): Promise<ScryptBackend> => ({
      name: noble.name,
      concurrency: 1,
      derive: (...args) => (fail ? Promise.reject(new Error('boom')) : noble.derive(...args)),
    });
    const hasher = new RecoveryCodeHasher(load);
    const params = { N: 1024, r: 1, p: 1 };
    await expect(hasher.createSet(3, params, 'u')).rejects.toThrow('boom');
    fail = false;
    expect((await hasher.createSet(3, params, 'u')).set.hashes).toHaveLength(3);
  });
});

/** hashlib.scrypt(b'a', salt=b'b', n=2**16, r=8, p=1, dklen=32), Python 3. */
const EXPECTED_64MIB = '1c357645d521cce3d015441a4215814d8acbf98ed671880ba369039784de0504';
