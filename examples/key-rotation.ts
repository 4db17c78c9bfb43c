// Encrypted secrets and key rotation: TOTP secrets are sealed with AES-256-GCM
// under a key id; a new key is added and made primary, old records keep
// working, `reencryptSecret` moves each one to the new key, and then the old
// key can be retired. Run with `npm run examples`.
import assert from 'node:assert/strict';
import {
  createAESGCMCipher,
  createMFA,
  decodeBase32,
  generateTOTP,
  MemoryStore,
  MFAError,
} from 'totpkit';

// In production the keys come from a secret manager or KMS, never from code.
const key2025 = globalThis.crypto.getRandomValues(new Uint8Array(32));
const key2026 = globalThis.crypto.getRandomValues(new Uint8Array(32));

const store = new MemoryStore();
let now = Date.parse('2026-01-15T09:00:00Z');
const clock = () => now;
const service = (keys: Record<string, Uint8Array>, primaryKeyId: string) =>
  createMFA({
    store,
    issuer: 'Acme',
    cipher: createAESGCMCipher({ keys, primaryKeyId }),
    clock,
    // This example is about keys: its users enroll without the identity step
    // (docs/enrollment.md shows it; 'none' is 0.2's behaviour).
    policy: { proofs: { required: { enroll: 'none' } } },
  });

/** Enrolls a user, playing the authenticator app with generateTOTP; returns their secret. */
async function enroll(mfa: ReturnType<typeof service>, userId: string): Promise<Uint8Array> {
  const { secret } = await mfa.beginEnrollment(userId, { accountName: `${userId}@example.com` });
  const key = decodeBase32(secret);
  const bound = await mfa.completeEnrollment(
    userId,
    generateTOTP(key, { now: now - 30_000 }),
    generateTOTP(key, { now }),
  );
  assert.equal(bound.ok, true);
  return key;
}

/** What the store holds for a user: only the sealed form, tagged with its key id. */
async function sealed(userId: string): Promise<string> {
  const record = await store.getUser(userId, now);
  return record?.factors[0]?.sealedSecret ?? '';
}

// 1. Everyone enrolls under the 2025 key.
const before = service({ 'key-2025': key2025 }, 'key-2025');
const alice = await enroll(before, 'alice');
const bob = await enroll(before, 'bob');
console.log('alice sealed as', (await sealed('alice')).split('.').slice(0, 2).join('.'), '…');
assert.match(await sealed('alice'), /^A256GCM\.key-2025\./);

// 2. Rotation: add the 2026 key and make it primary; keep the old one for opening.
now += 60_000;
const during = service({ 'key-2025': key2025, 'key-2026': key2026 }, 'key-2026');
assert.equal((await during.verify('alice', generateTOTP(alice, { now }))).ok, true);
const carol = await enroll(during, 'carol'); // new enrollments use the new key
assert.match(await sealed('carol'), /^A256GCM\.key-2026\./);

// 3. Re-encrypt old records: every factor and pending enrollment of each user
//    (a batch job over all users, safe to re-run; see docs/security-model.md).
for (const userId of ['alice', 'carol']) {
  const result = await during.reencryptSecret(userId);
  console.log(`reencryptSecret(${userId}):`, result);
}
assert.match(await sealed('alice'), /^A256GCM\.key-2026\./);

// 4. Retire the old key. Re-encrypted users are fine; a missed one (bob) fails
//    loudly with MFAError 'ERR_CIPHER' rather than silently: re-encrypt everyone first.
now += 60_000;
const after = service({ 'key-2026': key2026 }, 'key-2026');
assert.equal((await after.verify('alice', generateTOTP(alice, { now }))).ok, true);
assert.equal((await after.verify('carol', generateTOTP(carol, { now }))).ok, true);
await assert.rejects(
  after.verify('bob', generateTOTP(bob, { now })),
  (error: unknown) => error instanceof MFAError && error.code === 'ERR_CIPHER',
);
console.log("bob was not re-encrypted: verify rejects with MFAError 'ERR_CIPHER'");

// 5. A sealed secret is bound to its user: copied into another user's record, it does not open.
const aliceRecord = await store.getUser('alice', now);
const carolRecord = await store.getUser('carol', now);
const [aliceFactor, carolFactor] = [aliceRecord?.factors[0], carolRecord?.factors[0]];
assert.ok(aliceFactor && carolFactor);
await store.replaceSealedSecret('carol', carolFactor.id, aliceFactor.sealedSecret);
await assert.rejects(
  after.verify('carol', generateTOTP(alice, { now })),
  (error: unknown) => error instanceof MFAError && error.code === 'ERR_CIPHER',
);
console.log("alice's sealed secret in carol's record does not open: MFAError 'ERR_CIPHER'");
console.log('key rotation example: ok');
