/**
 * The account document on its own: a compare-and-set write of it
 * (`updateAccount`), and the admin reset (`resetUser`), which writes it with
 * every factor, the pending enrollment, the recovery codes and the throttle
 * state gone. Each is one transaction of two statements: the state read first
 * (to say why nothing was written), then one upsert that creates the row at
 * version 0 or changes it at the version read, unless an erasure guard is in
 * force.
 * @module
 */
import { toInteger } from '../_database.ts';
import type { AccountUpdateOutcome, AccountWriteOptions, ResetUserOutcome } from '../contract.ts';
import { notGuarded } from './enrollment.ts';
import {
  checkAccountWrite,
  RESET_THROTTLE,
  setAccount,
  sql,
  versionIs,
  type Table,
} from './table.ts';

type Fragment = ReturnType<typeof sql>;

/** The account operations of a store on `table`. */
export function accountOperations({ driver, name }: Table) {
  /**
   * Writes the document (and `also`, more of the `SET`) if the version is
   * still the one read and no guard is in force at `now`; `true` if it did,
   * else why not: `'erased'` first, then `'conflict'`.
   */
  async function write(
    userId: string,
    options: AccountWriteOptions,
    also: Fragment,
  ): Promise<true | 'erased' | 'conflict'> {
    const text = checkAccountWrite(options, 'options');
    const { version, now } = options;
    const [state, written] = await driver.transaction([
      sql`SELECT erased_until FROM ${name} WHERE user_id = ${userId}`,
      // A new row only at version 0; an existing one only at the version read.
      sql`INSERT INTO ${name} (user_id, account, account_version)
SELECT ${userId}, ${text}, ${version + 1}
WHERE ${version} = coalesce((SELECT account_version FROM ${name} WHERE user_id = ${userId}), 0)
ON CONFLICT (user_id) DO UPDATE SET ${also}${setAccount(options, text)}, erased_until = NULL
WHERE ${notGuarded(now)} AND ${versionIs(options)}
RETURNING user_id`,
    ]);
    if (written?.length === 1) return true;
    const row = state?.[0];
    const until = row?.erased_until == null ? null : toInteger(row.erased_until, 'erased_until');
    return until !== null && now < until ? 'erased' : 'conflict';
  }

  return {
    async updateAccount(
      userId: string,
      options: AccountWriteOptions,
    ): Promise<AccountUpdateOutcome> {
      const outcome = await write(userId, options, sql``);
      return outcome === true ? 'updated' : outcome;
    },

    async resetUser(userId: string, options: AccountWriteOptions): Promise<ResetUserOutcome> {
      // One upsert under the write lock: a call of the user's racing the
      // reset runs wholly before it (then the version moved if it wrote the
      // document: 'conflict') or wholly after it, on the emptied row.
      const outcome = await write(
        userId,
        options,
        sql`factors = '[]', pending = NULL, pending_expires_at = NULL, recovery_salt = NULL,
  recovery_hashes = NULL, ${RESET_THROTTLE}, `,
      );
      return outcome === true ? 'reset' : outcome;
    },
  };
}

/** What {@link accountOperations} returns. */
export type AccountOperations = ReturnType<typeof accountOperations>;
