/**
 * The libraries the benchmark measures, behind one interface, each set up the
 * way its documentation suggests and configured alike: HMAC-SHA1, 6 digits,
 * 30-second steps, T0 = 0, a window of one step each side for verification and
 * ten steps for the binding search. `checkContender` (in totp.ts) proves each
 * one gives the right answers before anything is timed.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as OTPAuth from 'otpauth';
import { generateSync as otplibGenerate, verifySync as otplibVerify } from 'otplib';
import speakeasy from 'speakeasy';
import { verifyConsecutiveTOTP as verifyConsecutiveTOTP01 } from '../test/reference/binding-0.1.ts';
import {
  createTOTPKey as createTOTPKey01,
  verifyTOTP as verifyTOTP01,
} from '../test/reference/totp-0.1.ts';
import * as reference from './reference.ts';

/**
 * totpkit as an application gets it: the built package (dist/index.js, what
 * `npm pack` ships), rebuilt first if src/ is newer. Loaded by URL, so that
 * neither tsx nor tsconfig's paths send it to src/.
 */
async function builtPackage(): Promise<typeof import('../src/index.ts')> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dist = new URL('../dist/index.js', import.meta.url);
  let newestSource = 0;
  for (const entry of readdirSync(`${root}src`, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      newestSource = Math.max(newestSource, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
    }
  }
  if (!existsSync(dist) || statSync(dist).mtimeMs < newestSource) {
    console.log('dist/ is older than src/: building it (npx tsup)…');
    execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'inherit' });
  }
  return (await import(dist.href)) as typeof import('../src/index.ts');
}
const { createTOTPKey, decodeBase32, verifyConsecutiveTOTP, verifyTOTP } = await builtPackage();

/** What each benchmark case needs from a library. */
export interface Contender {
  /** Display name. */
  name: string;
  /** Version measured. */
  version: string;
  /** How the cached-key cases hold the key, for the report. */
  cachedKey: string;
  /** The code at `now`, with the cached key. */
  generate(now: number): string;
  /** Whether `code` is within ±1 step of `now`, with the cached key. */
  verify(code: string, now: number): boolean;
  /** The login path: a stored base32 secret, decoded and used once, window ±1. */
  login(base32: string, code: string, now: number): boolean;
  /** Whether the codes are those of two consecutive steps ending within ±10 steps of `now`. */
  bind(secret: Uint8Array, code1: string, code2: string, now: number): boolean;
  /** Verify with HMAC-SHA256 or HMAC-SHA512, cached key, window ±1 (totpkit, totpkit 0.1, node:crypto). */
  verifySHA2?(algorithm: SHA2, code: string, now: number): boolean;
}

/** The SHA-2 algorithms the SHA-2 cases measure. */
export type SHA2 = 'SHA256' | 'SHA512';

// Read from disk: not every package exports its package.json.
const versionOf = (packageJSON: string): string =>
  (
    JSON.parse(readFileSync(new URL(`../${packageJSON}`, import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;

const PERIOD = 30;
const BIND_WINDOW = 10;

/**
 * The binding search for libraries without one, built on their code
 * generator. It does what verifyConsecutiveTOTP does: for each candidate end
 * step, compute the first code and compute the second only if the first
 * matched, so a search without a match costs 2 × 10 + 1 codes, as in totpkit.
 */
function searchPair(
  codeAt: (step: number) => string,
  code1: string,
  code2: string,
  now: number,
): boolean {
  const current = Math.floor(now / (PERIOD * 1000));
  for (let end = current - BIND_WINDOW; end <= current + BIND_WINDOW; end++) {
    if (codeAt(end - 1) === code1 && codeAt(end) === code2) return true;
  }
  return false;
}

const exactBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** The contenders, given the cached-key cases' secrets (SHA-1, then SHA-256 and SHA-512). */
export function contenders(secret: Uint8Array, sha2: Record<SHA2, Uint8Array>): Contender[] {
  const key = createTOTPKey(secret);
  const key01 = createTOTPKey01(secret);
  const sha2Keys = {
    SHA256: createTOTPKey(sha2.SHA256, { algorithm: 'SHA256' }),
    SHA512: createTOTPKey(sha2.SHA512, { algorithm: 'SHA512' }),
  };
  const sha2Keys01 = {
    SHA256: createTOTPKey01(sha2.SHA256, { algorithm: 'SHA256' }),
    SHA512: createTOTPKey01(sha2.SHA512, { algorithm: 'SHA512' }),
  };
  const keyObject = reference.importKey(secret);
  const sha2KeyObjects = {
    SHA256: reference.importKey(sha2.SHA256),
    SHA512: reference.importKey(sha2.SHA512),
  };
  const sha2Hash = { SHA256: 'sha256', SHA512: 'sha512' } as const;
  const otpauthParams = { algorithm: 'SHA1', digits: 6, period: PERIOD } as const;
  const otpauthTOTP = new OTPAuth.TOTP({
    ...otpauthParams,
    secret: new OTPAuth.Secret({ buffer: exactBuffer(secret) }),
  });
  const otplibParams = { algorithm: 'sha1', digits: 6, period: PERIOD, t0: 0 } as const;
  // speakeasy's types ask for a string, but a Buffer skips its decoding.
  const speakeasySecret = Buffer.from(secret) as unknown as string;
  const speakeasyParams = { algorithm: 'sha1', digits: 6, step: PERIOD } as const;

  return [
    {
      name: 'totpkit',
      version: versionOf('package.json'),
      cachedKey: '`createTOTPKey(secret)` (the built package, dist/)',
      generate: (now) => key.generate(now),
      verify: (code, now) => key.verify(code, { now, window: 1 }).ok,
      login: (base32, code, now) => verifyTOTP(decodeBase32(base32), code, { now, window: 1 }).ok,
      bind: (bytes, code1, code2, now) =>
        verifyConsecutiveTOTP(bytes, [code1, code2], { now, window: BIND_WINDOW }).ok,
      verifySHA2: (algorithm, code, now) => sha2Keys[algorithm].verify(code, { now, window: 1 }).ok,
    },
    {
      // The noble-based core of 0.1.0 (test/reference/), measured in the same
      // run so that the new kernels' gain is a ratio of interleaved rounds.
      name: 'totpkit 0.1',
      version: '0.1.0',
      cachedKey: '`createTOTPKey(secret)` (noble `hmac.create`, states cloned per step)',
      generate: (now) => key01.generate(now),
      verify: (code, now) => key01.verify(code, { now, window: 1 }).ok,
      login: (base32, code, now) => verifyTOTP01(decodeBase32(base32), code, { now, window: 1 }).ok,
      bind: (bytes, code1, code2, now) =>
        verifyConsecutiveTOTP01(bytes, [code1, code2], { now, window: BIND_WINDOW }).ok,
      verifySHA2: (algorithm, code, now) =>
        sha2Keys01[algorithm].verify(code, { now, window: 1 }).ok,
    },
    {
      name: 'node:crypto',
      version: process.versions.node,
      cachedKey: '`createSecretKey(secret)` (a KeyObject)',
      generate: (now) => reference.generate(keyObject, now),
      verify: (code, now) => reference.verify(keyObject, code, now, 1),
      verifySHA2: (algorithm, code, now) =>
        reference.verify(sha2KeyObjects[algorithm], code, now, 1, sha2Hash[algorithm]),
      login: (base32, code, now) => reference.verify(reference.decodeBase32(base32), code, now, 1),
      bind: (bytes, code1, code2, now) =>
        searchPair(
          (step) => String(reference.hotp(bytes, step)).padStart(6, '0'),
          code1,
          code2,
          now,
        ),
    },
    {
      name: 'otpauth',
      version: versionOf('node_modules/otpauth/package.json'),
      cachedKey: 'one `new TOTP({ secret })` object',
      generate: (now) => otpauthTOTP.generate({ timestamp: now }),
      verify: (code, now) =>
        otpauthTOTP.validate({ token: code, timestamp: now, window: 1 }) !== null,
      login: (base32, code, now) =>
        new OTPAuth.TOTP({ ...otpauthParams, secret: OTPAuth.Secret.fromBase32(base32) }).validate({
          token: code,
          timestamp: now,
          window: 1,
        }) !== null,
      bind: (bytes, code1, code2, now) => {
        const totp = new OTPAuth.TOTP({
          ...otpauthParams,
          secret: new OTPAuth.Secret({ buffer: exactBuffer(bytes) }),
        });
        return searchPair(
          (step) => totp.generate({ timestamp: step * PERIOD * 1000 }),
          code1,
          code2,
          now,
        );
      },
    },
    {
      name: 'otplib',
      version: versionOf('node_modules/otplib/package.json'),
      cachedKey: 'the secret as bytes (otplib keeps no key state)',
      generate: (now) => otplibGenerate({ ...otplibParams, secret, epoch: now / 1000 }),
      // epochTolerance is in seconds: ±30 s covers exactly the steps current - 1 to current + 1.
      verify: (code, now) =>
        otplibVerify({
          ...otplibParams,
          secret,
          token: code,
          epoch: now / 1000,
          epochTolerance: 30,
        }).valid,
      login: (base32, code, now) =>
        otplibVerify({
          ...otplibParams,
          secret: base32,
          token: code,
          epoch: now / 1000,
          epochTolerance: 30,
        }).valid,
      bind: (bytes, code1, code2, now) =>
        searchPair(
          (step) => otplibGenerate({ ...otplibParams, secret: bytes, epoch: step * PERIOD }),
          code1,
          code2,
          now,
        ),
    },
    {
      name: 'speakeasy',
      version: versionOf('node_modules/speakeasy/package.json'),
      cachedKey: 'the secret as a Buffer',
      generate: (now) =>
        speakeasy.totp({ ...speakeasyParams, secret: speakeasySecret, time: now / 1000 }),
      verify: (code, now) =>
        speakeasy.totp.verifyDelta({
          ...speakeasyParams,
          secret: speakeasySecret,
          token: code,
          time: now / 1000,
          window: 1,
        }) !== undefined,
      login: (base32, code, now) =>
        speakeasy.totp.verifyDelta({
          ...speakeasyParams,
          secret: base32,
          encoding: 'base32',
          token: code,
          time: now / 1000,
          window: 1,
        }) !== undefined,
      bind: (bytes, code1, code2, now) => {
        const buffer = Buffer.from(bytes) as unknown as string;
        return searchPair(
          (step) => speakeasy.totp({ ...speakeasyParams, secret: buffer, time: step * PERIOD }),
          code1,
          code2,
          now,
        );
      },
    },
  ];
}
