/**
 * `deleteExpired`: finds the rows with work to do through the indexes of
 * `pending_due`, `idle_since` and `guard_until`, then changes each in a
 * transaction of its own by the rules of `rules/retention.ts` that
 * MemoryStore applies too (the row re-read under its lock, so a row that changed meanwhile is judged as it is now).
 * @module
 */
import { checkDeleteExpired } from '../_retention.ts';
import { storeError } from '../scrub.ts';
import { clearExpiredEnrollment, deleteIdleRecord, dropEndedGuard } from '../rules/retention.ts';
import type { UserState } from '../rules/state.ts';
import type { DeleteExpiredOptions, DeleteExpiredResult } from '../contract.ts';
import { rowsOf, type MySQLPool } from './client.ts';

/** Runs a rule on a user's locked row (MySQLStore's transaction). */
type RunOnRow = <T>(userId: string, operation: (state: UserState) => T) => Promise<T>;

export async function deleteExpired(
  pool: MySQLPool,
  table: string,
  now: unknown,
  options: DeleteExpiredOptions | undefined,
  retentionMs: number,
  run: RunOnRow,
): Promise<DeleteExpiredResult> {
  const checked = checkDeleteExpired(now, options);
  try {
    const due = async (column: string, before: number): Promise<string[]> =>
      rowsOf(
        await pool.query(
          `SELECT user_id FROM ${table} WHERE ${column} <= ? ORDER BY ${column} LIMIT ?`,
          [before, checked.limit],
        ),
      ).map((row) => Buffer.from(row.user_id as Uint8Array).toString('utf8'));
    let enrollments = 0;
    let records = 0;
    const pending = await due('pending_due', checked.now);
    const idle = await due('idle_since', Math.max(0, checked.now - retentionMs));
    const guarded = await due('guard_until', checked.now);
    for (const userId of new Set([...pending, ...idle, ...guarded])) {
      const result = await run(userId, (state) => ({
        enrollment: clearExpiredEnrollment(state, checked.now),
        // One record per row: the record itself, or else a guard that ended.
        record:
          deleteIdleRecord(state, checked.now, retentionMs) || dropEndedGuard(state, checked.now),
      }));
      enrollments += Number(result.enrollment);
      records += Number(result.record);
    }
    const full = (ids: string[]) => ids.length === checked.limit;
    return { enrollments, records, more: full(pending) || full(idle) || full(guarded) };
  } catch (cause) {
    throw storeError('MySQLStore.deleteExpired', cause);
  }
}
