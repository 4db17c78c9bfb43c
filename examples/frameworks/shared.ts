// What the three framework examples share: the MFA service, the user's e-mail
// address, the answer to the service's errors, and how they start. Your app
// has its own store (PostgresStore, RedisStore), its own session and its own
// mailer; here a MemoryStore, the signed-in user is the `x-user-id` header,
// which stands in for the session your password step creates, and
// verification codes are written to the console. After the second factor,
// `Sessions` makes the full session (the `x-session` header here), bound to
// the user's security generation.
import { hkdfSync } from 'node:crypto';
import {
  createAESGCMCipher,
  createMFA,
  MemoryStore,
  MFAError,
  type MFA,
  type MFAOptions,
} from 'totpkit';

/**
 * The service. The AES-256 key comes from MFA_KEY (32 bytes, base64); without
 * it a random key is made, and every secret is lost when the process stops.
 * Verification codes (the identity step before a first enrollment) go to the
 * console: in your app, `sender` hands them to your mailer.
 */
export function createExampleMFA(options: Partial<MFAOptions> = {}): MFA {
  const key = process.env.MFA_KEY
    ? new Uint8Array(Buffer.from(process.env.MFA_KEY, 'base64'))
    : crypto.getRandomValues(new Uint8Array(32));
  return createMFA({
    store: new MemoryStore(),
    issuer: 'Acme',
    cipher: createAESGCMCipher({ keys: { k1: key }, primaryKeyId: 'k1' }),
    verification: {
      // Development only: the code in the log. Send an e-mail instead.
      sender: async (message) =>
        console.log(`verification code for ${message.destination}: ${message.code}`),
      // The codes' HMAC key, derived from the sealing key (its own label).
      key: new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), 'verification codes', 32)),
    },
    ...options,
  });
}

/** The signed-in user's e-mail address, from your user table; here made up from the id. */
export const emailOf = (userId: string): string => `${userId}@example.com`;

/**
 * The HTTP answer to an error the service throws: the sender failed (503: no
 * code is live and none was counted), or a proof was refused (403: for a
 * first enrollment, ask for a new e-mail code; once the user has an
 * authenticator, a current code from it). Anything else is a 500.
 */
export function errorAnswer(error: unknown): { status: number; body: { error: string } } {
  if (error instanceof MFAError && error.code === 'ERR_SENDER') {
    return { status: 503, body: { error: 'the code could not be sent; try again later' } };
  }
  if (error instanceof MFAError && error.code === 'ERR_PROOF') {
    return { status: 403, body: { error: error.message } };
  }
  return { status: 500, body: { error: 'internal error' } };
}

/**
 * Your session store (here a Map in memory), with the one rule every app
 * needs: a session remembers the security generation it was made in, and a
 * request whose session is older than the user's generation is refused.
 * `verify` and `useRecoveryCode` return the generation; every factor change
 * (a factor added, replaced, removed or imported, recovery codes
 * regenerated, disable, an admin reset) moves it, so every other session
 * of the user ends at its next request.
 */
export class Sessions {
  readonly #mfa: MFA;
  readonly #sessions = new Map<string, { userId: string; generation: number }>();

  constructor(mfa: MFA) {
    this.#mfa = mfa;
  }

  /** A new session for a user who passed the second factor, bound to `generation`. */
  create(userId: string, generation: number): string {
    const id = crypto.randomUUID(); // your framework's session id (a signed cookie)
    this.#sessions.set(id, { userId, generation });
    return id;
  }

  /** The user of session `id`, or `null`: unknown, or made in an older generation (then ended). */
  async user(id: string | undefined): Promise<string | null> {
    const session = id === undefined ? undefined : this.#sessions.get(id);
    if (session === undefined) return null;
    // One store read per request; an app may check only on sensitive routes.
    const { generation } = await this.#mfa.status(session.userId);
    if (generation !== session.generation) {
      this.#sessions.delete(id!);
      return null;
    }
    return session.userId;
  }
}

/** A running example server. */
export interface ExampleServer {
  /** Its base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts `start` on PORT (default 3000) when the file is run directly (`npx tsx file.ts`). */
export async function runIfMain(
  meta: ImportMeta,
  start: (mfa: MFA, port: number) => Promise<ExampleServer>,
): Promise<void> {
  if (process.argv[1] !== undefined && meta.filename === process.argv[1]) {
    const server = await start(createExampleMFA(), Number(process.env.PORT ?? 3000));
    console.log(`listening on ${server.url}`);
  }
}
