// What the three framework examples share: the MFA service and how they start.
// Your app has its own store (PostgresStore, RedisStore) and its own session;
// here a MemoryStore, and the signed-in user is the `x-user-id` header, which
// stands in for the session your password step creates.
import { createAESGCMCipher, createMFA, MemoryStore, type MFA, type MFAOptions } from 'totpkit';

/**
 * The service. The AES-256 key comes from MFA_KEY (32 bytes, base64); without
 * it a random key is made, and every secret is lost when the process stops.
 */
export function createExampleMFA(options: Partial<MFAOptions> = {}): MFA {
  const key = process.env.MFA_KEY
    ? new Uint8Array(Buffer.from(process.env.MFA_KEY, 'base64'))
    : crypto.getRandomValues(new Uint8Array(32));
  return createMFA({
    store: new MemoryStore(),
    issuer: 'Acme',
    cipher: createAESGCMCipher({ keys: { k1: key }, primaryKeyId: 'k1' }),
    ...options,
  });
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
