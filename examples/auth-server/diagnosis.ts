// Plain words for the enrollment diagnoses: why two codes from the user's app
// were refused (a phone clock hours off, an app that ignored the account's
// settings, an older QR code, another authenticator's codes), and a warning
// when a phone's clock is off by less than that but enough to notice.
//
// The library gives reasons and numbers; the words are the app's. The
// `totpkit enroll` command says the same things (src/cli/advice.ts), and a test
// keeps the two in step. Names come from users: callers escape the result (the
// html`` template does).

import type {
  AppIgnoredParametersRefusal,
  ClockSkewRefusal,
  ExistingFactorRefusal,
  FactorParams,
} from 'totpkit';

/** The parameters of a factor, or of the codes an app actually made. */
export type CodeParameters = FactorParams;

/** The refusals of `completeEnrollment` (and `resync`) that carry a diagnosis. */
export type Diagnosis =
  | ClockSkewRefusal
  | AppIgnoredParametersRefusal
  | { ok: false; reason: 'stale_qr' }
  | ExistingFactorRefusal;

const MINUTE = 60;
const HOUR = 3600;

/**
 * A duration for people, rounded as far as the measurement deserves (codes
 * measure a clock to the nearest step, 30 s): "40 s", "1 min 30 s", "12 min",
 * "2 h 3 min", "2 days 5 h". The sign is ignored.
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

/** "Your phone's clock is about 2 h 3 min ahead. …": for a `clock_skew` refusal (positive: ahead). */
export function skewMessage(skewSeconds: number): string {
  const direction = skewSeconds >= 0 ? 'ahead' : 'behind';
  return `Your phone's clock is about ${durationText(skewSeconds)} ${direction}. Turn on automatic time and try again.`;
}

/**
 * After a successful binding: a warning when the phone's clock is off by
 * `minSeconds` (default 30) or more, else null. Codes still work now, but a
 * clock that drifts further will fail at a sign-in later.
 */
export function clockOffsetWarning(offsetSeconds: number, minSeconds = 30): string | null {
  if (!(Math.abs(offsetSeconds) >= minSeconds)) return null;
  const direction = offsetSeconds > 0 ? 'fast' : 'slow';
  return `Your phone's clock is about ${durationText(offsetSeconds)} ${direction}. Turn on automatic time on your phone so that your codes keep working.`;
}

/** "SHA1 codes instead of SHA256", "6-digit codes instead of 8-digit", …: each parameter the app changed. */
function differences(factor: CodeParameters, app: CodeParameters): string[] {
  const out: string[] = [];
  if (app.algorithm !== factor.algorithm) {
    out.push(`makes ${app.algorithm} codes instead of ${factor.algorithm}`);
  }
  if (app.digits !== factor.digits) {
    out.push(`shows ${app.digits}-digit codes instead of ${factor.digits}-digit`);
  }
  if (app.period !== factor.period) {
    out.push(`changes its code every ${app.period} seconds instead of every ${factor.period}`);
  }
  return out;
}

/**
 * Apps reported to ignore each parameter, from docs/authenticator-apps.md:
 * only rows that say "ignored" without a conflicting report. Reports of digits
 * being ignored all conflict, so none is named for them.
 */
const REPORTED: Record<'algorithm' | 'period', string> = {
  algorithm: 'Microsoft Authenticator, Authy and Duo Mobile',
  period: 'Authy',
};

/** For an `app_ignored_parameters` refusal: what the app did, which apps are known to, what to do. */
export function ignoredParametersMessage(factor: CodeParameters, app: CodeParameters): string {
  const changed = differences(factor, app);
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
  if (app.period !== factor.period) {
    known.push(`${REPORTED.period} is reported to ignore the period`);
  }
  const apps = known.length === 0 ? '' : ` (${known.join('; ')})`;
  return (
    `Your authenticator app ignored this account's settings: it ${what}. ` +
    `Some apps do this${apps}. ` +
    `Delete the entry you just added, and add the account in an app that supports these settings.`
  );
}

/** For a `stale_qr` refusal. */
export const STALE_QR_MESSAGE =
  'These codes come from an older QR code for this account. Delete the older entry in your app and use the newest QR code, the one on this page.';

/** For an `existing_factor` refusal: names the authenticator the codes came from. */
export function existingFactorMessage(name: string): string {
  return `These codes come from your authenticator "${name}", which is already set up. Enter two codes from the entry you just added instead.`;
}

/**
 * The message for a diagnosed refusal, or null if `result` carries no
 * diagnosis. `factor` is the pending factor's parameters (from its key URI).
 */
export function diagnosisMessage(
  result: { reason: string },
  factor: CodeParameters,
): string | null {
  const diagnosis = result as Diagnosis;
  switch (diagnosis.reason) {
    case 'clock_skew':
      return skewMessage(diagnosis.skewSeconds);
    case 'app_ignored_parameters':
      return ignoredParametersMessage(factor, diagnosis.appParameters);
    case 'stale_qr':
      return STALE_QR_MESSAGE;
    case 'existing_factor':
      return existingFactorMessage(diagnosis.name);
    default:
      return null;
  }
}
