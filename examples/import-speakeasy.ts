// Moving users from a speakeasy-style table into totpkit without asking them
// to enroll again: each row's base32 secret becomes a factor through
// mfa.importFactor, sealed with the service's cipher. Run: npx tsx examples/import-speakeasy.ts
//
// The legacy table here is an array; in your system it is a SELECT over the
// old column (e.g. `SELECT id, two_factor_secret FROM users WHERE two_factor_enabled
// AND migrated_at IS NULL`). The story (docs/enrollment.md, "Importing existing secrets"):
// - a few rows in flight at a time, each row's error reported without stopping the run;
// - no recovery codes: nobody would see them; users make a set after signing in;
// - safe to run twice: a secret the user already has is recognised (alreadyImported);
// - without lastStep, no code accepted before the import is accepted after it.
import assert from 'node:assert/strict';
import { createAESGCMCipher, createMFA, decodeBase32, generateTOTP, MemoryStore } from 'totpkit';

/** A row of the old table: speakeasy.generateSecret().base32, and the last step it accepted, if kept. */
interface LegacyRow {
  userId: string;
  base32Secret: string;
  lastUsedStep: number | null;
}

// The clock, moved by hand below to show when codes are accepted (default: Date.now).
let now = Date.now();
const stepNow = () => Math.floor(now / 30_000);

const legacy: LegacyRow[] = [
  // 32 bytes, 52 base32 characters: speakeasy.generateSecret()'s default (length 32).
  {
    userId: 'u-1',
    base32Secret: 'YRP52SYFL2B5WBJTZN4ZBQRQ4QB524FHMO4Q75CARYAEYPVGPWQA',
    lastUsedStep: null,
  },
  // 20 bytes: speakeasy.generateSecret({ length: 20 }); the old system kept its last step.
  { userId: 'u-2', base32Secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', lastUsedStep: stepNow() - 2 },
  // 10 bytes (80 bits), common in older systems: accepted, but flagged weak.
  { userId: 'u-3', base32Secret: 'jbsw y3dp ehpk 3pxp', lastUsedStep: null },
  // Too short to keep (5 bytes): refused with a RangeError, the user must enroll anew.
  { userId: 'u-4', base32Secret: 'JBSWY3DP', lastUsedStep: null },
];

const mfa = createMFA({
  store: new MemoryStore(), // PostgresStore or RedisStore in production
  issuer: 'Acme',
  cipher: createAESGCMCipher({
    keys: { k1: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
    primaryKeyId: 'k1',
  }),
  clock: () => now,
});

/** Runs `task` over `items` with at most `concurrency` in flight. */
async function eachLimited<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function migrate(rows: readonly LegacyRow[]) {
  const report = { imported: 0, alreadyImported: 0, weak: [] as string[], refused: [] as string[] };
  await eachLimited(rows, 16, async (row) => {
    try {
      const result = await mfa.importFactor(row.userId, {
        secret: row.base32Secret,
        // Carry the replay state over when the old system kept it: a code used
        // there stays used, and the user can sign in at once. Without it, the
        // factor accepts no code of a step up to the import's own plus policy.window.
        ...(row.lastUsedStep === null ? {} : { lastStep: row.lastUsedStep }),
        // No recovery codes (the default): nobody would see them.
      });
      if (!result.ok) {
        // 'factor_limit' or 'name_taken': the user set up factors in totpkit already.
        report.refused.push(`${row.userId}: ${result.reason}`);
      } else if (result.alreadyImported) {
        report.alreadyImported++; // a re-run: the user has this secret already, nothing written
      } else {
        report.imported++;
        if (result.weak) report.weak.push(row.userId); // ask them to enroll a new factor
      }
      // Here: mark the row as migrated (UPDATE users SET migrated_at = now() WHERE id = …).
    } catch (error) {
      // A secret below 80 bits, or not base32: the message never contains the secret.
      report.refused.push(`${row.userId}: ${(error as Error).message}`);
    }
  });
  return report;
}

const first = await migrate(legacy);
console.log('first run:', first);
assert.equal(first.imported, 3);
assert.deepEqual(first.weak, ['u-3']);
assert.equal(first.refused.length, 1);
assert.equal((await mfa.status('u-1')).recoveryCodesRemaining, 0);

// The run was interrupted, say, and runs again over the same rows: nothing changes.
const second = await migrate(legacy);
console.log('second run:', second);
assert.equal(second.imported, 0);
assert.equal(second.alreadyImported, 3);
assert.deepEqual(
  (await mfa.listFactors('u-1')).map((f) => f.name),
  ['Authenticator'],
);

// u-2's old system kept its last step: the code the app shows now works at once.
const secret2 = decodeBase32(legacy[1]!.base32Secret);
assert.equal((await mfa.verify('u-2', generateTOTP(secret2, { now }))).ok, true);

// u-1's did not: the code the app shows now may have been used on the old
// system just before the move, so it is refused, and the next ones work.
const secret1 = decodeBase32(legacy[0]!.base32Secret);
assert.deepEqual(await mfa.verify('u-1', generateTOTP(secret1, { now })), {
  ok: false,
  reason: 'replayed',
});
now += 60_000; // two steps later (policy.window 1)
// This sign-in code also yields a proof: making recovery codes needs one
// from a current factor (policy.proofs, docs/enrollment.md).
const signedIn = await mfa.verify('u-1', generateTOTP(secret1, { now }), {
  proofFor: 'regenerate_recovery_codes',
});
assert.ok(signedIn.ok && typeof signedIn.proof === 'string');

// Signed in, u-1 makes recovery codes on the account page and sees them once.
const codes = await mfa.regenerateRecoveryCodes('u-1', { proof: signedIn.proof });
assert.equal(codes.ok && codes.recoveryCodes.length, 10);
assert.equal((await mfa.status('u-1')).recoveryCodesRemaining, 10);
console.log('import example: ok');
