// Runs inside a temporary project that installed the packed totpkit tarball,
// under Node, Bun and Deno (see runtime-smoke.mjs). Plain JavaScript, only the
// package's public entry points. Exits non-zero on the first failed check.
import * as totpkit from 'totpkit';
import * as qr from 'totpkit/qr';
import { attemptDelayMs } from 'totpkit/store';
import { PostgresStore } from 'totpkit/postgres';
import { RedisStore } from 'totpkit/redis';
import { SQLiteStore, bunSqliteDriver } from 'totpkit/sqlite';

const runtime =
  typeof globalThis.Deno !== 'undefined'
    ? `deno ${globalThis.Deno.version.deno}`
    : typeof globalThis.Bun !== 'undefined'
      ? `bun ${globalThis.Bun.version}`
      : `node ${process.versions.node}`;
let checks = 0;
function check(name, actual, expected) {
  checks++;
  if (actual !== expected) {
    throw new Error(`${runtime}: ${name}: expected ${String(expected)}, got ${String(actual)}`);
  }
}

const { generateTOTP, verifyTOTP, verifyConsecutiveTOTP, buildKeyURI, parseKeyURI } = totpkit;
const ascii = (text) => new TextEncoder().encode(text);

// RFC 6238 Appendix B, at T = 59 s and T = 20000000000 s (64-bit steps, past 2038).
const seeds = {
  SHA1: ascii('12345678901234567890'),
  SHA256: ascii('12345678901234567890123456789012'),
  SHA512: ascii('1234567890123456789012345678901234567890123456789012345678901234'),
};
const vectors = [
  [59, 'SHA1', '94287082'],
  [59, 'SHA256', '46119246'],
  [59, 'SHA512', '90693936'],
  [20000000000, 'SHA1', '65353130'],
  [20000000000, 'SHA256', '77737706'],
  [20000000000, 'SHA512', '47863826'],
];
for (const [time, algorithm, code] of vectors) {
  const options = { now: time * 1000, algorithm, digits: 8 };
  check(`RFC 6238 ${algorithm} at ${time}`, generateTOTP(seeds[algorithm], options), code);
  check(`verify ${algorithm} at ${time}`, verifyTOTP(seeds[algorithm], code, options).ok, true);
}

// The platform CSPRNG, base32, key URIs and the binding check.
const secret = totpkit.generateSecret();
check('secret length', secret.length, 20);
check(
  'base32 round trip',
  totpkit.encodeBase32(totpkit.decodeBase32(totpkit.encodeBase32(secret))),
  totpkit.encodeBase32(secret),
);
const uri = buildKeyURI({ secret, issuer: 'Acme Co', accountName: 'alice@example.com' });
check(
  'key URI round trip',
  totpkit.encodeBase32(parseKeyURI(uri).secret),
  totpkit.encodeBase32(secret),
);
const now = 1_700_000_000_000;
const pair = [generateTOTP(secret, { now: now - 30_000 }), generateTOTP(secret, { now })];
check('two consecutive codes bind', verifyConsecutiveTOTP(secret, pair, { now }).ok, true);
check('swapped codes do not', verifyConsecutiveTOTP(secret, [pair[1], pair[0]], { now }).ok, false);

// totpkit/qr
check('SVG', qr.renderQRCodeSVG(uri).startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), true);
check('data URL', qr.renderQRCodeDataURL(uri).startsWith('data:image/svg+xml;base64,'), true);
check('terminal', qr.renderQRCodeTerminal(uri).includes('█'), true);

// The service end to end: AES-256-GCM over the runtime's WebCrypto, the
// identity step (an e-mailed code, HMAC-hashed, and its proof), scrypt
// recovery codes, replay protection, on MemoryStore.
let clock = 1_750_000_000_000;
const outbox = [];
const mfa = totpkit.createMFA({
  store: new totpkit.MemoryStore(),
  issuer: 'Acme',
  cipher: totpkit.createAESGCMCipher({
    keys: { k1: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
    primaryKeyId: 'k1',
  }),
  clock: () => clock,
  verification: {
    sender: async (message) => void outbox.push(message.code),
    key: globalThis.crypto.getRandomValues(new Uint8Array(32)),
  },
});
const sent = await mfa.sendVerificationCode('alice', {
  channel: 'email',
  destination: 'alice@example.com',
  purpose: 'enroll',
});
check('verification code sent', sent.ok && outbox.length, 1);
const checked = await mfa.checkVerificationCode('alice', outbox[0], { purpose: 'enroll' });
check('verification code checked', checked.ok, true);
const enrollment = await mfa.beginEnrollment('alice', {
  accountName: 'alice@example.com',
  proof: checked.proof,
});
const key = totpkit.decodeBase32(enrollment.secret);
const bound = await mfa.completeEnrollment(
  'alice',
  generateTOTP(key, { now: clock - 30_000 }),
  generateTOTP(key, { now: clock }),
);
check('bind', bound.ok, true);
check('recovery codes', bound.recoveryCodes.length, 10);
clock += 30_000;
const login = generateTOTP(key, { now: clock });
check('login', (await mfa.verify('alice', login)).ok, true);
check('replay', (await mfa.verify('alice', login)).reason, 'replayed');
check('recovery code', (await mfa.useRecoveryCode('alice', bound.recoveryCodes[0])).ok, true);

// The store subpaths load and construct without their drivers installed.
check(
  'PostgresStore',
  typeof new PostgresStore({ client: { query: async () => ({ rows: [] }) } }).migrate,
  'function',
);
check('RedisStore', typeof RedisStore, 'function');
// The store-adapter helpers (totpkit/store): the default policy's back-off.
check(
  'attemptDelayMs',
  attemptDelayMs({ freeAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 900_000, maxFailures: 100 }, 7),
  4_000,
);

// SQLiteStore: on Bun, the service end to end on bun:sqlite; elsewhere it constructs.
if (typeof globalThis.Bun !== 'undefined') {
  const { Database } = await import('bun:sqlite');
  const store = new SQLiteStore({ driver: bunSqliteDriver(new Database(':memory:')) });
  await store.migrate();
  const onSQLite = totpkit.createMFA({
    store,
    issuer: 'Acme',
    cipher: totpkit.plaintextCipher(),
    clock: () => clock,
    // The identity step ran above; here the store is what is checked.
    policy: { proofs: { required: { enroll: 'none' } } },
  });
  const started = await onSQLite.beginEnrollment('bob', { accountName: 'bob@example.com' });
  const bobKey = totpkit.decodeBase32(started.secret);
  const bobBound = await onSQLite.completeEnrollment(
    'bob',
    generateTOTP(bobKey, { now: clock - 30_000 }),
    generateTOTP(bobKey, { now: clock }),
  );
  check('bind on bun:sqlite', bobBound.ok, true);
  clock += 30_000;
  const bobCode = generateTOTP(bobKey, { now: clock });
  check('login on bun:sqlite', (await onSQLite.verify('bob', bobCode)).ok, true);
  check('replay on bun:sqlite', (await onSQLite.verify('bob', bobCode)).reason, 'replayed');
} else {
  const driver = { run: async () => [], transaction: async () => [] };
  check('SQLiteStore', typeof new SQLiteStore({ driver }).migrate, 'function');
}

console.log(`ok ${runtime}: ${checks} checks`);
