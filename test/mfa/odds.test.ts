/**
 * The odds formula of docs/security-model.md ("Several factors and the guess
 * budget"): with `n` factors, a random code hits one of them with probability
 * `p = n · (2w + 1) / 10^d`, and a lock cycle allows `attemptLimit(M, n) =
 * ceil(M / n)` guesses, so an attacker's odds per lock cycle are
 * `1 − (1 − p)^ceil(M / n)`, about `M · (2w + 1) / 10^d` whatever `n` is.
 */
import { describe, expect, it } from 'vitest';
import { attemptLimit, DEFAULT_MFA_POLICY } from '../../src/index.ts';

/** The chance that one lock cycle of random guesses finds a valid code. */
function oddsPerLockCycle(factors: number, maxFailures: number, window: number, digits: number) {
  const perGuess = (factors * (2 * window + 1)) / 10 ** digits;
  return 1 - (1 - perGuess) ** attemptLimit(maxFailures, factors);
}

describe('odds that do not grow with the number of factors', () => {
  const { window } = DEFAULT_MFA_POLICY;
  const { maxFailures } = DEFAULT_MFA_POLICY.throttle;

  it('the documented table (defaults: 100 failures, window 1, 6 digits)', () => {
    // docs/security-model.md, "Several factors and the guess budget" (constant n).
    const table = [
      [1, 100, 2.9996e-4],
      [2, 50, 2.9996e-4],
      [3, 34, 3.0595e-4],
      [4, 25, 2.9996e-4],
      [5, 20, 2.9996e-4],
    ] as const;
    for (const [factors, guesses, odds] of table) {
      expect(attemptLimit(maxFailures, factors)).toBe(guesses);
      expect(oddsPerLockCycle(factors, maxFailures, window, 6)).toBeCloseTo(odds, 8);
    }
  });

  it('without the division, 5 factors would give 5 times the odds', () => {
    const undivided = 1 - (1 - (5 * 3) / 1e6) ** 100;
    expect(undivided / oddsPerLockCycle(1, 100, 1, 6)).toBeCloseTo(4.997, 3);
  });

  it('for any budget and 1 to 20 factors, at most the odds of one factor plus the rounding', () => {
    for (const budget of [1, 3, 10, 37, 100]) {
      const one = oddsPerLockCycle(1, budget, 1, 6);
      for (let factors = 1; factors <= 20; factors++) {
        const guesses = attemptLimit(budget, factors);
        expect(guesses).toBe(Math.max(1, Math.ceil(budget / factors)));
        // ceil rounds up by less than one guess of n factors: at most n − 1 extra hits.
        const bound = ((budget + factors - 1) * 3) / 1e6 + 1e-15;
        expect(oddsPerLockCycle(factors, budget, 1, 6)).toBeLessThanOrEqual(bound);
        if (budget % factors === 0) {
          expect(oddsPerLockCycle(factors, budget, 1, 6) / one).toBeCloseTo(1, 4);
        }
      }
    }
  });
});
