// Runs the example auth server: `npm run demo`, then open http://localhost:3000.
//
// Storage, by environment:
//   (default)      PGlite, embedded PostgreSQL, persisted in DATA_DIR (default .data/auth-server)
//   DATABASE_URL   a PostgreSQL server for accounts and MFA state (postgres://user:pass@host/db)
//   REDIS_URL      MFA state in Redis (redis://host:6379); accounts stay in PostgreSQL/PGlite
// Other settings: PORT (default 3000), HOST (default 127.0.0.1), MFA_ENCRYPTION_KEY
// (32 bytes, base64; default: a key generated once into DATA_DIR), SECURE_COOKIES=1
// when served over HTTPS.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { createAESGCMCipher, createMFA } from 'totpkit';
import { createApp } from './app.ts';
import { openStorage } from './storage.ts';

const env = process.env;
const dataDir = resolve(env.DATA_DIR ?? '.data/auth-server');
const port = Number(env.PORT ?? 3000);
const host = env.HOST ?? '127.0.0.1';

/**
 * The key that seals TOTP secrets at rest. In production it comes from a
 * secret manager (MFA_ENCRYPTION_KEY); for the demo, one is generated once
 * and kept next to the data, readable by this user only.
 */
function encryptionKey(): Uint8Array {
  if (env.MFA_ENCRYPTION_KEY) {
    const key = Buffer.from(env.MFA_ENCRYPTION_KEY, 'base64');
    if (key.length !== 32) throw new Error('MFA_ENCRYPTION_KEY must be 32 bytes in base64');
    return key;
  }
  const file = join(dataDir, 'mfa-encryption-key');
  try {
    return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const key = randomBytes(32);
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 });
    console.log(
      `generated a demo encryption key in ${file} (use MFA_ENCRYPTION_KEY in production)`,
    );
    return key;
  }
}

const storage = await openStorage(env, dataDir);
const mfa = createMFA({
  store: storage.store,
  issuer: 'totpkit demo',
  cipher: createAESGCMCipher({ keys: { demo1: encryptionKey() }, primaryKeyId: 'demo1' }),
  // Audit events carry no secret or code; a real app sends them to its audit log.
  onEvent: (event) => console.log(`mfa event ${event.type} user=${event.userId}`),
});

const server = createServer(
  createApp({ mfa, accounts: storage.accounts, secureCookies: env.SECURE_COOKIES === '1' }),
);
server.listen(port, host, () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(storage.description);
  console.log(
    `totpkit demo on http://${host === '127.0.0.1' ? 'localhost' : host}:${actual}  (Ctrl+C to stop)`,
  );
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    void storage.close().then(() => process.exit(0));
  });
}
