import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { NOT_IN_UNIT_TIER } from './test/setup/tiers.ts';
import { entry as entries } from './tsup.config.ts';

// Tests (and the examples they run) import the package by name, as users do:
// `totpkit`, `totpkit/qr`, … Map each entry point to its source, so that the
// tests need no build and always exercise the current code.
const alias = Object.entries(entries)
  .filter(([name]) => name !== 'cli')
  .map(([name, source]) => ({
    find: new RegExp(`^totpkit${name === 'index' ? '' : `/${name}`}$`),
    replacement: fileURLToPath(new URL(source, import.meta.url)),
  }));

const unitTier = process.env.TOTPKIT_TEST_TIER === 'unit';

export default defineConfig({
  resolve: { alias },
  test: {
    // examples/ holds the custom store example's conformance test.
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(unitTier ? Object.keys(NOT_IN_UNIT_TIER) : [])],
    // Prints what was skipped, and why, at the end of the run.
    globalSetup: ['test/setup/skip-summary.ts'],
    // The unit tier is CPU-bound and needs no servers: one worker per core
    // (Vitest's default leaves one core free, which on a 2-core machine is a
    // single worker and roughly doubles the tier's time).
    ...(unitTier ? { maxWorkers: Math.max(2, availableParallelism()) } : {}),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
