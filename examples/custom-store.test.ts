// Checks the custom store of custom-store.ts the way an adapter author would:
// the conformance suite from totpkit/testing (every operation, expiry, and
// the concurrency cases), then one real flow through createMFA on top of it.
import { expect, it } from 'vitest';
import { createMFA, decodeBase32, generateTOTP, plaintextCipher } from 'totpkit';
import { testMFAStore } from 'totpkit/testing';
import { DocumentStore } from './custom-store.ts';
import { InMemoryDocuments } from './versioned-documents.ts';

// DocumentStore leaves out the optional readAndReserve (the service then
// makes two round trips per check instead of one), and says so here.
testMFAStore(
  'DocumentStore (in-memory documents)',
  () => new DocumentStore(new InMemoryDocuments()),
  { readAndReserve: false, deleteExpired: false },
);

it('runs a whole enrollment and login through createMFA', async () => {
  let now = 1_750_000_000_000;
  const outbox: string[] = [];
  const mfa = createMFA({
    store: new DocumentStore(new InMemoryDocuments()),
    issuer: 'Acme',
    // Plaintext only to keep the example short; see key-rotation.ts for the real thing.
    cipher: plaintextCipher(),
    clock: () => now,
    // The identity step's codes go to an outbox here; a mailer in an app.
    verification: {
      sender: async ({ code }) => void outbox.push(code),
      key: new Uint8Array(32).fill(1),
    },
  });
  await mfa.sendVerificationCode('alice', {
    channel: 'email',
    destination: 'alice@example.com',
    purpose: 'enroll',
  });
  const checked = await mfa.checkVerificationCode('alice', outbox[0]!, { purpose: 'enroll' });
  if (!checked.ok) throw new Error(checked.reason);
  const { secret } = await mfa.beginEnrollment('alice', {
    accountName: 'alice@example.com',
    proof: checked.proof,
  });
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
