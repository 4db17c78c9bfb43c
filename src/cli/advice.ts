/**
 * What `totpkit enroll` tells the user about a diagnosed refusal of two
 * binding codes (internal): a phone clock hours off, an app that ignored the
 * factor's parameters, codes from an older QR code or from another
 * authenticator, and a warning when a bound phone's clock is off by 30 s or
 * more. The library's results carry reasons and numbers only; these words are
 * the CLI's, and the same as the example auth server's
 * (examples/auth-server/diagnosis.ts; a test keeps the two in step).
 * @module
 * @internal
 */
import type { FactorParams } from '../store/contract.ts';

/** A factor's parameters, or those an app used. */
export type CodeParameters = FactorParams;

const MINUTE = 60;
const HOUR = 3600;

/**
 * A duration for people, rounded as far as a measurement to the step
 * deserves: "40 s", "1 min 30 s", "12 min", "2 h 3 min", "2 days 5 h". The
 * sign is ignored.
 */
export function durationText(seconds: number): string {
  const s = Math.round(Math.abs(seconds));
  if (s < MINUTE) return `${s} s`;
  if (s < 10 * MINUTE) {
    const rest = s % MINUTE;
    return rest === 0 ? `${s / MINUTE} min` : `${Math.floor(s / MINUTE)} min ${rest} s`;
  }
  const minutes = Math.round(s / MINUTE);
  if (minutes < 60) return `${minutes} min`;
  if (s >= 48 * HOUR) {
    const hours = Math.round(s / HOUR);
    const days = Math.floor(hours / 24);
    const rest = hours % 24;
    return rest === 0 ? `${days} days` : `${days} days ${rest} h`;
  }
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** For `clock_skew`: how far and which way (positive: the phone is ahead). */
export function skewAdvice(skewSeconds: number): string {
  const direction = skewSeconds >= 0 ? 'ahead' : 'behind';
  return `Your phone's clock is about ${durationText(skewSeconds)} ${direction}. Turn on automatic time and try again.`;
}

/** After a binding: a warning from 30 s of clock offset (positive: fast), else null. */
export function clockOffsetAdvice(offsetSeconds: number): string | null {
  if (!(Math.abs(offsetSeconds) >= 30)) return null;
  const direction = offsetSeconds > 0 ? 'fast' : 'slow';
  return `Your phone's clock is about ${durationText(offsetSeconds)} ${direction}. Turn on automatic time on your phone so that your codes keep working.`;
}

/** Apps reported to ignore a parameter, from docs/authenticator-apps.md (no conflicting report). */
const REPORTED = {
  algorithm: 'Microsoft Authenticator, Authy and Duo Mobile',
  period: 'Authy',
} as const;

/** For `app_ignored_parameters`: what the app changed, the apps reported to, and what to do. */
export function ignoredParametersAdvice(factor: CodeParameters, app: CodeParameters): string {
  const changed: string[] = [];
  if (app.algorithm !== factor.algorithm) {
    changed.push(`makes ${app.algorithm} codes instead of ${factor.algorithm}`);
  }
  if (app.digits !== factor.digits) {
    changed.push(`shows ${app.digits}-digit codes instead of ${factor.digits}-digit`);
  }
  if (app.period !== factor.period) {
    changed.push(`changes its code every ${app.period} seconds instead of every ${factor.period}`);
  }
  const what =
    changed.length === 0
      ? 'ignored some of the settings of this account'
      : changed.length === 1
        ? changed[0]
        : `${changed.slice(0, -1).join(', ')} and ${changed[changed.length - 1]}`;
  const known: string[] = [];
  if (app.algorithm !== factor.algorithm) {
    known.push(`${REPORTED.algorithm} are reported to ignore the ${factor.algorithm} setting`);
  }
  if (app.period !== factor.period)
    known.push(`${REPORTED.period} is reported to ignore the period`);
  const apps = known.length === 0 ? '' : ` (${known.join('; ')})`;
  return (
    `Your authenticator app ignored this account's settings: it ${what}. ` +
    `Some apps do this${apps}. ` +
    `Delete the entry you just added, and add the account in an app that supports these settings.`
  );
}

/** For `stale_qr`. */
export const STALE_QR_ADVICE =
  'These codes come from an older QR code for this account. Delete the older entry in your app and use the newest QR code, the one shown above.';

/** For `existing_factor`: names the authenticator the codes came from. */
export function existingFactorAdvice(name: string): string {
  return `These codes come from your authenticator "${name}", which is already set up. Enter two codes from the entry you just added instead.`;
}

/** The advice for a diagnosed refusal, or null if `result` carries no diagnosis. */
export function diagnosisAdvice(result: { reason: string }, factor: CodeParameters): string | null {
  const r = result as {
    reason: string;
    skewSeconds?: number;
    appParameters?: CodeParameters;
    name?: string;
  };
  switch (r.reason) {
    case 'clock_skew':
      return skewAdvice(r.skewSeconds ?? 0);
    case 'app_ignored_parameters':
      return r.appParameters === undefined
        ? null
        : ignoredParametersAdvice(factor, r.appParameters);
    case 'stale_qr':
      return STALE_QR_ADVICE;
    case 'existing_factor':
      return existingFactorAdvice(r.name ?? '');
    default:
      return null;
  }
}
