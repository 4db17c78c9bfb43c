// The settings read from the environment. The per-IP limits:
// PER_IP_SIGNINS_PER_MINUTE (10), PER_IP_CODES_PER_MINUTE (20),
// PER_IP_CONNECTIONS (32) and TRUST_PROXY=1 (see limits.ts and http.ts).
//
// The TOTP parameters of new authenticators:
// TOTP_ALGORITHM (SHA1, SHA256 or SHA512), TOTP_DIGITS (6, 7 or 8) and
// TOTP_PERIOD (seconds, 15 to 120). Unset, each keeps the default, SHA1 / 6 /
// 30 s: the only settings every authenticator app honours. Change them only
// when you know your users' apps (see docs/authenticator-apps.md); the
// enrollment page then says which settings the account uses, and explains
// codes from an app that ignored them.
import type { CodeParameters } from './diagnosis.ts';
import { DEFAULT_LIMITS } from './http.ts';
import { DEFAULT_PER_IP_LIMITS, type PerIPLimits } from './limits.ts';

/** The defaults every app supports. */
export const DEFAULT_PARAMETERS: Readonly<CodeParameters> = Object.freeze({
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
});

/** A setting with a bad value: the message names the variable and the rule. */
export class SettingError extends Error {}

/**
 * Reads TOTP_ALGORITHM, TOTP_DIGITS and TOTP_PERIOD. Throws a
 * {@link SettingError} naming the variable for a value out of range.
 */
export function totpParametersFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): CodeParameters {
  const out: CodeParameters = { ...DEFAULT_PARAMETERS };
  const algorithm = env.TOTP_ALGORITHM?.trim().toUpperCase();
  if (algorithm) {
    if (algorithm !== 'SHA1' && algorithm !== 'SHA256' && algorithm !== 'SHA512') {
      throw new SettingError(
        `TOTP_ALGORITHM must be SHA1, SHA256 or SHA512, got "${env.TOTP_ALGORITHM}"`,
      );
    }
    out.algorithm = algorithm;
  }
  const digits = env.TOTP_DIGITS?.trim();
  if (digits) {
    if (digits !== '6' && digits !== '7' && digits !== '8') {
      throw new SettingError(`TOTP_DIGITS must be 6, 7 or 8, got "${env.TOTP_DIGITS}"`);
    }
    out.digits = Number(digits) as 6 | 7 | 8;
  }
  const period = env.TOTP_PERIOD?.trim();
  if (period) {
    const seconds = /^[0-9]{1,3}$/.test(period) ? Number(period) : NaN;
    if (!(seconds >= 15 && seconds <= 120)) {
      throw new SettingError(
        `TOTP_PERIOD must be a whole number of seconds from 15 to 120, got "${env.TOTP_PERIOD}"`,
      );
    }
    out.period = seconds;
  }
  return out;
}

/** "SHA256, 8 digits, a new code every 60 seconds": the settings as a person adding the key by hand needs them. */
export function parametersText(params: CodeParameters): string {
  return `${params.algorithm}, ${params.digits} digits, a new code every ${params.period} seconds`;
}

/** Whether `params` are the defaults (then apps need no settings). */
export function isDefault(params: CodeParameters): boolean {
  return (
    params.algorithm === DEFAULT_PARAMETERS.algorithm &&
    params.digits === DEFAULT_PARAMETERS.digits &&
    params.period === DEFAULT_PARAMETERS.period
  );
}

/** A whole number from 1 to 1,000,000 in `name`, or `fallback` when unset. */
function count(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number) {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = /^[0-9]{1,7}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= 1_000_000)) {
    throw new SettingError(`${name} must be a whole number from 1 to 1000000, got "${env[name]}"`);
  }
  return value;
}

/**
 * Reads the per-IP limits: PER_IP_SIGNINS_PER_MINUTE (password forms: sign-in,
 * sign-up, re-authentication), PER_IP_CODES_PER_MINUTE (code forms),
 * PER_IP_CONNECTIONS (open connections at once) and TRUST_PROXY (`1`: the
 * client's address is the last entry of X-Forwarded-For, and the connection
 * limit is left to the proxy, from which every connection comes). Throws a
 * {@link SettingError} naming the variable for a bad value.
 */
export function perIPLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): {
  perIP: PerIPLimits;
  maxConnectionsPerIP: number;
} {
  const proxy = env.TRUST_PROXY?.trim();
  if (proxy && proxy !== '0' && proxy !== '1') {
    throw new SettingError(`TRUST_PROXY must be 1 (behind a reverse proxy) or 0, got "${proxy}"`);
  }
  const trustProxy = proxy === '1';
  const connections = count(env, 'PER_IP_CONNECTIONS', DEFAULT_LIMITS.maxConnectionsPerIP);
  return {
    perIP: {
      signInsPerMinute: count(
        env,
        'PER_IP_SIGNINS_PER_MINUTE',
        DEFAULT_PER_IP_LIMITS.signInsPerMinute,
      ),
      codesPerMinute: count(env, 'PER_IP_CODES_PER_MINUTE', DEFAULT_PER_IP_LIMITS.codesPerMinute),
      trustProxy,
    },
    maxConnectionsPerIP: trustProxy ? Infinity : connections,
  };
}
