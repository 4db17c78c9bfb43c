// Runs the example auth server: `npm run demo`, then open http://localhost:3000.
//
// Storage, by environment:
//   (default)      PGlite, embedded PostgreSQL, persisted in DATA_DIR (default .data/auth-server)
//   DATABASE_URL   a PostgreSQL server for accounts and MFA state (postgres://user:pass@host/db)
//   REDIS_URL      MFA state in Redis (redis://host:6379); accounts stay in PostgreSQL/PGlite
// Other settings: PORT (default 3000), HOST (default 127.0.0.1), MFA_ENCRYPTION_KEY
// (32 bytes, base64; default: a key generated once into DATA_DIR), SECURE_COOKIES=1
// when served over HTTPS, the TOTP parameters of new authenticators:
// TOTP_ALGORITHM (SHA1), TOTP_DIGITS (6), TOTP_PERIOD (30); keep the defaults
// unless you know your users' apps (see settings.ts), and the per-IP limits:
// PER_IP_SIGNINS_PER_MINUTE (10), PER_IP_CODES_PER_MINUTE (20),
// PER_IP_CONNECTIONS (32), TRUST_PROXY=1 behind a reverse proxy, and where
// verification codes go: SMTP_URL (smtp://user:pass@host:587) and SMTP_FROM
// to send e-mail; without SMTP_URL, the development outbox (/dev/outbox and
// the log; never in production).
//
// Start-up order matters: the port is taken first, then the data directory is
// locked, and only then is the database opened. A second demo on the same
// port or data directory stops before it touches the files of the first.
// SIGINT and SIGTERM are handled from the start, so that a stop at any point
// releases the lock; the "on http://…" line comes last, once all is ready.
import { once } from 'node:events';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative, resolve } from 'node:path';
import { createApp } from './app.ts';
import { createAuthServer } from './http.ts';
import { lockDirectory } from './lock.ts';
import { mailerFromEnv, type Mailer } from './mail.ts';
import { createDemoMFA } from './service.ts';
import { perIPLimitsFromEnv, SettingError, totpParametersFromEnv } from './settings.ts';
import { encryptionKey, openStorage, StorageError, type Storage } from './storage.ts';

const env = process.env;
const dataDir = resolve(env.DATA_DIR ?? '.data/auth-server');
const shownDir = relative(process.cwd(), dataDir).startsWith('..')
  ? dataDir
  : relative(process.cwd(), dataDir) || '.';
const port = Number(env.PORT ?? 3000);
const host = env.HOST ?? '127.0.0.1';

/** A start-up failure: what happened and what to do, printed as one line. */
class StartError extends Error {}

/** Prints one line (never a stack: PGlite's can hold 166 kB of minified source) and exits. */
function fail(error: unknown): never {
  const text =
    error instanceof StartError
      ? error.message
      : `${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`
          .split('\n')[0]
          ?.slice(0, 300);
  console.error(`totpkit demo: ${text}`);
  process.exit(1);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

/** The first line of an error's message, shortened: for one-line start-up failures. */
function reasonOf(error: unknown, max = 120): string {
  return error instanceof Error
    ? error.message.split('\n')[0]?.slice(0, max) || error.name
    : String(error).slice(0, max);
}

// 0. The settings, before anything is opened.
let totp;
let limits;
let mailer: Mailer;
try {
  totp = totpParametersFromEnv(env);
  limits = perIPLimitsFromEnv(env);
  mailer = mailerFromEnv(env, (line) => console.log(line));
} catch (error) {
  if (error instanceof SettingError) fail(new StartError(error.message));
  throw error;
}

// 1. The port. Until the app is ready, requests get a 503.
let app: RequestListener = (_req, res) => {
  res.statusCode = 503;
  res.setHeader('Retry-After', '1');
  res.end('starting\n');
};
const server = createAuthServer((req, res) => app(req, res), {
  maxConnectionsPerIP: limits.maxConnectionsPerIP,
});
// A stop (Ctrl+C, SIGTERM) at any point from here on exits through
// process.exit, so the data directory's lock is removed (lock.ts). Without a
// handler, Node dies of the signal and runs no exit hook: a stop that came
// before the handlers were set (an early Ctrl+C, or a test sending SIGTERM as
// soon as it read the URL line, which used to be printed before them) left a
// stale lock behind.
let storage: Storage | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    mailer.close();
    void (storage?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

server.listen(port, host);
try {
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => Promise.reject(e)),
  ]);
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    fail(
      new StartError(
        `port ${port} is in use (is another demo running?). Stop it, or pick another port: PORT=${port + 1} npm run demo`,
      ),
    );
  }
  fail(new StartError(`cannot listen on ${host}:${port} (${code}). Set HOST or PORT.`));
}

// 2. The data directory, when PGlite keeps the data in it.
if (!env.DATABASE_URL) {
  const holder = lockDirectory(dataDir);
  if (holder !== null) {
    fail(
      new StartError(
        `${shownDir} is in use by another demo (pid ${holder}). Stop that one, or set DATA_DIR to another directory.`,
      ),
    );
  }
}

// 3. The database, and Redis if REDIS_URL is set. Each failure names what
// failed and what to do about it.
let opened: Storage;
try {
  opened = await openStorage(env, dataDir);
} catch (error) {
  const part = error instanceof StorageError ? error.part : 'database';
  const cause = error instanceof StorageError ? error.cause : error;
  if (part === 'redis-check') {
    // RedisStore.check's own message names the setting and the values to use
    // (an evicting maxmemory-policy, or one it could not read).
    fail(new StartError(`Redis at REDIS_URL cannot hold the MFA state: ${reasonOf(cause, 320)}`));
  }
  fail(
    new StartError(
      part === 'redis'
        ? `cannot reach Redis at REDIS_URL (${reasonOf(cause)}). Check that the server runs and the URL is right.`
        : env.DATABASE_URL
          ? `cannot open the database at DATABASE_URL (${reasonOf(cause)}). Check that the server runs and the URL is right.`
          : `cannot open the database in ${shownDir} (${reasonOf(cause)}). If no other demo uses it, remove ${shownDir} (its demo accounts are lost) and start again.`,
    ),
  );
}
storage = opened;

let key: Uint8Array;
try {
  key = encryptionKey(env, dataDir, (line) => console.log(line));
} catch (error) {
  fail(new StartError(reasonOf(error)));
}
const mfa = createDemoMFA({
  store: storage.store,
  key,
  totp,
  sender: mailer.sender,
  log: (line) => console.log(line),
});
app = createApp({
  mfa,
  accounts: storage.accounts,
  outbox: mailer.outbox,
  secureCookies: env.SECURE_COOKIES === '1',
  perIP: limits.perIP,
});

// 4. Ready: this line is the last thing start-up does (tests wait for it).
const { port: actual } = server.address() as AddressInfo;
console.log(storage.description);
console.log(mailer.description);
console.log(
  `totpkit demo on http://${host === '127.0.0.1' ? 'localhost' : host}:${actual}  (Ctrl+C to stop)`,
);
