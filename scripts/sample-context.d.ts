// What a sample marked ```ts fragment may assume without declaring it: the
// values a reader's own application supplies. Plain ```ts samples get none of
// this (see scripts/check-samples.mjs and CONTRIBUTING.md, "Code samples").
// Every totpkit export is also in scope in a fragment, unless it imports it.
import type { FactorParams, MFA, MFAEvent, MFAStore, SecretCipher } from 'totpkit';
import type { Pool } from 'pg';

declare global {
  /** The signed-in user (after the first factor). */
  const user: {
    id: string;
    email: string;
    lastStep: number;
    nextCounter: number;
    totpSecret: string;
  };
  const userId: string;
  /** A factor of the user (from listFactors or beginEnrollment). */
  const factorId: string;
  const oldPhoneId: string;
  /** A row of a legacy table (importing existing secrets). */
  const row: { userId: string; base32Secret: string; lastUsedStep: number };
  const userIds: readonly string[];
  /** The service, from createMFA. */
  const mfa: MFA;
  const store: MFAStore;
  const cipher: SecretCipher;
  const pool: Pool;
  /** Codes and fields the user typed. */
  const code: string;
  const code1: string;
  const code2: string;
  const form: { code: string; code1: string; code2: string; recoveryCode: string };
  const typed: string;
  /** A secret (raw bytes) and a URI from earlier steps. */
  const secret: Uint8Array;
  const bytes: Uint8Array;
  const uri: string;
  /** The time of the check, Unix milliseconds. */
  const now: number;
  /** Secrets the service holds besides the one being bound (enrollment diagnoses). */
  const replacedPendingSecret: Uint8Array;
  const otherFactorSecret: Uint8Array;
  const otherFactorParams: FactorParams;
  /** A database connection URL from the app's configuration. */
  const databaseURL: string;
  /** 32 random bytes kept outside the database (docs/secret-keys.md). */
  const keyFromYourSecretManager: Uint8Array;
  const aes256Key: Uint8Array;
  const key: Uint8Array;
  const keyBytesFromYourSecretManager: Uint8Array;
  const key32Bytes: Uint8Array;
  /** 32 random bytes for verification code hashes (docs/enrollment.md). */
  const verificationKey: Uint8Array;
  /** A proof from checkVerificationCode, or verify / useRecoveryCode with proofFor. */
  const proof: string;
  /** The application's own helpers. */
  function sendEmail(to: string, subject: string, text: string): Promise<void>;
  function showQR(uri: string): void;
  function say(message: string): void;
  function showOnce(recoveryCodes: readonly string[]): void;
  function signIn(user: { id: string }): void;
  function startSession(user: { id: string }): void;
  function showMessage(reason: string, retryAfterMs?: number): void;
  function suggestNewCodes(): void;
  function askToEnrollANewFactorLater(userId: string): void;
  function suggestNewRecoveryCodes(): void;
  const log: { info(...values: unknown[]): void; warn(...values: unknown[]): void };
  const auditLog: { write(event: MFAEvent): void };
  const audit: { write(event: MFAEvent): void };
  /** A connection to a test database, for a store's conformance suite. */
  const connection: unknown;
  function connectToTestDatabase(): Promise<unknown>;
}
