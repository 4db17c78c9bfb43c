/**
 * How the store's writes reach the database: each one refuses to run inside
 * a transaction the caller opened (issue 21.5, CVE-2026-35597), because a
 * rollback of that transaction would undo it: an attempt reservation undone
 * is a lock that never happens.
 *
 * The check is `statement_timestamp() = transaction_timestamp()`, in a `DO`
 * block sent in the same Query message as the write. It is exact only for a
 * statement sent with the simple query protocol: PostgreSQL sets
 * `statement_timestamp()` once per protocol message, and the transaction of
 * an implicit (one-message) block starts with that message, so the two are
 * equal; a transaction opened by an earlier `BEGIN` started one message (a
 * round trip, many microseconds) earlier. Through the extended protocol
 * (Parse, Bind, Execute) the two differ for every statement, so the values are
 * inlined as literals and the text is sent alone: `pg` then uses the simple
 * protocol, and PGlite's `exec()` does. Inside a transaction block the `DO`
 * raises SQLSTATE 25001 (`active_sql_transaction`) and the write that follows
 * it in the message never runs: nothing is written, whatever the caller does
 * next.
 *
 * PGlite's clock ticks in milliseconds, so a `BEGIN` and a write in the same
 * millisecond would pass the timestamp check; PGlite is one in-process
 * connection that knows its own transaction state, so it is asked too.
 * @module
 */
import { describe } from '../../_assert.ts';
import { IN_TRANSACTION_ADVICE, storeError } from '../scrub.ts';
import type { PostgresQueryClient, PostgresQueryResult } from './table.ts';

/** SQLSTATE `active_sql_transaction`. */
const ACTIVE_SQL_TRANSACTION = '25001';

/** Raises 25001 unless this message's transaction began with it. */
const GUARD = `DO $totpkit_guard$ BEGIN
IF statement_timestamp() <> transaction_timestamp() THEN
  RAISE EXCEPTION USING ERRCODE = 'active_sql_transaction', MESSAGE = '${IN_TRANSACTION_ADVICE}';
END IF;
END $totpkit_guard$;
`;

/** A client that can send a text without parameters as a simple Query (PGlite). */
interface ExecClient {
  exec(text: string): Promise<PostgresQueryResult[]>;
}

/** The transaction state PGlite reports: its instance, or a `transaction()` handle. */
interface TransactionAware {
  isInTransaction?: () => boolean;
  rollback?: () => Promise<void>;
  closed?: boolean;
}

/** Whether the client itself says it is inside a transaction (PGlite). */
function reportsTransaction(client: PostgresQueryClient): boolean {
  const aware = client as PostgresQueryClient & TransactionAware;
  if (typeof aware.isInTransaction === 'function') return aware.isInTransaction() === true;
  // PGlite's transaction() handle: open until its callback ends.
  return typeof aware.rollback === 'function' && aware.closed === false;
}

/** A string as a literal that means the same whatever `standard_conforming_strings` is. */
function quote(text: string): string {
  if (text.includes('\0')) throw new RangeError('a value sent to PostgreSQL contains U+0000');
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** An array of strings as PostgreSQL's array input text (as `pg` sends it). */
function arrayText(values: readonly unknown[]): string {
  const items = values.map((value) => {
    if (value === null) return 'NULL';
    if (typeof value !== 'string') {
      throw new TypeError(`an array sent to PostgreSQL holds ${describe(value)}`);
    }
    return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}

/**
 * A value as an untyped literal, which PostgreSQL types from its context as
 * it types a parameter `pg` sends as text (type `unknown`); the statements
 * cast where the context does not decide.
 */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!(Number.isFinite(value) || value === Infinity)) {
      throw new RangeError(`a number sent to PostgreSQL must be finite, got ${describe(value)}`);
    }
    return `'${String(value)}'`;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return quote(arrayText(value));
  throw new TypeError(`cannot send ${describe(value)} to PostgreSQL`);
}

/** `sql` with `$1`, `$2`, … replaced by the literals of `values`. */
export function inline(sql: string, values: readonly unknown[]): string {
  return sql.replace(/\$(\d+)\b/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index >= values.length) throw new RangeError(`no value for $${n}`);
    return literal(values[index]);
  });
}

/** The result of the last statement of a multi-statement text. */
function last(result: PostgresQueryResult | PostgresQueryResult[]): PostgresQueryResult {
  const final = Array.isArray(result) ? result[result.length - 1] : result;
  if (final === undefined || !Array.isArray(final.rows)) {
    throw new TypeError(`the database returned a bad result: ${describe(final)}`);
  }
  return final;
}

/**
 * Runs a write (`sql` with `$n` placeholders) outside any transaction of the
 * caller's, or throws `MFAError('ERR_STORE')` with {@link IN_TRANSACTION_ADVICE}
 * having written nothing. Other failures are the driver's errors, as they were.
 *
 * @param client - the store's client
 * @param operation - the store method, for the error message
 * @param sql - one statement
 * @param values - its parameters
 * @returns the statement's result
 */
export async function runWrite(
  client: PostgresQueryClient,
  operation: string,
  sql: string,
  values: readonly unknown[],
): Promise<PostgresQueryResult> {
  const refuse = (cause: unknown) =>
    storeError(`PostgresStore.${operation}`, cause, [], IN_TRANSACTION_ADVICE);
  if (reportsTransaction(client)) {
    const cause = Object.assign(new Error(IN_TRANSACTION_ADVICE), { code: ACTIVE_SQL_TRANSACTION });
    throw refuse(cause);
  }
  const text = GUARD + inline(sql, values);
  try {
    const exec = (client as Partial<ExecClient>).exec;
    return last(
      typeof exec === 'function'
        ? await exec.call(client, text)
        : ((await client.query(text, [])) as PostgresQueryResult | PostgresQueryResult[]),
    );
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === ACTIVE_SQL_TRANSACTION) throw refuse(error);
    throw error;
  }
}
