/**
 * A second oracle for the service, independent of the model test's reference
 * model: it knows nothing of how the service or the stores decide, only what
 * the documents promise a user (README, docs/security-model.md,
 * docs/stores.md). Random runs drive the public API (createMFA over any
 * store: test/mfa/claims.test.ts lists MemoryStore and PostgresStore on
 * PGlite, test/store/model-servers.test.ts the stores on real servers),
 * sequentially and in parallel batches, and after every step the run is
 * checked against these claims:
 *
 * 1. **The odds of a lock cycle.** "The odds of one lock cycle are …
 *    ≈ maxFailures · (2w + 1) / 10^d whatever n is (the rounding up adds at
 *    most n − 1 guesses' worth)": between two resets, the wrong codes checked,
 *    each counted once per active factor it was compared with, stay at or
 *    below maxFailures + maxFactors − 1.
 * 2. **A code is accepted at most once**: no (secret, time step) pair is
 *    accepted twice for a user, whatever factors hold that secret.
 * 3. **Erasure is final**: once deleteUserData has returned and the calls in
 *    flight with it have settled, the store holds nothing for the user, and
 *    no call failed with anything but the documented ERR_ERASED.
 * 4. **A lock is not shed** but by a recovery code or an unlock (time never
 *    runs long enough here for the retention rule): once a code check has
 *    answered `locked`, no code is checked for the user until then.
 * 5. **Each recovery code works once**, and a replaced set's codes never.
 * 6–11. **The account rules of 0.3** (issues 20 and 21): the verification
 *    budget, codes, sends and their caps, proofs, the generation, remembered
 *    devices and admin reset; stated in test/helpers/claims-account.ts.
 *
 * A reset (claims 1 and 4) is an accepted code (verify, resync, a binding),
 * a recovery code, an unlock, or an admin reset. The weight of a checked code is the number of
 * active factors `status()` gave just before it; in a parallel batch, where
 * factors may change under the call, the lower bound max(1, fewest seen).
 */
import { describe, expect, it } from 'vitest';
import type { MFAStore } from 'totpkit';
import { random, Run } from './claims-oracle.ts';

/** A store the claims oracle runs against: its name, its run count and size, and how to make it. */
export interface ClaimsTestStore {
  name: string;
  runs: number;
  /** Steps per run. */
  steps: number;
  /** A store for one run: a fresh one, or one where the run's user ids are new. */
  make: () => Promise<MFAStore>;
}

/**
 * One test per store: `runs` random runs from seed TOTPKIT_CLAIMS_SEED (by
 * default one of the clock), each checked against every claim.
 */
export function describeClaims(stores: readonly ClaimsTestStore[]): void {
  describe('the service against the claims of its documents', () => {
    for (const { name, runs, steps, make } of stores) {
      it(`${name}: ${runs} random runs of ${steps} steps keep every claim`, async () => {
        const base = Number(process.env.TOTPKIT_CLAIMS_SEED ?? Date.now() % 1_000_000);
        const broken = new Map<string, string>();
        for (let r = 0; r < runs; r++) {
          const seed = base + r;
          const run = new Run(await make(), random(seed), `claims-${seed}`);
          try {
            await run.run(steps);
          } catch (error) {
            throw new Error(`seed ${seed} (TOTPKIT_CLAIMS_SEED=${seed} replays it)`, {
              cause: error,
            });
          }
          for (const [claim, detail] of run.broken) {
            if (!broken.has(claim)) broken.set(claim, `seed ${seed}: ${detail}`);
          }
        }
        // Every run goes to its end, so that one report names every claim broken.
        expect([...broken.values()].join('\n')).toBe('');
        expect(runs).toBeGreaterThan(0);
      }, 240_000);
    }
  });
}
