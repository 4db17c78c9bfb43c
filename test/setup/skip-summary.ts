// Vitest global setup: collects what the integration helpers skipped (through
// a file named in TOTPKIT_SKIP_LOG, which the test workers inherit) and prints
// one summary at the end of the run, so that a local run cannot look complete
// when it left something out.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOT_IN_UNIT_TIER } from './tiers.ts';
import { SKIP_LOG_ENV } from '../helpers/integration.ts';

/** The summary for the recorded skips (one per line of JSON), or '' if nothing was skipped. */
export function skipSummary(log: string, tier: string | undefined): string {
  const counts = new Map<string, number>();
  for (const line of log.split('\n')) {
    if (line === '') continue;
    const { what, reason } = JSON.parse(line) as { what: string; reason: string };
    const key = `${what}: ${reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const lines = [...counts.keys()].sort().map((key) => `  - ${key}`);
  if (tier === 'unit') {
    for (const [file, needs] of Object.entries(NOT_IN_UNIT_TIER)) {
      lines.push(`  - ${file}: not in the unit tier (needs ${needs})`);
    }
  }
  if (lines.length === 0) return '';
  return [
    `Skipped in this run (npm test with CI=1 runs everything and fails on anything missing):`,
    ...lines,
  ].join('\n');
}

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'totpkit-skips-'));
  const log = join(dir, 'skips.jsonl');
  process.env[SKIP_LOG_ENV] = log;
  return () => {
    let text = '';
    try {
      text = readFileSync(log, 'utf8');
    } catch {
      // nothing was skipped
    }
    rmSync(dir, { recursive: true, force: true });
    const summary = skipSummary(text, process.env.TOTPKIT_TEST_TIER);
    if (summary !== '') console.log(`\n${summary}\n`);
  };
}
