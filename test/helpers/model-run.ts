/**
 * The model-based test of the MFA service (issue 10, point 16), for any store:
 * random sequences of every MFA method, with right, wrong, replayed, malformed
 * and spaced codes, clock moves, device clock drift, several calls in flight
 * at once, and store faults injected before or after a store operation.
 * test/mfa/model.test.ts runs it against MemoryStore (with and without
 * readAndReserve) and PostgresStore on PGlite; test/store/model-servers.test.ts
 * against the stores on real servers. A test file lists its stores and calls
 * {@link describeModelTest}.
 *
 * Users have several factors (issue 11): enrollment with names and
 * replaceFactorId, import (strong, weak, or a copy of a factor's secret),
 * listing, renaming, removing, erasure. After each call the result and the
 * store's record are compared with a small reference model of the rules
 * (test/helpers/mfa-model.ts): one acceptance per step per factor, the one
 * budget shared by all factors with the lock at ceil(maxFailures / factors),
 * locks, recovery codes used once (first factor only), drift. A call that
 * fails on an injected fault must reject with ERR_STORE and leave the record
 * as before the call, after its first write only, or after all of it (for
 * regenerateRecoveryCodes, the stored salt tells which). Code checks in
 * flight together, and factor changes raced together (imports, bindings,
 * removals, disable), are checked against the invariants that hold in any
 * interleaving.
 *
 * CI runs a fixed seed and a size well under a minute per store. Locally:
 * TOTPKIT_FUZZ_RUNS (runs per store), TOTPKIT_FUZZ_SEED, and
 * TOTPKIT_FUZZ_SECONDS (stop each store's run after this long, passing).
 *
 * The parts: the policy and the steps (model-steps.ts), the system under
 * test and one run's state (model-system.ts), a call run alone with its
 * faults (model-sequential.ts), calls in parallel and races
 * (model-parallel.ts), and the reference model (mfa-model.ts).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { MFAStore } from '../../src/index.ts';
import { parallel, race } from './model-parallel.ts';
import { accountParallel } from './model-account-parallel.ts';
import { sequential } from './model-sequential.ts';
import { RUNS, SECONDS, SEED, USERS, step, type Step } from './model-steps.ts';
import { Run, stats } from './model-system.ts';

async function execute(run: Run, steps: Step[], base = 0): Promise<void> {
  for (const [n, s] of steps.entries()) {
    const i = base + n;
    run.log.push(JSON.stringify(s));
    if (s.kind === 'flow') {
      await execute(run, s.steps, i * 16);
      continue;
    }
    if (s.kind === 'advance') run.now += s.ms;
    else if (s.kind === 'drift') run.offsets[s.user] = (run.offsets[s.user] as number) + s.by;
    else if (s.kind === 'call') await sequential(run, s.user, s.call, s.fault, i);
    else if (s.kind === 'parallel') await parallel(run, s.user, s.calls, i);
    else if (s.kind === 'accountParallel')
      await accountParallel(run, s.user, s.purpose, s.calls, i);
    else await race(run, s.user, s.calls, i);
  }
}

// ── the runs ─────────────────────────────────────────────────────────────────

/** A store the model test runs against: its name in the test's title, its CI run count, and how to make it. */
export interface ModelTestStore {
  name: string;
  /** Runs in CI (TOTPKIT_FUZZ_RUNS or TOTPKIT_FUZZ_SECONDS override it). */
  runs: number;
  /**
   * The store for one run. It may return the same store every time: each run
   * uses users of its own (`fuzz-1-0`, `fuzz-1-1`, `fuzz-2-0`, …).
   */
  make: () => Promise<MFAStore>;
}

let runs = 0;
/**
 * One test per store: random calls, codes, clock moves, parallel calls and
 * store faults, checked against the reference model after every step.
 */
export function describeModelTest(stores: readonly ModelTestStore[]): void {
  describe('the MFA service against a reference model', () => {
    for (const { name, runs: ciRuns, make } of stores) {
      it(
        `${name}: random calls, codes, clock moves, parallel calls and store faults`,
        async () => {
          let done = 0;
          const started = Date.now();
          await fc.assert(
            fc.asyncProperty(
              // How many factors each user starts with (bound or imported through the
              // same checked calls), then the steps.
              fc.array(fc.nat(3), { minLength: USERS, maxLength: USERS }),
              fc.array(step, { minLength: 1, maxLength: 60, size: 'medium' }),
              // The proof rule of the library's purposes (CONTRACT2: 'seed' by default).
              fc.constantFrom('seed' as const, 'seed' as const, 'any' as const, 'none' as const),
              async (enrolled, steps, proofRule) => {
                const run = new Run(await make(), `fuzz-${++runs}`, proofRule);
                done++;
                // A first factor the seed's way: a code sent, checked, its proof passed.
                const setup: Step[] = enrolled.flatMap((count, user): Step[] => [
                  ...(count > 0
                    ? ([
                        {
                          kind: 'call',
                          user,
                          call: {
                            m: 'send',
                            channel: 'email',
                            dest: 0,
                            purpose: 'enroll',
                            fail: false,
                          },
                          fault: null,
                        },
                        {
                          kind: 'call',
                          user,
                          call: { m: 'check', code: 'right', purpose: 'enroll', dest: 'none' },
                          fault: null,
                        },
                        {
                          kind: 'call',
                          user,
                          call: { m: 'begin', name: undefined, replace: null, proof: 'match' },
                          fault: null,
                        },
                        { kind: 'call', user, call: { m: 'complete', pair: 'now' }, fault: null },
                      ] as const)
                    : []),
                  ...(['Phone', 'Tablet'] as const)
                    .slice(0, Math.max(0, count - 1))
                    .map((name): Step => ({
                      kind: 'call',
                      user,
                      call: {
                        m: 'import',
                        secret: 'fresh',
                        f: 0,
                        name,
                        lastStep: 'none',
                        codes: true,
                      },
                      fault: null,
                    })),
                ]);
                await execute(run, [...setup, ...steps]);
              },
            ),
            {
              seed: SEED,
              numRuns: RUNS ?? (SECONDS ? 1e9 : ciRuns),
              ...(SECONDS
                ? { interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false }
                : {}),
            },
          );
          if (RUNS || SECONDS || process.env.TOTPKIT_FUZZ_STATS) {
            const counts = [...stats].sort(([a], [b]) => a.localeCompare(b));
            console.log(
              `${name}: ${done} runs in ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${SEED}\n` +
                counts.map(([key, n]) => `  ${key}: ${n}`).join('\n'),
            );
            stats.clear();
          }
        },
        SECONDS ? SECONDS * 1000 + 180_000 : RUNS ? 24 * 3_600_000 : 180_000,
      );
    }
  });
}
