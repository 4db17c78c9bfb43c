// The one place that decides whether an integration test runs, is skipped, or
// fails: every helper that needs a server, a browser or an external program
// asks here.
//
// - `CI` set (to anything but '', '0' or 'false'): a missing dependency fails
//   the run, so that CI cannot pass by skipping.
// - `TOTPKIT_TEST_TIER=unit` (`npm run test:unit`): everything beyond Node is
//   left out on purpose, even under CI (whole files in vitest.config.ts's
//   NOT_IN_UNIT_TIER, single tests here).
// - Otherwise a missing dependency skips the tests that need it, with the
//   reason printed at once and again in the summary at the end of the run
//   (test/setup/skip-summary.ts).
import { appendFileSync } from 'node:fs';

/** Whether a `CI` value means "this is CI": anything but unset, '', '0' or 'false'. */
export function ciValueIsSet(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false'].includes(value.trim().toLowerCase());
}

/** Whether this run is CI (see {@link ciValueIsSet}). */
export const isCI = ciValueIsSet(process.env.CI);

/** Whether this run is the unit tier (`npm run test:unit`). */
export const unitTier = process.env.TOTPKIT_TEST_TIER === 'unit';

/** The environment variable naming the file skips are appended to (set by the global setup). */
export const SKIP_LOG_ENV = 'TOTPKIT_SKIP_LOG';

/** What a test needs (named in the skip reason). */
export type Dependency = 'server' | 'browser' | 'program';

/** Records a skip for the end-of-run summary and prints it now. */
export function noteSkip(what: string, reason: string): void {
  console.warn(`skipping ${what} tests: ${reason}`);
  const log = process.env[SKIP_LOG_ENV];
  if (log) appendFileSync(log, `${JSON.stringify({ what, reason })}\n`);
}

/**
 * Decides whether tests that need `what` run. `missing` is why it cannot be
 * used, or `undefined` if it can. Returns true to run; false to skip (the
 * reason recorded); throws under CI when it is missing outside the unit tier.
 */
export function mayRun(what: string, kind: Dependency, missing: string | undefined): boolean {
  if (unitTier) {
    noteSkip(what, `a ${kind} is not part of the unit tier (npm test runs everything)`);
    return false;
  }
  if (missing === undefined) return true;
  if (isCI) throw new Error(`${what} is required under CI: ${missing}`);
  noteSkip(what, missing);
  return false;
}
