// The routes: one table, "METHOD /path" → handler, put together from
// signin-routes.ts (sign-up, and sign-in: the password, then a code, a
// remembered device, a recovery code or a resync) and settings-routes.ts (the
// account's two-factor settings: set up with an e-mail code, add, rename,
// remove, replace, remembered devices, new recovery codes, turn off; and the
// development outbox).
//
// What the routes share is here: the tools app.ts hands them, and `prove`,
// which turns the password and a current code into a totpkit proof for one
// change.
import type { MFA } from 'totpkit';
import type { Accounts, SessionOwner, SessionStage } from './accounts.ts';
import { field, type Context, type Handler, type UserContext } from './context.ts';
import type { DevOutbox } from './mail.ts';
import { PROOF_STALE, recoveryMessage, verifyMessage } from './messages.ts';
import type { Pages } from './pages.ts';
import type { PasswordHasher } from './password.ts';
import { settingsRoutes } from './settings-routes.ts';
import { signInRoutes } from './signin-routes.ts';

export interface RouteTools {
  mfa: MFA;
  accounts: Accounts;
  /** The development outbox, or null when codes go out by SMTP. */
  outbox: DevOutbox | null;
  passwords: PasswordHasher;
  pages: Pages;
  /** Replaces the session (a new id, so a fixed or stolen old id is worthless). */
  rotate: (
    ctx: Context,
    owner: SessionOwner | null,
    stage: SessionStage,
    flash?: string | null,
  ) => Promise<void>;
  /**
   * After a change of the factors, whose result says the new `generation`:
   * this session goes on under a new id and that generation. Every other
   * session of the user carries an older one and is refused from now on.
   */
  changed: (ctx: UserContext, generation: number, flash?: string | null) => Promise<void>;
  /** Sets (a token) or clears (null) this browser's remembered-device cookie. */
  rememberDevice: (ctx: Context, token: string | null) => void;
  /** This browser's remembered-device token, if it has one. */
  deviceToken: (ctx: Context) => string | undefined;
  /** Takes one attempt of `kind` from the client's per-IP budget, or throws a 429. */
  limit: (ctx: Context, kind: 'signIn' | 'code') => void;
}

/** The library's proof purposes, one per kind of change (CONTRACT: `proofFor`). */
export type ProofPurpose =
  'enroll' | 'replace_factor' | 'remove_factor' | 'regenerate_recovery_codes' | 'disable';

/** A proof for one change, or the words for why there is none. */
export type Proved = { proof: string; error?: undefined } | { proof?: undefined; error: string };

export function createRoutes(tools: RouteTools): Record<string, Handler> {
  /**
   * Confirms a change to two-factor sign-in: the password and a current code
   * (from the app, or a recovery code, which is then used up), which totpkit
   * turns into a single-use proof for `purpose`. The change is then made with
   * `{ proof }`, and the service refuses it without one (a verification code
   * from e-mail never suffices once the user has a factor). The password is
   * asked too: the code alone may be read over a shoulder, the password alone
   * may be the very thing that leaked.
   */
  async function prove(ctx: UserContext, purpose: ProofPurpose): Promise<Proved> {
    const password = field(ctx, 'password');
    const code = field(ctx, 'code');
    tools.limit(ctx, 'signIn');
    tools.limit(ctx, 'code');
    if (!(await tools.passwords.verify(password, ctx.user.passwordHash))) {
      return { error: 'Wrong password.' };
    }
    const options = { proofFor: purpose, context: ctx.context };
    // Recovery codes have letters; TOTP codes are digits (and spaces).
    if (/[a-z]/i.test(code)) {
      const result = await tools.mfa.useRecoveryCode(ctx.user.id, code, options);
      if (!result.ok) return { error: recoveryMessage(result) };
      // null: the factors changed meanwhile (the code was right, and is used up).
      return typeof result.proof === 'string' ? { proof: result.proof } : { error: PROOF_STALE };
    }
    const result = await tools.mfa.verify(ctx.user.id, code, options);
    if (!result.ok) return { error: verifyMessage(result) };
    return typeof result.proof === 'string' ? { proof: result.proof } : { error: PROOF_STALE };
  }

  return { ...signInRoutes(tools), ...settingsRoutes(tools, prove) };
}
