// The example auth server's plain words for enrollment diagnoses
// (examples/auth-server/diagnosis.ts) and its TOTP settings from the
// environment (settings.ts): pure functions, no server.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clockOffsetWarning,
  diagnosisMessage,
  durationText,
  existingFactorMessage,
  ignoredParametersMessage,
  skewMessage,
  STALE_QR_MESSAGE,
  type CodeParameters,
} from '../../examples/auth-server/diagnosis.ts';
import * as cli from '../../src/cli/advice.ts';
import {
  isDefault,
  parametersText,
  SettingError,
  totpParametersFromEnv,
} from '../../examples/auth-server/settings.ts';

const DEFAULTS: CodeParameters = { algorithm: 'SHA1', digits: 6, period: 30 };

describe('durationText', () => {
  it.each([
    [0, '0 s'],
    [30, '30 s'],
    [-40, '40 s'],
    [60, '1 min'],
    [90, '1 min 30 s'],
    [330, '5 min 30 s'],
    [600, '10 min'],
    [630, '11 min'], // 10.5 min, rounded
    [3570, '1 h'], // 59.5 min rounds up to an hour
    [3600, '1 h'],
    [2 * 3600 + 3 * 60, '2 h 3 min'],
    [2 * 3600 + 3 * 60 + 30, '2 h 4 min'],
    [-(2 * 3600 + 3 * 60), '2 h 3 min'],
    [24 * 3600, '24 h'],
    [47 * 3600 + 59 * 60, '47 h 59 min'],
    [48 * 3600, '2 days'],
    [53 * 3600 + 10 * 60, '2 days 5 h'],
  ])('%i s is "%s"', (seconds, text) => {
    expect(durationText(seconds)).toBe(text);
  });

  it('never says "60 min" or "60 s", and grows with the duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400 }), (seconds) => {
        const text = durationText(seconds);
        expect(text).not.toMatch(/\b60 (min|s)\b|\b0 (min|s|h)\b(?!$)/);
        expect(text).toMatch(/^\d+ (s|min|h|days)( \d+ (s|min|h))?$/);
        expect(durationText(-seconds)).toBe(text);
      }),
    );
  });

  it('reads back within the rounding: a minute under 48 h, an hour beyond', () => {
    const parse = (text: string): number => {
      const units: Record<string, number> = { s: 1, min: 60, h: 3600, days: 86_400 };
      let total = 0;
      for (const [, n, unit] of text.matchAll(/(\d+) (s|min|h|days)/g)) {
        total += Number(n) * (units[unit as string] as number);
      }
      return total;
    };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400 }), (seconds) => {
        const error = Math.abs(parse(durationText(seconds)) - seconds);
        expect(error).toBeLessThanOrEqual(seconds < 600 ? 0 : seconds < 48 * 3600 ? 30 : 1800);
      }),
    );
  });
});

describe('messages', () => {
  it('says how far and which way the clock is off', () => {
    expect(skewMessage(7380)).toBe(
      "Your phone's clock is about 2 h 3 min ahead. Turn on automatic time and try again.",
    );
    expect(skewMessage(-7380)).toBe(
      "Your phone's clock is about 2 h 3 min behind. Turn on automatic time and try again.",
    );
    expect(skewMessage(-600)).toContain('about 10 min behind');
  });

  it('warns after a binding from 30 s of offset, saying fast or slow', () => {
    expect(clockOffsetWarning(0)).toBeNull();
    expect(clockOffsetWarning(29)).toBeNull();
    expect(clockOffsetWarning(-29)).toBeNull();
    expect(clockOffsetWarning(40)).toBe(
      "Your phone's clock is about 40 s fast. Turn on automatic time on your phone so that your codes keep working.",
    );
    expect(clockOffsetWarning(-90)).toContain('about 1 min 30 s slow');
    expect(clockOffsetWarning(90, 120)).toBeNull();
  });

  it('names each setting the app changed, and the apps reported to do it', () => {
    const sha256 = { ...DEFAULTS, algorithm: 'SHA256' } as const;
    expect(ignoredParametersMessage(sha256, DEFAULTS)).toBe(
      "Your authenticator app ignored this account's settings: it makes SHA1 codes instead of SHA256. " +
        'Some apps do this (Microsoft Authenticator, Authy and Duo Mobile are reported to ignore the SHA256 setting). ' +
        'Delete the entry you just added, and add the account in an app that supports these settings.',
    );
    const all: CodeParameters = { algorithm: 'SHA512', digits: 8, period: 60 };
    const text = ignoredParametersMessage(all, DEFAULTS);
    expect(text).toContain(
      'it makes SHA1 codes instead of SHA512, shows 6-digit codes instead of 8-digit and changes its code every 30 seconds instead of every 60.',
    );
    expect(text).toContain('Authy is reported to ignore the period');
    // Only digits: every report on digits conflicts, so no app is named.
    const digits = ignoredParametersMessage({ ...DEFAULTS, digits: 8 }, DEFAULTS);
    expect(digits).toContain('it shows 6-digit codes instead of 8-digit. Some apps do this. ');
    expect(digits).not.toMatch(/Authy|Microsoft|Google|Duo/);
  });

  it('maps each diagnosed refusal to its message, and anything else to null', () => {
    const factor: CodeParameters = { ...DEFAULTS, algorithm: 'SHA256' };
    expect(diagnosisMessage({ reason: 'clock_skew', skewSeconds: -7380 } as never, factor)).toBe(
      skewMessage(-7380),
    );
    expect(
      diagnosisMessage(
        { reason: 'app_ignored_parameters', appParameters: DEFAULTS } as never,
        factor,
      ),
    ).toBe(ignoredParametersMessage(factor, DEFAULTS));
    expect(diagnosisMessage({ reason: 'stale_qr' }, factor)).toBe(STALE_QR_MESSAGE);
    expect(STALE_QR_MESSAGE).toContain('Delete the older entry in your app');
    expect(
      diagnosisMessage(
        { reason: 'existing_factor', factorId: 'f1', name: 'Phone' } as never,
        factor,
      ),
    ).toBe(existingFactorMessage('Phone'));
    expect(existingFactorMessage('Phone')).toBe(
      'These codes come from your authenticator "Phone", which is already set up. Enter two codes from the entry you just added instead.',
    );
    for (const reason of ['mismatch', 'malformed', 'throttled', 'expired']) {
      expect(diagnosisMessage({ reason }, factor)).toBeNull();
    }
  });
});

describe('TOTP settings from the environment', () => {
  it('defaults to SHA1, 6 digits, 30 s', () => {
    expect(totpParametersFromEnv({})).toEqual(DEFAULTS);
    expect(totpParametersFromEnv({ TOTP_ALGORITHM: '', TOTP_DIGITS: ' ' })).toEqual(DEFAULTS);
    expect(isDefault(totpParametersFromEnv({}))).toBe(true);
  });

  it('reads each variable', () => {
    const params = totpParametersFromEnv({
      TOTP_ALGORITHM: 'sha256',
      TOTP_DIGITS: '8',
      TOTP_PERIOD: '60',
    });
    expect(params).toEqual({ algorithm: 'SHA256', digits: 8, period: 60 });
    expect(isDefault(params)).toBe(false);
    expect(parametersText(params)).toBe('SHA256, 8 digits, a new code every 60 seconds');
  });

  it.each([
    [{ TOTP_ALGORITHM: 'MD5' }, 'TOTP_ALGORITHM must be SHA1, SHA256 or SHA512, got "MD5"'],
    [{ TOTP_DIGITS: '9' }, 'TOTP_DIGITS must be 6, 7 or 8, got "9"'],
    [{ TOTP_DIGITS: '6.0' }, 'TOTP_DIGITS must be 6, 7 or 8, got "6.0"'],
    [
      { TOTP_PERIOD: '10' },
      'TOTP_PERIOD must be a whole number of seconds from 15 to 120, got "10"',
    ],
    [{ TOTP_PERIOD: '30s' }, 'TOTP_PERIOD must be a whole number of seconds from 15 to 120'],
    [{ TOTP_PERIOD: '3000' }, 'TOTP_PERIOD must be a whole number of seconds from 15 to 120'],
    [{ TOTP_PERIOD: '121' }, 'TOTP_PERIOD must be a whole number of seconds from 15 to 120'],
  ])('refuses %o, naming the variable', (env, message) => {
    expect(() => totpParametersFromEnv(env)).toThrow(SettingError);
    expect(() => totpParametersFromEnv(env)).toThrow(message);
  });
});

describe('`totpkit enroll` says the same (src/cli/advice.ts)', () => {
  const params = fc.record({
    algorithm: fc.constantFrom('SHA1', 'SHA256', 'SHA512'),
    digits: fc.constantFrom(6, 7, 8),
    period: fc.constantFrom(15, 30, 60, 90),
  }) as fc.Arbitrary<CodeParameters>;

  it('for durations, clock skew and clock offsets', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5 * 86_400, max: 5 * 86_400 }), (seconds) => {
        expect(cli.durationText(seconds)).toBe(durationText(seconds));
        expect(cli.skewAdvice(seconds)).toBe(skewMessage(seconds));
        expect(cli.clockOffsetAdvice(seconds)).toBe(clockOffsetWarning(seconds));
      }),
    );
  });

  it('for ignored parameters, an existing factor and an older QR code', () => {
    fc.assert(
      fc.property(
        params,
        params,
        fc.string({ minLength: 1, maxLength: 64 }),
        (factor, app, name) => {
          expect(cli.ignoredParametersAdvice(factor, app)).toBe(
            ignoredParametersMessage(factor, app),
          );
          expect(cli.existingFactorAdvice(name)).toBe(existingFactorMessage(name));
          for (const result of [
            { reason: 'app_ignored_parameters', appParameters: app },
            { reason: 'existing_factor', name },
            { reason: 'mismatch' },
          ]) {
            expect(cli.diagnosisAdvice(result, factor)).toBe(diagnosisMessage(result, factor));
          }
        },
      ),
    );
    // The page points at itself, the terminal at what it printed.
    expect(cli.STALE_QR_ADVICE.replace('the one shown above', 'the one on this page')).toBe(
      STALE_QR_MESSAGE,
    );
  });
});
