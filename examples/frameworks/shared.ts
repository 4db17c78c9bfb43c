// What the three framework examples share: the MFA service and how they start.
// Your app has its own store (PostgresStore, RedisStore) and its own session;
// here a MemoryStore, and the signed-in user is the `x-user-id` header, which
// stands in for the session your password step creates. After the second
// factor, `Sessions` makes the full session (the `x-session` header here),
// bound to the user's security generation.
import {
  createAESGCMCipher,
  createMFA,
  MemoryStore,
  type MFA,
  type MFAOptions,
  type VerificationMessage,
} from 'totpkit';

/**
 * Where the verification codes go: your e-mail or SMS provider. Here an
 * outbox in memory (the tests read it) and a line on the console.
 */
export const outbox: VerificationMessage[] = [];

/**
 * The service. The AES-256 key comes from MFA_KEY (32 bytes, base64), the
 * verification codes' HMAC key from MFA_CODE_KEY; without them random keys
 * are made, and every secret is lost when the process stops.
 */
export function createExampleMFA(options: Partial<MFAOptions> = {}): MFA {
  const keyOf = (name: string) =>
    process.env[name]
      ? new Uint8Array(Buffer.from(process.env[name], 'base64'))
      : crypto.getRandomValues(new Uint8Array(32));
  return createMFA({
    store: new MemoryStore(),
    issuer: 'Acme',
    cipher: createAESGCMCipher({ keys: { k1: keyOf('MFA_KEY') }, primaryKeyId: 'k1' }),
    verification: {
      key: keyOf('MFA_CODE_KEY'),
      sender: async (message) => {
        outbox.push(message);
        console.log(`verification code for ${message.destination} (${message.purpose})`);
      },
    },
    ...options,
  });
}

/**
 * The answer to a service error: a missing or spent proof is the client's
 * (403, the message says which rule, never the token); anything else a 500.
 */
export function errorAnswer(error: unknown): { status: 403 | 500; body: { error: string } } {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_PROOF'
    ? { status: 403, body: { error: (error as Error).message } }
    : { status: 500, body: { error: 'internal error' } };
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
