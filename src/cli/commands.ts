/**
 * The stateless `totpkit` commands (internal): `secret`, `uri`, `code`,
 * `verify` and `qr`.
 * @module
 * @internal
 */
import { encodeBase32 } from '../base32.ts';
import { normalizeCode } from '../code-input.ts';
import { renderQRCodeTerminal, type QRErrorCorrection } from '../qr.ts';
import { generateSecret } from '../secret.ts';
import { createTOTPKey, MAX_WINDOW } from '../totp.ts';
import { buildKeyURI } from '../uri-build.ts';
import {
  asUsageError,
  EXIT,
  helpText,
  integerFlag,
  KEY_HELP,
  KEY_OPTIONS,
  keyFlags,
  LABEL_FLAGS,
  PARAM_HELP,
  PARAM_OPTIONS,
  optionalString,
  refuseWithURI,
  requiredString,
  requireKey,
  timeFlag,
  UsageError,
  type Command,
  type KeyFlags,
  type Values,
} from './options.ts';

const TIME_HELP: [string, string] = [
  '--time WHEN',
  'Unix seconds or e.g. 2030-01-01T00:00:00Z (default: now)',
];

const LABEL_OPTIONS = { account: { type: 'string' }, issuer: { type: 'string' } } as const;
const LABEL_HELP: [string, string][] = [
  ['--account NAME', "the user's account, e.g. alice@example.com"],
  ['--issuer NAME', 'your service, e.g. Acme (recommended)'],
];

/** Builds the key URI from `--uri`, or from the key, label and parameter flags. */
function keyURI(values: Values, key: KeyFlags & { secret: Uint8Array }): string {
  const given = optionalString(values, 'uri');
  if (given !== undefined) {
    refuseWithURI(values, ['account', 'issuer']);
    return given;
  }
  const issuer = optionalString(values, 'issuer');
  try {
    return buildKeyURI({
      secret: key.secret,
      accountName: requiredString(values, 'account'),
      ...(issuer === undefined ? {} : { issuer }),
      algorithm: key.algorithm,
      digits: key.digits,
      period: key.period,
    });
  } catch (error) {
    throw asUsageError(error, LABEL_FLAGS);
  }
}

export const secret: Command = {
  summary: 'print a new random secret in base32',
  help: helpText(
    'totpkit secret [--bytes N]',
    'Prints a new secret from the system CSPRNG, in base32 without padding.',
    [['--bytes N', 'length in bytes, 16 to 64 (default 20, i.e. 160 bits)']],
  ),
  options: { bytes: { type: 'string' } },
  run(values, _positionals, io) {
    const bytes = integerFlag(values, 'bytes', 16, 64) ?? 20;
    io.out(`${encodeBase32(generateSecret({ bytes }))}\n`);
    return EXIT.ok;
  },
};

export const uri: Command = {
  summary: 'print an otpauth:// key URI',
  help: helpText(
    'totpkit uri --account NAME [--issuer NAME] [--secret BASE32] [options]',
    'Prints the otpauth://totp/ key URI that authenticator apps read from a QR code.\n' +
      'Without --secret or $TOTPKIT_SECRET, a new 20-byte secret is generated.',
    [
      ...LABEL_HELP,
      ['--secret BASE32', 'the shared secret (default: $TOTPKIT_SECRET, else a new one)'],
      ...PARAM_HELP,
    ],
  ),
  options: { ...LABEL_OPTIONS, secret: { type: 'string' }, ...PARAM_OPTIONS },
  run(values, _positionals, io) {
    const key = keyFlags(values, io);
    io.out(`${keyURI(values, { ...key, secret: key.secret ?? generateSecret() })}\n`);
    return EXIT.ok;
  },
};

export const code: Command = {
  summary: 'print the code at a time (as oathtool --totp does)',
  help: helpText(
    'totpkit code [--secret BASE32 | --uri URI] [options]',
    'Prints the TOTP code (RFC 6238) of the time step that contains --time.\n' +
      'Prints exactly what `oathtool --totp` prints for the same key and time.',
    [...KEY_HELP, TIME_HELP],
  ),
  options: { ...KEY_OPTIONS, time: { type: 'string' } },
  run(values, _positionals, io) {
    const key = requireKey(values, io);
    const now = timeFlag(values, io);
    io.out(`${createTOTPKey(key.secret, key).generate(now)}\n`);
    return EXIT.ok;
  },
};

export const verify: Command = {
  summary: 'check a code (exit 0 if accepted, 1 if not)',
  help: helpText(
    'totpkit verify CODE [--secret BASE32 | --uri URI] [options]',
    'Checks CODE against the time steps around --time: the current one first,\n' +
      'then -1, +1, … within --window. White space in CODE is ignored.\n' +
      'Exits 0 if it is accepted and 1 if it is not.',
    [
      ...KEY_HELP,
      TIME_HELP,
      ['--window STEPS', 'steps accepted each side of the current one (default 1)'],
    ],
  ),
  options: { ...KEY_OPTIONS, time: { type: 'string' }, window: { type: 'string' } },
  positionals: true,
  run(values, positionals, io) {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0 ? 'the CODE to check is required' : 'give exactly one CODE',
      );
    }
    const key = requireKey(values, io);
    const now = timeFlag(values, io);
    const window = integerFlag(values, 'window', 0, MAX_WINDOW) ?? 1;
    // As the MFA service reads a typed code: white space removed, NFKC (full-width digits).
    const typed = normalizeCode(positionals[0], 'CODE');
    const result = createTOTPKey(key.secret, key).verify(typed, { now, window });
    if (result.ok) {
      const when =
        result.delta === 0
          ? 'the current step'
          : `${Math.abs(result.delta)} step${Math.abs(result.delta) === 1 ? '' : 's'} ` +
            (result.delta < 0 ? 'ago' : 'ahead');
      io.out(`ok: the code of time step ${result.step} (${when})\n`);
      return EXIT.ok;
    }
    const why =
      result.reason === 'malformed'
        ? `a code is exactly ${key.digits} digits`
        : `no time step within ${window} of the current one has this code`;
    io.out(`rejected: ${result.reason} (${why})\n`);
    return EXIT.rejected;
  },
};

const LEVELS: readonly string[] = ['low', 'medium', 'quartile', 'high'];

export const qr: Command = {
  summary: 'show a key URI as a QR code in the terminal',
  help: helpText(
    'totpkit qr (--uri URI | --secret BASE32 --account NAME) [options]',
    'Draws the key URI as a QR code for an authenticator app to scan, in black on\n' +
      'white (set with ANSI colours) so it reads the same on dark and light themes.',
    [
      ...LABEL_HELP,
      ...KEY_HELP,
      ['--error-correction L', 'low, medium (default), quartile or high'],
      ['--quiet-zone N', 'light margin in modules, 0 to 16 (default 4)'],
    ],
  ),
  options: {
    ...LABEL_OPTIONS,
    ...KEY_OPTIONS,
    'error-correction': { type: 'string' },
    'quiet-zone': { type: 'string' },
  },
  run(values, _positionals, io) {
    const level = optionalString(values, 'error-correction') ?? 'medium';
    if (!LEVELS.includes(level)) {
      throw new UsageError(
        `--error-correction must be low, medium, quartile or high, got "${level}"`,
      );
    }
    const quietZone = integerFlag(values, 'quiet-zone', 0, 16) ?? 4;
    const text = keyURI(values, requireKey(values, io));
    try {
      io.out(
        renderQRCodeTerminal(text, { errorCorrection: level as QRErrorCorrection, quietZone }),
      );
    } catch (error) {
      // Too long for a QR code, or not ASCII.
      throw asUsageError(error, { uri: 'the key URI' });
    }
    return EXIT.ok;
  },
};
