/**
 * Flags shared by the `totpkit` commands (internal): parsing with
 * `node:util` `parseArgs`, and checks whose messages name the flag and never
 * repeat a secret.
 * @module
 * @internal
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkBytes, MAX_PERIOD_SECONDS, type Digits, type HashAlgorithm } from '../_assert.ts';
import { decodeBase32 } from '../base32.ts';
import { KeyURIError } from '../errors.ts';
import { parseKeyURI } from '../uri-parse.ts';

/** Exit statuses of the CLI. */
export const EXIT = Object.freeze({ ok: 0, rejected: 1, usage: 2, failure: 3 } as const);

/** A bad command line: the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** What a command reads and writes; `main` passes the process's. */
export interface IO {
  /** Writes to standard output. */
  out: (text: string) => void;
  /** Writes to standard error. */
  err: (text: string) => void;
  /** Writes `question` to standard output and reads one line (undefined at the end of input). */
  prompt: (question: string) => Promise<string | undefined>;
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** The clock, Unix milliseconds. */
  now: () => number;
}

/** Option definitions as `parseArgs` takes them. */
type Options = NonNullable<ParseArgsConfig['options']>;

/** The values `parseArgs` returns for string and boolean flags. */
export type Values = Record<string, string | boolean | undefined>;

/** A subcommand: its help text, flags and implementation. */
export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Its flags (`--help` is added). */
  options: Options;
  /** Whether it takes positional arguments. */
  positionals?: boolean;
  /** Runs it and returns the exit status. */
  run: (values: Values, positionals: string[], io: IO) => Promise<number> | number;
}

/** Parses a command's arguments, turning parseArgs errors into UsageErrors. */
export function parseCommandLine(
  command: Command,
  args: string[],
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
      strict: true,
    });
    return { values: values as Values, positionals };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      // Not quoted: a stray argument may well be a secret typed oathtool-style.
      throw new UsageError(
        'unexpected argument; give a secret with --secret or $TOTPKIT_SECRET, not as an argument',
      );
    }
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  }
}

/** Formats a help text: usage line, description, then aligned flag lines. */
export function helpText(usage: string, description: string, flags: [string, string][]): string {
  const all: [string, string][] = [...flags, ['-h, --help', 'show this help']];
  const width = Math.max(...all.map(([flag]) => flag.length));
  return (
    `Usage: ${usage}\n\n${description}\n\nOptions:\n` +
    all.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}\n`).join('')
  );
}

/** An optional string flag. */
export function optionalString(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * What to throw when a library check refused a flag's value: a RangeError or
 * TypeError about one of the fields in `flags` becomes a UsageError naming
 * the flag instead of the field (`"accountName" must…` → `--account must…`);
 * any other error is returned as it is.
 */
export function asUsageError(error: unknown, flags: Readonly<Record<string, string>>): unknown {
  if (!(error instanceof RangeError || error instanceof TypeError)) return error;
  const field = /^"([^"]+)"/.exec(error.message)?.[1];
  if (field === undefined || !Object.hasOwn(flags, field)) return error;
  return new UsageError(`${flags[field]}${error.message.slice(field.length + 2)}`);
}

/** The library fields that `--account` and `--issuer` set, for {@link asUsageError}. */
export const LABEL_FLAGS = Object.freeze({ accountName: '--account', issuer: '--issuer' });

/** Refuses each of the flags `names` when `--uri`, which sets them, is given too. */
export function refuseWithURI(values: Values, names: readonly string[]): void {
  for (const name of names) {
    if (values[name] !== undefined) {
      throw new UsageError(`--${name} cannot be combined with --uri, which sets it`);
    }
  }
}

/** Parses a whole number flag in `[min, max]`; undefined if the flag is absent. */
export function integerFlag(
  values: Values,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = optionalString(values, name);
  if (text === undefined) return undefined;
  const value = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** The `--algorithm` flag, case-insensitive. */
function algorithmFlag(values: Values): HashAlgorithm | undefined {
  const text = optionalString(values, 'algorithm');
  if (text === undefined) return undefined;
  const name = text.toUpperCase().replace('-', '');
  if (name !== 'SHA1' && name !== 'SHA256' && name !== 'SHA512') {
    throw new UsageError(`--algorithm must be SHA1, SHA256 or SHA512, got "${text}"`);
  }
  return name;
}

/** The `--digits` flag. */
function digitsFlag(values: Values): Digits | undefined {
  const text = optionalString(values, 'digits');
  if (text === undefined) return undefined;
  if (text !== '6' && text !== '7' && text !== '8') {
    throw new UsageError(`--digits must be 6, 7 or 8, got "${text}"`);
  }
  return Number(text) as Digits;
}

const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * The `--time` flag: Unix seconds, or an ISO 8601 date (midnight UTC) or date
 * and time with an explicit zone, so that the result never depends on the
 * machine's time zone. Returns Unix milliseconds.
 */
export function timeFlag(values: Values, io: IO): number {
  const text = optionalString(values, 'time');
  if (text === undefined) return io.now();
  const ms = /^[0-9]{1,15}$/.test(text)
    ? Number(text) * 1000
    : ISO_DATE_TIME.test(text)
      ? Date.parse(text)
      : NaN;
  if (!(ms >= 0 && ms <= Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(
      `--time must be Unix seconds or an ISO 8601 date-time with a zone, ` +
        `e.g. 2030-01-01T00:00:00Z, got "${text}"`,
    );
  }
  return ms;
}

/** The OTP parameters given as flags. */
export interface KeyFlags {
  /** The secret, if one was given. */
  secret: Uint8Array | undefined;
  /** Hash. */
  algorithm: HashAlgorithm;
  /** Code length. */
  digits: Digits;
  /** Step in seconds. */
  period: number;
}

/** Flag definitions of a key's parameters. */
export const PARAM_OPTIONS: Options = {
  algorithm: { type: 'string' },
  digits: { type: 'string' },
  period: { type: 'string' },
};

/** Flag definitions of a key: secret or URI, and parameters. */
export const KEY_OPTIONS: Options = {
  secret: { type: 'string' },
  uri: { type: 'string' },
  ...PARAM_OPTIONS,
};

/** Help lines for {@link PARAM_OPTIONS}. */
export const PARAM_HELP: [string, string][] = [
  ['--algorithm NAME', 'SHA1 (default), SHA256 or SHA512'],
  ['--digits N', 'code length: 6 (default), 7 or 8'],
  ['--period SECONDS', 'time step in seconds (default 30)'],
];

/** Help lines for {@link KEY_OPTIONS}. */
export const KEY_HELP: [string, string][] = [
  ['--secret BASE32', 'the shared secret in base32 (default: $TOTPKIT_SECRET)'],
  ['--uri URI', 'an otpauth://totp/ key URI instead of the other flags'],
  ...PARAM_HELP,
];

/**
 * Reads the key flags: `--uri`, or `--secret` (else `$TOTPKIT_SECRET`) with
 * `--algorithm`, `--digits` and `--period`.
 */
export function keyFlags(values: Values, io: IO): KeyFlags {
  const uri = optionalString(values, 'uri');
  if (uri !== undefined) {
    refuseWithURI(values, ['secret', 'algorithm', 'digits', 'period']);
    let key;
    try {
      key = parseKeyURI(uri);
    } catch (error) {
      if (error instanceof KeyURIError) throw new UsageError(`--uri: ${error.message}`);
      throw error;
    }
    if (key.type !== 'totp') throw new UsageError('--uri must be an otpauth://totp/ URI');
    const { secret, algorithm, digits, period } = key;
    return { secret, algorithm, digits, period };
  }
  const fromFlag = optionalString(values, 'secret');
  const text = fromFlag ?? io.env.TOTPKIT_SECRET;
  const source = fromFlag === undefined ? '$TOTPKIT_SECRET' : '--secret';
  let secret: Uint8Array | undefined;
  if (text !== undefined) {
    try {
      secret = decodeBase32(text);
    } catch (error) {
      // decodeBase32's message describes the fault without quoting the text.
      throw new UsageError(`${source} ${(error as Error).message.replace(/^"text" /, '')}`);
    }
    try {
      checkBytes(secret, 'secret');
    } catch (error) {
      throw asUsageError(error, { secret: source });
    }
  }
  return { secret, ...paramFlags(values) };
}

/** Reads `--algorithm`, `--digits` and `--period`, with their defaults (SHA1, 6, 30). */
export function paramFlags(values: Values): Omit<KeyFlags, 'secret'> {
  return {
    algorithm: algorithmFlag(values) ?? 'SHA1',
    digits: digitsFlag(values) ?? 6,
    period: integerFlag(values, 'period', 1, MAX_PERIOD_SECONDS) ?? 30,
  };
}

/** Like {@link keyFlags}, but a secret is required. */
export function requireKey(values: Values, io: IO): KeyFlags & { secret: Uint8Array } {
  const key = keyFlags(values, io);
  if (key.secret === undefined) {
    throw new UsageError('a secret is required: give --secret, --uri or $TOTPKIT_SECRET');
  }
  return key as KeyFlags & { secret: Uint8Array };
}

/** A required string flag. */
export function requiredString(values: Values, name: string): string {
  const text = optionalString(values, name);
  if (text === undefined || text === '') throw new UsageError(`--${name} is required`);
  return text;
}
