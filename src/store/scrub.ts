/**
 * Store failures as `MFAError('ERR_STORE')`: one place that turns a driver's
 * error into an error safe to log, and says what to do about it. The stores
 * use it, and so does the service for an error a store of the user's own
 * throws. Not exported by the package.
 *
 * Driver errors carry the values of the failed call: ioredis keeps
 * `command.args` (the sealed secret, which is the secret itself under
 * `plaintextCipher()`), PostgreSQL's `detail` quotes a failing row, and
 * wrappers attach `parameters`. `util.inspect` prints all of it. So the
 * `cause` attached here is a copy that keeps only what identifies the failure
 * (name, message, driver code and SQLSTATE, the object the database named) and
 * drops every field that can hold a value; any value of the call that still
 * appears in a message is replaced by `[redacted]`.
 * @module
 */
import { MFAError } from '../errors.ts';

/** Fields of driver errors that identify a failure without holding a value. */
const SAFE_FIELDS = [
  'code', // pg SQLSTATE, Node system error code, ioredis/node-redis error codes
  'errno',
  'syscall',
  'address',
  'port',
  'severity', // pg
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'routine',
] as const;

/** Nested errors worth keeping (AggregateError, ioredis Cluster). */
const NESTED_FIELDS = ['cause', 'lastNodeError'] as const;

const MAX_DEPTH = 4;

/** Strings shorter than this are not redacted: they are names like `otp`, not values. */
const MIN_REDACTED_LENGTH = 8;

/**
 * What PostgresStore says when it refuses a client inside an open transaction
 * (SQLSTATE 25001, raised by its own guard): issue 21.5.
 */
export const IN_TRANSACTION_ADVICE =
  'PostgresStore was given a client inside an open transaction; a rollback would undo ' +
  'attempt reservations (CVE-2026-35597); pass a pool or a client outside transactions';

/** What to do, by PostgreSQL SQLSTATE (PostgreSQL docs, Appendix A). */
const SQLSTATE_ADVICE: Readonly<Record<string, string>> = {
  '25001': IN_TRANSACTION_ADVICE,
  '42P01': 'its table does not exist: run `await store.migrate()` once at startup',
  '42703':
    'its table lacks a column (created by another version): run `await store.migrate()` once at startup',
  '3F000':
    'its schema does not exist: create it (CREATE SCHEMA) or name an existing one in the table option',
  '42501':
    'the database user lacks a permission: grant it SELECT, INSERT, UPDATE and DELETE on the table ' +
    '(and CREATE on the schema to run migrate())',
  '28P01': 'the database refused the password: check the connection settings',
  '28000': 'the database refused the user: check the connection settings',
  '3D000': 'the database does not exist: check the connection settings',
};

/** What to do, by the first word of a Redis error reply. */
const REDIS_ADVICE: Readonly<Record<string, string>> = {
  NOPERM:
    'the Redis user lacks a permission: grant the commands and keys listed in docs/stores.md ("Redis ACL")',
  NOAUTH: 'Redis requires authentication: pass credentials to the client',
  WRONGPASS: 'Redis refused the credentials: check the client settings',
  OOM: 'Redis is out of memory (maxmemory reached): raise maxmemory; never let it evict keys',
  READONLY: 'the client is connected to a read-only replica: connect to the primary',
  MISCONF: 'Redis cannot persist its data (see its log): writes are refused until that is fixed',
  LOADING: 'Redis is loading its data: retry when it has finished',
  CLUSTERDOWN: 'the Redis Cluster is down: retry when it is available',
  // Redis's reply under min-replicas-to-write, and RedisStore's own under `replicas` (WAIT).
  NOREPLICAS:
    'too few Redis replicas acknowledged the write (the replicas option or min-replicas-to-write): ' +
    'check that the replicas are up, connected and not lagging (INFO replication). The call is ' +
    'reported as failed although the primary may have applied it (fail closed)',
};

/**
 * What to do, for SQLite errors (better-sqlite3 and bun:sqlite put the result
 * code in `code`; D1 ends its message with it): by the message first, whose
 * words are SQLite's own, then by the primary result code.
 */
const SQLITE_MESSAGE_ADVICE: readonly (readonly [RegExp, string])[] = [
  [/no such table/, SQLSTATE_ADVICE['42P01']!],
  [/no such column|has no column named/, SQLSTATE_ADVICE['42703']!],
];
const SQLITE_CODE_ADVICE: Readonly<Record<string, string>> = {
  SQLITE_BUSY:
    'another connection held the write lock longer than the busy timeout: look for a long ' +
    'transaction on the same database, or raise busyTimeoutMs',
  SQLITE_LOCKED: 'a transaction of the same connection holds the table: finish it first',
  SQLITE_READONLY:
    'the database is read-only for this process: check the permissions of the file and of its ' +
    'directory (WAL mode creates the -wal and -shm files beside it)',
  SQLITE_CANTOPEN: 'the database file cannot be opened: check its path and permissions',
  SQLITE_IOERR:
    'the database file could not be read or written (a disk or file-system error): check the ' +
    'disk and the file, then retry',
  SQLITE_FULL: 'the disk is full: free space where the database lives',
  SQLITE_CORRUPT: 'the database file is corrupt: restore it from a backup',
  SQLITE_NOTADB: 'the file is not a SQLite database: check the path',
};

/** What to do about a SQLite error (any driver), or `''`. */
function sqliteAdvice(code: unknown, message: unknown): string {
  const text = typeof message === 'string' ? message : '';
  const result =
    typeof code === 'string' && code.startsWith('SQLITE_')
      ? code
      : /\b(SQLITE_[A-Z_]+)\b/.exec(text)?.[1];
  if (result === undefined) return '';
  for (const [pattern, advice] of SQLITE_MESSAGE_ADVICE) if (pattern.test(text)) return advice;
  // An extended code (SQLITE_BUSY_SNAPSHOT) by its primary one.
  const primary = result.split('_').slice(0, 2).join('_');
  return SQLITE_CODE_ADVICE[primary] ?? '';
}

/** Collects the strings in a store call's arguments that could appear in an error. */
function collectValues(value: unknown, into: Set<string>, depth = 0): void {
  if (depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    if (value.length >= MIN_REDACTED_LENGTH) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectValues(item, into, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      collectValues((value as Record<string, unknown>)[key], into, depth + 1);
    }
  }
}

function redact(text: string, values: ReadonlySet<string>): string {
  let result = text;
  for (const value of values) {
    if (result.includes(value)) result = result.split(value).join('[redacted]');
  }
  return result;
}

function own(value: object, key: string): unknown {
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * A copy of `error` safe to log: message (redacted), name, the stack frames,
 * the fields in `SAFE_FIELDS`, nested causes scrubbed the same way; for an
 * ioredis error, the command's name without its arguments.
 */
function scrubError(error: unknown, values: ReadonlySet<string> = new Set(), depth = 0): Error {
  if (!(error instanceof Error) && (error === null || typeof error !== 'object')) {
    // A thrown primitive: only its type survives (it may be a value).
    return new Error(`a non-Error value was thrown (${error === null ? 'null' : typeof error})`);
  }
  const source = error as Error & Record<string, unknown>;
  const message = redact(typeof source.message === 'string' ? source.message : '', values);
  const copy = new Error(message) as Error & Record<string, unknown>;
  const name = typeof source.name === 'string' ? source.name : 'Error';
  copy.name = name;
  const frames =
    typeof source.stack === 'string'
      ? source.stack.split('\n').filter((line) => /^\s+at /.test(line))
      : [];
  copy.stack = [`${name}: ${message}`, ...frames].join('\n');
  for (const field of SAFE_FIELDS) {
    const value = own(source, field);
    if (typeof value === 'string') copy[field] = redact(value, values);
    else if (typeof value === 'number') copy[field] = value;
  }
  const command = own(source, 'command');
  if (command !== null && typeof command === 'object') {
    const commandName = own(command, 'name');
    if (typeof commandName === 'string') copy.command = { name: commandName };
  }
  if (depth < MAX_DEPTH) {
    for (const field of NESTED_FIELDS) {
      const nested = own(source, field);
      if (nested !== undefined) copy[field] = scrubError(nested, values, depth + 1);
    }
    const errors = own(source, 'errors');
    if (Array.isArray(errors)) {
      copy.errors = errors.slice(0, 16).map((item) => scrubError(item, values, depth + 1));
    }
  }
  return copy;
}

/** What to do about a driver error, found in it or in its nested causes; `''` if unknown. */
function storeAdvice(error: unknown, depth = 0): string {
  if (error === null || typeof error !== 'object' || depth > MAX_DEPTH) return '';
  const code = own(error, 'code');
  if (typeof code === 'string' && Object.hasOwn(SQLSTATE_ADVICE, code)) {
    return SQLSTATE_ADVICE[code] as string;
  }
  const message = own(error, 'message') ?? (error instanceof Error ? error.message : undefined);
  const sqlite = sqliteAdvice(code, message);
  if (sqlite !== '') return sqlite;
  if (typeof message === 'string') {
    // A Redis reply starts with its error code; ioredis Cluster puts it after a preamble.
    const word = /(?:^|Last error: \w+: )([A-Z]+)\b/.exec(message)?.[1];
    if (word !== undefined && Object.hasOwn(REDIS_ADVICE, word))
      return REDIS_ADVICE[word] as string;
  }
  for (const field of NESTED_FIELDS) {
    const advice = storeAdvice(own(error, field), depth + 1);
    if (advice !== '') return advice;
  }
  return '';
}

/**
 * The `MFAError('ERR_STORE')` for a failed store operation: the message names
 * the operation and, when the driver's error says what is wrong, what to do;
 * the `cause` is the driver's error scrubbed of the call's values.
 *
 * @param operation - what failed, e.g. `store.getUser` or `PostgresStore.migrate`
 * @param cause - the driver's error
 * @param args - the arguments of the failed call, redacted wherever they appear
 * @param advice - what to do, when the caller knows better than the driver's error
 * @returns the error to throw
 */
export function storeError(
  operation: string,
  cause: unknown,
  args: readonly unknown[] = [],
  advice: string = storeAdvice(cause),
): MFAError {
  const values = new Set<string>();
  collectValues(args, values);
  const message = advice === '' ? `${operation} failed` : `${operation} failed: ${advice}`;
  return new MFAError('ERR_STORE', message, { cause: scrubError(cause, values) });
}
