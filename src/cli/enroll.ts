/**
 * `totpkit enroll` (internal): the service's whole flow in a terminal, against
 * an in-memory store — QR code, two consecutive codes (a refusal the service
 * diagnoses is explained: a phone clock hours off, an app that ignored
 * `--algorithm`, `--digits` or `--period`), recovery codes, then a login code
 * checked as a server would check it.
 * @module
 * @internal
 */
import { createAESGCMCipher } from '../mfa/cipher.ts';
import { createMFA } from '../mfa/service.ts';
import { renderQRCodeTerminal } from '../qr.ts';
import { MemoryStore } from '../store/memory.ts';
import { clockOffsetAdvice, diagnosisAdvice, type CodeParameters } from './advice.ts';
import {
  asUsageError,
  EXIT,
  helpText,
  LABEL_FLAGS,
  optionalString,
  PARAM_HELP,
  PARAM_OPTIONS,
  paramFlags,
  requiredString,
  type Command,
  type IO,
} from './options.ts';

const USER_ID = 'cli-user';

function waitText(retryAfterMs: number): string {
  return `${Math.ceil(retryAfterMs / 1000)} seconds`;
}

/** What to tell the user about a refused pair of codes, in plain words. */
function bindingAdvice(
  result: { reason: string },
  params: CodeParameters,
  retryAfterMs: number | undefined,
): string {
  const diagnosed = diagnosisAdvice(result, params);
  if (diagnosed !== null) return diagnosed;
  switch (result.reason) {
    case 'malformed':
      return `Each code is ${params.digits} digits. Type them exactly as your app shows them.`;
    case 'same_code':
      return 'You entered the same code twice. Wait for your app to show a new code.';
    case 'wrong_order':
      return 'The codes are in the wrong order: enter the older code first.';
    case 'mismatch':
      return "These codes don't match. Check that your app shows the account you just scanned and that its clock is right.";
    case 'throttled':
      return `Too many attempts. Wait ${waitText(retryAfterMs ?? 1000)}.`;
    default:
      return `Not accepted (${result.reason}).`;
  }
}

/** What to tell the user about a refused login code. */
function loginAdvice(reason: string, digits: number, retryAfterMs: number | undefined): string {
  switch (reason) {
    case 'replayed':
      return 'That code has already been used. Wait for your app to show the next code.';
    case 'malformed':
      return `A code is ${digits} digits.`;
    case 'mismatch':
      return "That code isn't right. Enter the code your app shows now.";
    case 'throttled':
      return `Too many attempts. Wait ${waitText(retryAfterMs ?? 1000)}.`;
    case 'resync_required':
      return "Your device's clock is off by minutes; set it to update automatically.";
    default:
      return `Not accepted (${reason}).`;
  }
}

/** Reads the next line, or throws an "input ended" marker. */
async function ask(io: IO, question: string): Promise<string> {
  const line = await io.prompt(question);
  if (line === undefined) throw new InputEnded();
  return line.trim();
}

class InputEnded extends Error {}

export const enroll: Command = {
  summary: 'enroll an authenticator app interactively (in memory)',
  help: helpText(
    'totpkit enroll --account NAME [--issuer NAME] [parameters]',
    'Walks through enrollment as a server using totpkit would: shows a QR code\n' +
      'and the secret, asks for two consecutive codes from your app (and says\n' +
      "why they don't match when it can tell: a phone clock that is off, an app\n" +
      'that ignored the parameters), prints the recovery codes, then asks for a\n' +
      'login code. Nothing is saved.\n' +
      'Exits 0 once a login code is accepted, 1 if input ends before that.',
    [
      ['--account NAME', 'the account shown in the app, e.g. alice@example.com'],
      ['--issuer NAME', 'the service shown in the app (default "totpkit enroll")'],
      ...PARAM_HELP,
    ],
  ),
  options: { account: { type: 'string' }, issuer: { type: 'string' }, ...PARAM_OPTIONS },
  async run(values, _positionals, io) {
    const accountName = requiredString(values, 'account');
    const issuer = optionalString(values, 'issuer') ?? 'totpkit enroll';
    const params = paramFlags(values);
    // Secrets sealed as a server should seal them, under a key that lives only
    // as long as this process.
    const cipher = createAESGCMCipher({
      keys: { cli: globalThis.crypto.getRandomValues(new Uint8Array(32)) },
      primaryKeyId: 'cli',
    });
    let mfa, begun;
    try {
      // The service checks the issuer, and the key URI the account name.
      // The person at this terminal is the only user of a store that lives as
      // long as the process: no identity step to prove.
      mfa = createMFA({
        store: new MemoryStore(),
        issuer,
        cipher,
        clock: io.now,
        totp: params,
        policy: { proofs: { required: { enroll: 'none' } } },
      });
      begun = await mfa.beginEnrollment(USER_ID, { accountName });
    } catch (error) {
      throw asUsageError(error, { ...LABEL_FLAGS, 'totp.period': '--period' });
    }
    const { secret, uri } = begun;
    io.out('Scan this QR code with your authenticator app:\n\n');
    io.out(renderQRCodeTerminal(uri));
    io.out(`\nOr add it by hand (time-based): ${secret.replace(/(.{4})(?=.)/g, '$1 ')}\n`);
    if (params.algorithm !== 'SHA1' || params.digits !== 6 || params.period !== 30) {
      // Someone typing the key needs these; many apps ignore them in a QR code.
      io.out(
        `Settings, if your app asks: ${params.algorithm}, ${params.digits} digits, a new code every ${params.period} seconds\n`,
      );
    }
    io.out('\n');

    try {
      for (;;) {
        const code1 = await ask(io, 'Enter the code your app shows: ');
        const code2 = await ask(io, 'Wait for the next code and enter it: ');
        const bound = await mfa.completeEnrollment(USER_ID, code1, code2);
        if (bound.ok) {
          io.out('\nYour authenticator app is bound. Recovery codes (each works once;\n');
          io.out('keep them somewhere safe):\n\n');
          // A new user's first factor always comes with a set.
          for (const code of bound.recoveryCodes ?? []) io.out(`  ${code}\n`);
          io.out('\n');
          const warning = clockOffsetAdvice(bound.clockOffsetSeconds);
          if (warning !== null) io.out(`${warning}\n\n`);
          break;
        }
        if (
          bound.reason === 'expired' ||
          bound.reason === 'not_pending' ||
          bound.reason === 'locked'
        ) {
          io.out(
            `The enrollment can no longer be completed (${bound.reason}). Run totpkit enroll again.\n`,
          );
          return EXIT.rejected;
        }
        io.out(
          `${bindingAdvice(bound, params, 'retryAfterMs' in bound ? bound.retryAfterMs : undefined)}\n`,
        );
      }
      for (;;) {
        const code = await ask(io, 'Now sign in: enter a new code from your app: ');
        const login = await mfa.verify(USER_ID, code);
        if (login.ok) {
          io.out('Signed in: the code was accepted.\n');
          return EXIT.ok;
        }
        if (login.reason === 'locked') {
          io.out(
            'Too many wrong codes: the factor is locked. Use a recovery code in a real app.\n',
          );
          return EXIT.rejected;
        }
        io.out(
          `${loginAdvice(login.reason, params.digits, 'retryAfterMs' in login ? login.retryAfterMs : undefined)}\n`,
        );
      }
    } catch (error) {
      if (!(error instanceof InputEnded)) throw error;
      io.out('\nInput ended before a login code was accepted.\n');
      return EXIT.rejected;
    }
  },
};
