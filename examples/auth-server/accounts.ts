// The example's own accounts and sessions, in SQL (PGlite or PostgreSQL). The
// MFA state lives in totpkit's store; this is the part every app already has.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** A PostgreSQL client as PostgresStore takes it: pg.Pool, pg.Client or PGlite. */
export interface SqlClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface User {
  id: string;
  email: string;
  passwordHash: string;
}

/**
 * Whose session, and the account's security generation (totpkit's
 * `status().generation`) read before the decision that made it.
 */
export interface SessionOwner {
  userId: string;
  generation: number;
}

/**
 * `anonymous`: a visitor (the session only carries the CSRF token);
 * `second_factor`: the password was right, the TOTP step is next;
 * `signed_in`: fully signed in.
 */
export type SessionStage = 'anonymous' | 'second_factor' | 'signed_in';

export interface Session {
  /** The cookie value; only its SHA-256 is stored. */
  token: string;
  userId: string | null;
  /**
   * The account's security generation (totpkit's, `mfa.status().generation`)
   * when the session was created; null for an anonymous one. A session whose
   * generation is no longer the account's is refused (app.ts): every change
   * of the factors moves it, in the same atomic step as the change.
   */
  generation: number | null;
  stage: SessionStage;
  csrf: string;
  /** A one-time message for the next page. */
  flash: string | null;
}

const LIFETIME_MS: Record<SessionStage, number> = {
  anonymous: 60 * 60_000,
  second_factor: 10 * 60_000,
  signed_in: 12 * 60 * 60_000,
};

// A leaked table must not hand out live sessions: store a hash of the token.
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');
const newToken = (): string => randomBytes(32).toString('base64url');

export class Accounts {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async migrate(): Promise<void> {
    await this.#sql.query(`CREATE TABLE IF NOT EXISTS demo_users (
      id text PRIMARY KEY,
      email text NOT NULL UNIQUE,
      password_hash text NOT NULL,
      created_at bigint NOT NULL)`);
    await this.#sql.query(`CREATE TABLE IF NOT EXISTS demo_sessions (
      id_hash text PRIMARY KEY,
      user_id text REFERENCES demo_users (id) ON DELETE CASCADE,
      stage text NOT NULL,
      csrf text NOT NULL,
      flash text,
      expires_at bigint NOT NULL)`);
    // The account's security generation (totpkit's) when the session was
    // made. Sessions from before the column have none, and are refused:
    // their users sign in once more. (Older demo data also has the columns
    // demo_users.generation and demo_sessions.generation / setup, of the
    // example's own counter and its sealed enrollment URI: no longer used.)
    await this.#sql.query(
      'ALTER TABLE demo_sessions ADD COLUMN IF NOT EXISTS mfa_generation bigint',
    );
    await this.#sql.query(
      'CREATE INDEX IF NOT EXISTS demo_sessions_expires_at ON demo_sessions (expires_at)',
    );
  }

  /** Creates a user; `null` if the email address is taken. */
  async createUser(email: string, passwordHash: string): Promise<User | null> {
    const { rows } = await this.#sql.query(
      `INSERT INTO demo_users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [randomUUID(), email, passwordHash, Date.now()],
    );
    const row = rows[0] as { id: string } | undefined;
    return row === undefined ? null : { id: row.id, email, passwordHash };
  }

  /** The user with this address. */
  async findUserByEmail(email: string): Promise<User | null> {
    const { rows } = await this.#sql.query(
      'SELECT id, email, password_hash FROM demo_users WHERE email = $1',
      [email],
    );
    return userOf(rows[0] as DemoUserRow | undefined);
  }

  async findUser(id: string): Promise<User | null> {
    const { rows } = await this.#sql.query(
      'SELECT id, email, password_hash FROM demo_users WHERE id = $1',
      [id],
    );
    return userOf(rows[0] as DemoUserRow | undefined);
  }

  /**
   * Starts a session with a new token and CSRF token (and drops expired ones).
   * `owner` is null for an anonymous session; otherwise its generation is the
   * one read *with* the decision that this session may exist (the
   * `mfa.status` that said whether a code is needed, the result of the
   * change, or the session it replaces), never a fresh read after it.
   */
  async createSession(
    owner: SessionOwner | null,
    stage: SessionStage,
    flash: string | null = null,
  ): Promise<Session> {
    const now = Date.now();
    await this.#sql.query('DELETE FROM demo_sessions WHERE expires_at <= $1', [now]);
    const session: Session = {
      token: newToken(),
      userId: owner?.userId ?? null,
      generation: owner?.generation ?? null,
      stage,
      csrf: newToken(),
      flash,
    };
    await this.#sql.query(
      `INSERT INTO demo_sessions (id_hash, user_id, mfa_generation, stage, csrf, flash, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        digest(session.token),
        session.userId,
        session.generation,
        stage,
        session.csrf,
        flash,
        now + LIFETIME_MS[stage],
      ],
    );
    return session;
  }

  /**
   * The session with this token, if it has not expired. For a user's
   * session, app.ts then compares its generation with the account's.
   */
  async getSession(token: string): Promise<Session | null> {
    const { rows } = await this.#sql.query(
      `SELECT user_id, mfa_generation, stage, csrf, flash FROM demo_sessions
       WHERE id_hash = $1 AND expires_at > $2`,
      [digest(token), Date.now()],
    );
    const row = rows[0] as
      | {
          user_id: string | null;
          mfa_generation: number | string | null;
          stage: SessionStage;
          csrf: string;
          flash: string | null;
        }
      | undefined;
    if (row === undefined) return null;
    return {
      token,
      userId: row.user_id,
      // bigint comes back as text from node-postgres.
      generation: row.mfa_generation === null ? null : Number(row.mfa_generation),
      stage: row.stage,
      csrf: row.csrf,
      flash: row.flash,
    };
  }

  async setFlash(token: string, flash: string | null): Promise<void> {
    await this.#sql.query('UPDATE demo_sessions SET flash = $2 WHERE id_hash = $1', [
      digest(token),
      flash,
    ]);
  }

  async deleteSession(token: string): Promise<void> {
    await this.#sql.query('DELETE FROM demo_sessions WHERE id_hash = $1', [digest(token)]);
  }
}

interface DemoUserRow {
  id: string;
  email: string;
  password_hash: string;
}

const userOf = (row: DemoUserRow | undefined): User | null =>
  row === undefined ? null : { id: row.id, email: row.email, passwordHash: row.password_hash };
