// Checks the custom store of custom-store.ts the way an adapter author would:
// the conformance suite from totpkit/testing (every operation, expiry, and
// the concurrency cases), then one real flow through createMFA on top of it.
import { expect, it } from 'vitest';
import { createMFA, decodeBase32, generateTOTP, plaintextCipher } from 'totpkit';
import { testMFAStore } from 'totpkit/testing';
import { DocumentStore, InMemoryDocuments } from './custom-store.ts';

// DocumentStore leaves out the optional readAndReserve (the service then
// makes two round trips per check instead of one), and says so here.
testMFAStore(
  'DocumentStore (in-memory documents)',
  () => new DocumentStore(new InMemoryDocuments()),
  { readAndReserve: false },
);

it('runs a whole enrollment and login through createMFA', async () => {
  let now = 1_750_000_000_000;
  const mfa = createMFA({
    store: new DocumentStore(new InMemoryDocuments()),
    issuer: 'Acme',
    // Plaintext only to keep the example short; see key-rotation.ts for the real thing.
    cipher: plaintextCipher(),
    clock: () => now,
    // About the store: enrollment without the identity step (an e-mail code's
    // proof, which beginEnrollment takes by default; the conformance suite
    // above runs that step on this store too).
    policy: { proofs: { required: { enroll: 'none' } } },
  });
  const { secret } = await mfa.beginEnrollment('alice', { accountName: 'alice@example.com' });
  const key = decodeBase32(secret);
  const bound = await mfa.completeEnrollment(
    'alice',
    generateTOTP(key, { now: now - 30_000 }),
    generateTOTP(key, { now }),
  );
  expect(bound.ok).toBe(true);
  now += 30_000;
  const code = generateTOTP(key, { now });
  expect(await mfa.verify('alice', code)).toEqual({
    ok: true,
    factorId: expect.any(String),
    generation: 1,
  });
  expect(await mfa.verify('alice', code)).toEqual({ ok: false, reason: 'replayed' });
});
