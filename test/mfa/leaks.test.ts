/**
 * Nothing secret escapes: over a full run of every flow, no event, error
 * message, `JSON.stringify`, `String` or `util.inspect` (what console.log
 * prints) of a public result or object contains the secret (in any encoding),
 * a TOTP code that was submitted, a recovery code, or the cipher key.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createAESGCMCipher, decodeBase32, MemoryStore, type MFAStore } from '../../src/index.ts';
import { deviceCode, harness, newUser, REQUIRED_STORE_METHODS } from '../helpers/mfa.ts';

describe('no secret, code or recovery code in events, errors or serialised results', () => {
  it('holds over a full run of every flow', async () => {
    const cipherKey = new Uint8Array(32).map((_, i) => i * 7 + 3);
    const cipher = createAESGCMCipher({ keys: { k1: cipherKey }, primaryKeyId: 'k1' });
    const inner = new MemoryStore();
    let failNext = false;
    const store: MFAStore = Object.assign(Object.create(null), {
      ...Object.fromEntries(
        [...REQUIRED_STORE_METHODS, 'readAndReserve' as const].map((name) => [
          name,
          (...args: unknown[]) => {
            if (failNext) {
              failNext = false;
              // A driver error that quotes its arguments, as some do.
              return Promise.reject(new Error(`db error in ${name}(${JSON.stringify(args)})`));
            }
            return (inner[name] as (...a: unknown[]) => Promise<unknown>)(...args);
          },
        ]),
      ),
    });
    const h = harness({ cipher, store, policy: { throttle: { maxFailures: 8 } } });
    const user = newUser();
    const outputs: unknown[] = [h.mfa];
    const messages: string[] = [];
    const submitted: string[] = [];
    const recoveryCodes: string[] = [];
    const call = async <T>(run: () => Promise<T>): Promise<T | undefined> => {
      try {
        const result = await run();
        outputs.push(result);
        return result;
      } catch (error) {
        messages.push(String(error), inspect(error, { depth: 0 }), JSON.stringify(error));
        return undefined;
      }
    };
    const code = (now: number) => {
      const c = deviceCode(secret, now);
      submitted.push(c);
      return c;
    };

    const begun = await call(() =>
      h.mfa.beginEnrollment(user, { accountName: 'leak@example.com' }),
    );
    const secret = begun?.secret ?? '';
    h.advance(35_000);
    const bound = await call(() =>
      h.mfa.completeEnrollment(user, code(h.now - 35_000), code(h.now)),
    );
    if (bound?.ok) recoveryCodes.push(...(bound.recoveryCodes ?? []));
    h.advance(30_000);
    const login = code(h.now);
    await call(() => h.mfa.verify(user, login));
    await call(() => h.mfa.verify(user, login));
    await call(() => h.mfa.resync(user, login, code(h.now + 30_000)));
    await call(() => h.mfa.useRecoveryCode(user, recoveryCodes[0] as string));
    await call(() => h.mfa.useRecoveryCode(user, recoveryCodes[0] as string));
    const regenerated = await call(() => h.mfa.regenerateRecoveryCodes(user));
    if (regenerated?.ok) recoveryCodes.push(...regenerated.recoveryCodes);
    await call(() => h.mfa.status(user));
    await call(() => h.mfa.reencryptSecret(user));
    // Misuse with secret-looking values, a failing store and a failing cipher.
    await call(() => h.mfa.verify(user, Number(login) as unknown as string));
    await call(() => h.mfa.useRecoveryCode(user, [recoveryCodes[1]] as unknown as string));
    await call(() => h.mfa.beginEnrollment(user, { accountName: `${secret}:x` }));
    await call(() => h.mfa.beginEnrollment(user, { accountName: 'a' }));
    failNext = true;
    h.advance(30_000);
    await call(() => h.mfa.verify(user, code(h.now)));
    await call(() => cipher.decrypt(`A256GCM.k1.${secret}`, user));
    await call(async () =>
      createAESGCMCipher({ keys: { k: cipherKey.subarray(1) }, primaryKeyId: 'k' }),
    );
    // Throttle to the lock, unlock, disable.
    for (let i = 0; i < 12; i++) await call(() => h.mfa.verify(user, code(h.now + 300_000)));
    await call(() => h.mfa.unlock(user));
    await call(() => h.mfa.disable(user));

    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(recoveryCodes).toHaveLength(20);
    expect(submitted.length).toBeGreaterThan(15);
    expect(h.events.length).toBeGreaterThan(20);
    expect(messages.length).toBeGreaterThanOrEqual(3 * 6);

    const bytes = Buffer.from(decodeBase32(secret));
    const key = Buffer.from(cipherKey);
    const forbidden = [
      secret,
      bytes.toString('hex'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      key.toString('hex'),
      key.toString('base64').replace(/=+$/, ''),
      key.toString('base64url'),
      ...recoveryCodes,
      ...recoveryCodes.map((c) => c.replace(/-/g, '')),
    ].map((s) => s.toUpperCase());
    const texts = [
      ...h.events.flatMap((e) => [JSON.stringify(e), inspect(e)]),
      ...outputs.flatMap((o) => [JSON.stringify(o) ?? '', String(o), inspect(o, { depth: 5 })]),
      ...messages,
    ];
    for (const text of texts) {
      const upper = text.toUpperCase();
      for (const value of forbidden) expect(upper, text).not.toContain(value);
      // TOTP codes: a standalone run of exactly six digits (timestamps are longer).
      for (const c of new Set(submitted))
        expect(text, text).not.toMatch(new RegExp(`(?<!\\d)${c}(?!\\d)`));
    }
    // The results still carry what the user must see, readable directly.
    expect(begun?.uri).toContain(`secret=${secret}`);
    expect(JSON.stringify(begun)).toBe(
      `{"factorId":"${begun?.factorId}","expiresAt":${begun?.expiresAt}}`,
    );
    expect(JSON.stringify(bound)).toBe(
      `{"ok":true,"factorId":"${begun?.factorId}","generation":1,"clockOffsetSeconds":0,` +
        `"parameters":{"algorithm":"SHA1","digits":6,"period":30}}`,
    );
    expect({ ...regenerated }).toEqual({ ok: true, generation: expect.any(Number) });
  });
});
