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
  /**
   * The account's security generation: a counter bumped after every change to
   * two-factor sign-in (see {@link Accounts.endUserSessions}). Every session
   * carries the generation it was created under and is valid only while the
   * account still has it.
   */
  generation: number;
}

/** Whose session, and the generation read before the decision that made it. */
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
   * The account's generation when the session was created (null for an
   * anonymous one). A session whose generation is no longer the account's is
   * not found: it ended with the change that bumped it.
   */
  generation: number | null;
  stage: SessionStage;
  csrf: string;
  /** A one-time message for the next page. */
  flash: string | null;
  /**
   * The otpauth:// URI of an enrollment in progress, sealed with the MFA
   * cipher, so that the setup page can be shown again (a reload, a mistyped
   * code) without making a new secret. Cleared when the enrollment ends.
   */
  setup: string | null;
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
    await this.#sql.query('ALTER TABLE demo_sessions ADD COLUMN IF NOT EXISTS setup text');
    // The security generation (see User.generation). Sessions from before the
    // column have none, and are refused: their users sign in once more.
    await this.#sql.query(
      'ALTER TABLE demo_users ADD COLUMN IF NOT EXISTS generation integer NOT NULL DEFAULT 0',
    );
    await this.#sql.query('ALTER TABLE demo_sessions ADD COLUMN IF NOT EXISTS generation integer');
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
    return row === undefined ? null : { id: row.id, email, passwordHash, generation: 0 };
  }

  /**
   * The user with this address. Sign-in reads it, generation included,
   * before it asks the MFA service whether a code is needed: a change that
   * bumps the generation after that answer then ends the session it makes.
   */
  async findUserByEmail(email: string): Promise<User | null> {
    const { rows } = await this.#sql.query(
      'SELECT id, email, password_hash, generation FROM demo_users WHERE email = $1',
      [email],
    );
    return userOf(rows[0] as DemoUserRow | undefined);
  }

  async findUser(id: string): Promise<User | null> {
    const { rows } = await this.#sql.query(
      'SELECT id, email, password_hash, generation FROM demo_users WHERE id = $1',
      [id],
    );
    return userOf(rows[0] as DemoUserRow | undefined);
  }

  /**
   * Starts a session with a new token and CSRF token (and drops expired ones).
   * `owner` is null for an anonymous session; otherwise its generation is the
   * one read *before* deciding that this session may exist (the user row
   * read before `mfa.status`, or the session it replaces), never a fresh read.
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
      setup: null,
    };
    await this.#sql.query(
      `INSERT INTO demo_sessions (id_hash, user_id, generation, stage, csrf, flash, expires_at)
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
   * The session with this token, if it has not expired and, for a user's
   * session, was created under the account's current generation: checked on
   * every request, in the same query that reads the session.
   */
  async getSession(token: string): Promise<Session | null> {
    const { rows } = await this.#sql.query(
      `SELECT s.user_id, s.generation, s.stage, s.csrf, s.flash, s.setup
       FROM demo_sessions s LEFT JOIN demo_users u ON u.id = s.user_id
       WHERE s.id_hash = $1 AND s.expires_at > $2
         AND (s.user_id IS NULL OR s.generation = u.generation)`,
      [digest(token), Date.now()],
    );
    const row = rows[0] as
      | {
          user_id: string | null;
          generation: number | null;
          stage: SessionStage;
          csrf: string;
          flash: string | null;
          setup: string | null;
        }
      | undefined;
    if (row === undefined) return null;
    return {
      token,
      userId: row.user_id,
      generation: row.generation,
      stage: row.stage,
      csrf: row.csrf,
      flash: row.flash,
      setup: row.setup,
    };
  }

  async setFlash(token: string, flash: string | null): Promise<void> {
    await this.#sql.query('UPDATE demo_sessions SET flash = $2 WHERE id_hash = $1', [
      digest(token),
      flash,
    ]);
  }

  async setSetup(token: string, setup: string | null): Promise<void> {
    await this.#sql.query('UPDATE demo_sessions SET setup = $2 WHERE id_hash = $1', [
      digest(token),
      setup,
    ]);
  }

  async deleteSession(token: string): Promise<void> {
    await this.#sql.query('DELETE FROM demo_sessions WHERE id_hash = $1', [digest(token)]);
  }

  /**
   * Ends every session of a user: call it after two-factor sign-in changed
   * (the service call has returned), since a session opened under the old
   * rules (a password-only one, say) must not outlive them. Bumps the
   * account's generation, which ends every session made under the old one,
   * including one whose sign-in read the status before the change but is
   * written only now; then deletes the rows. Returns the new generation, for
   * the session that made the change.
   *
   * The bump follows the change, so a session created from a status read
   * before the change carries the old generation. The library's own per-user
   * security generation (planned, issue 21), bumped in the same atomic step
   * as the factor change, can replace this counter: sessions would carry the
   * generation `mfa.status` reports, read in the same call as the state.
   */
  async endUserSessions(userId: string): Promise<number> {
    const { rows } = await this.#sql.query(
      'UPDATE demo_users SET generation = generation + 1 WHERE id = $1 RETURNING generation',
      [userId],
    );
    await this.#sql.query('DELETE FROM demo_sessions WHERE user_id = $1', [userId]);
    const row = rows[0] as { generation: number } | undefined;
    if (row === undefined) throw new Error('endUserSessions: no such user');
    return row.generation;
  }
}

interface DemoUserRow {
  id: string;
  email: string;
  password_hash: string;
  generation: number;
}

const userOf = (row: DemoUserRow | undefined): User | null =>
  row === undefined
    ? null
    : { id: row.id, email: row.email, passwordHash: row.password_hash, generation: row.generation };
