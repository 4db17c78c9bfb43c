// The support desk's tool: resets a user's two-factor sign-in when they lost
// their phone and their recovery codes, after support has checked who they
// are (in the way your organisation decides; totpkit cannot).
//
//   npm run support -- reset alice@example.com --actor "bob@support" --reason "lost phone, ticket 4711"
//
// One `mfa.adminReset`, in one atomic step: every authenticator, the
// enrollment in progress, the recovery codes, the remembered devices and any
// verification codes or proofs are removed, the throttle is unlocked, and the
// security generation moves, which ends every session of the user (app.ts
// refuses a session of an older generation). One `admin_reset` event records
// the actor and the reason. Running it again finds nothing and says so.
//
// It opens the same storage as the demo, from the same environment
// (DATA_DIR, DATABASE_URL, REDIS_URL, SQLITE_PATH, MFA_ENCRYPTION_KEY). With
// the default PGlite, stop the demo first: the data directory is locked.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MFA } from 'totpkit';
import type { Accounts } from './accounts.ts';
import { lockDirectory } from './lock.ts';
import { createDemoMFA } from './service.ts';
import { encryptionKey, openStorage } from './storage.ts';

export interface ResetRequest {
  email: string;
  /** Who runs the reset (1–256 characters): the support agent's own account name. */
  actor: string;
  /** Why (1–1000 characters): the ticket, and how the user's identity was checked. */
  reason: string;
}

/** What a reset did, in one line for the support agent. */
export async function supportReset(
  mfa: MFA,
  accounts: Accounts,
  request: ResetRequest,
): Promise<string> {
  const user = await accounts.findUserByEmail(request.email.trim().toLowerCase());
  if (user === null) return `no account with the address ${request.email}; nothing was changed`;
  const result = await mfa.adminReset(user.id, {
    actor: request.actor,
    reason: request.reason,
    context: { tool: 'examples/auth-server/support.ts', host: hostname() },
  });
  return result.reset
    ? `reset ${request.email}: two-factor sign-in is off, every session has ended (generation ${result.generation}). The user signs in with the password and can set up virtual MFA again.`
    : `${request.email} had nothing to reset (no authenticator, codes or devices); nothing was changed`;
}

/** The command line: `reset <email> --actor NAME --reason TEXT`, or a usage error. */
export function parseSupportArgs(args: string[]): ResetRequest {
  const usage =
    'usage: npm run support -- reset <email> --actor "<who runs it>" --reason "<ticket, and how identity was checked>"';
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { actor: { type: 'string' }, reason: { type: 'string' } },
    });
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  }
  const [command, email, ...rest] = parsed.positionals;
  const { actor, reason } = parsed.values;
  if (command !== 'reset' || email === undefined || rest.length > 0) throw new Error(usage);
  if (!actor?.trim()) throw new Error(`--actor is required: who runs the reset\n${usage}`);
  if (!reason?.trim()) throw new Error(`--reason is required: why, and the ticket\n${usage}`);
  return { email, actor: actor.trim(), reason: reason.trim() };
}

async function main(): Promise<void> {
  const env = process.env;
  const request = parseSupportArgs(process.argv.slice(2));
  const dataDir = resolve(env.DATA_DIR ?? '.data/auth-server');
  if (!env.DATABASE_URL) {
    const holder = lockDirectory(dataDir);
    if (holder !== null) {
      throw new Error(`${dataDir} is in use by the demo (pid ${holder}): stop it first`);
    }
  }
  const storage = await openStorage(env, dataDir);
  try {
    const mfa = createDemoMFA({
      store: storage.store,
      key: encryptionKey(env, dataDir, (line) => console.log(line)),
      log: (line) => console.log(line),
    });
    console.log(await supportReset(mfa, storage.accounts, request));
  } finally {
    await storage.close();
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  try {
    await main();
  } catch (error) {
    console.error(`support: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
