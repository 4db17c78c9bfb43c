// Moving users from a speakeasy-style table into totpkit without asking them
// to enroll again: each row's base32 secret becomes a factor through
// mfa.importFactor, sealed with the service's cipher. Run: npx tsx examples/import-speakeasy.ts
//
// The legacy table here is an array; in your system it is a SELECT over the
// old column (e.g. `SELECT id, two_factor_secret FROM users WHERE two_factor_enabled`).
// The import is safe to re-run: a user who already has a factor named
// "Imported" is refused with 'name_taken' and left as is.
import assert from 'node:assert/strict';
import {
  createAESGCMCipher,
  createMFA,
  generateTOTP,
  decodeBase32,
  MemoryStore,
  type ImportFactorResult,
} from 'totpkit';

/** A row of the old table: speakeasy.generateSecret().base32, and the last step it accepted, if kept. */
interface LegacyRow {
  userId: string;
  base32Secret: string;
  lastUsedStep: number | null;
}

const legacy: LegacyRow[] = [
  // 20 bytes: speakeasy.generateSecret({ length: 20 }). Its default (length 32)
  // gives 32 bytes, 52 base32 characters; both import as they are.
  { userId: 'u-1', base32Secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', lastUsedStep: null },
  // 10 bytes (80 bits), common in older systems: accepted, but flagged weak.
  { userId: 'u-2', base32Secret: 'jbsw y3dp ehpk 3pxp', lastUsedStep: 58_000_000 },
  // Too short to keep (5 bytes): refused with a RangeError, the user must enroll anew.
  { userId: 'u-3', base32Secret: 'JBSWY3DP', lastUsedStep: null },
];

const mfa = createMFA({
  store: new MemoryStore(), // PostgresStore or RedisStore in production
  issuer: 'Acme',
  cipher: createAESGCMCipher({
    keys: { k1: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
    primaryKeyId: 'k1',
  }),
});

const report = {
  imported: 0,
  alreadyImported: 0,
  weak: [] as string[],
  refused: [] as string[],
  skipped: 0,
};
for (const row of legacy) {
  let result: ImportFactorResult;
  try {
    result = await mfa.importFactor(row.userId, {
      secret: row.base32Secret,
      name: 'Imported',
      // Carry the replay state over: a code used on the old system stays used.
      ...(row.lastUsedStep === null ? {} : { lastStep: row.lastUsedStep }),
    });
  } catch (error) {
    // A secret below 80 bits, or not base32: the message never contains the secret.
    report.refused.push(`${row.userId}: ${(error as Error).message}`);
    continue;
  }
  if (!result.ok) {
    report.skipped++; // 'name_taken' (another factor has the name) or 'factor_limit'
    continue;
  }
  if (result.alreadyImported) {
    report.alreadyImported++; // a re-run: the user has this secret already, nothing written
    continue;
  }
  report.imported++;
  if (result.weak) report.weak.push(row.userId); // ask these users to enroll a new factor
  // result.recoveryCodes: the user's first recovery codes. Deliver them the way
  // your old system delivered its backup codes, or let users generate them later
  // with regenerateRecoveryCodes after signing in.
}
console.log(report);
assert.equal(report.imported, 2);
assert.deepEqual(report.weak, ['u-2']);
assert.equal(report.refused.length, 1);

// The imported factor works at once, with the same codes as before.
const code = generateTOTP(decodeBase32(legacy[0]!.base32Secret), { now: Date.now() });
assert.equal((await mfa.verify('u-1', code)).ok, true);
// Re-running the import changes nothing: the secret is recognised, whatever the name.
const factorId = (await mfa.listFactors('u-1'))[0]?.id;
assert.deepEqual(
  await mfa.importFactor('u-1', { secret: legacy[0]!.base32Secret, name: 'Another name' }),
  { ok: true, factorId, weak: false, alreadyImported: true },
);
assert.equal((await mfa.listFactors('u-1')).length, 1);
console.log('import example: ok');
