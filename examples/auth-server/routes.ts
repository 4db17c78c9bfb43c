// The routes: one table, "METHOD /path" → handler. Sign-up and sign-in (the
// password, then a code, a recovery code or a resync), then the account's
// two-factor settings (turn on, add, rename, remove, replace, new recovery
// codes, turn off), each asking for what the change needs.
//
// Every change to two-factor sign-in ends the user's other sessions
// (`endOtherSessions`), and every form that checks a password or a code
// first takes one attempt from the client's per-IP budget (`limit`).
import type { MFA, SecretCipher } from 'totpkit';
import type { Accounts, SessionOwner, SessionStage } from './accounts.ts';
import {
  field,
  needSecondFactor,
  needSignedIn,
  redirect,
  type Context,
  type Handler,
  type UserContext,
} from './context.ts';
import { clockOffsetWarning } from './diagnosis.ts';
import { html } from './html.ts';
import {
  bindingMessage,
  emailProblem,
  inSyncAgain,
  NAME_TAKEN,
  nameRefusal,
  recoveryCodeAccepted,
  recoveryMessage,
  verifyMessage,
} from './messages.ts';
import {
  codeForm,
  parametersOf,
  recoveryForm,
  restartForm,
  signInForm,
  signUpForm,
  twoCodesForm,
  type Pages,
} from './pages.ts';
import { PASSWORD_MAX, PASSWORD_MIN, type PasswordHasher } from './password.ts';

export interface RouteTools {
  mfa: MFA;
  accounts: Accounts;
  cipher: SecretCipher;
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
   * After two-factor sign-in changed (turned on, off, a new app, new recovery
   * codes): ends every session of the user and gives this one a new id. A
   * session signed in under the old rules, or by someone holding the old
   * recovery codes, must not outlive the change.
   */
  endOtherSessions: (ctx: UserContext, flash?: string | null) => Promise<void>;
  /** Takes one attempt of `kind` from the client's per-IP budget, or throws a 429. */
  limit: (ctx: Context, kind: 'signIn' | 'code') => void;
}

export function createRoutes(tools: RouteTools): Record<string, Handler> {
  const { mfa, accounts, cipher, passwords, pages, rotate, endOtherSessions, limit } = tools;
  const { render, dashboard, setupPage, factorsPage, recoveryCodesPage } = pages;

  /**
   * Re-authentication before changing two-factor sign-in: the password and a
   * current code (TOTP, or a recovery code, which is then used up). The
   * password alone is not enough: a session signed in before two-factor
   * sign-in was turned on, or a phished password, must not be able to turn it
   * off or mint recovery codes. Returns an error message, or null.
   */
  async function reauthenticate(ctx: UserContext): Promise<string | null> {
    const password = field(ctx, 'password');
    const code = field(ctx, 'code');
    limit(ctx, 'signIn');
    limit(ctx, 'code');
    if (!(await passwords.verify(password, ctx.user.passwordHash))) return 'Wrong password.';
    // Recovery codes have letters; TOTP codes are digits (and spaces).
    if (/[a-z]/i.test(code)) {
      const result = await mfa.useRecoveryCode(ctx.user.id, code);
      return result.ok ? null : recoveryMessage(result);
    }
    const result = await mfa.verify(ctx.user.id, code);
    return result.ok ? null : verifyMessage(result);
  }

  /** Starts an enrollment, keeps its URI (sealed) in the session, and shows it at GET /mfa/setup. */
  async function beginSetup(
    ctx: UserContext,
    options: { replaceFactorId?: string; name?: string } = {},
  ): Promise<void> {
    const { user } = ctx;
    const { uri } = await mfa.beginEnrollment(user.id, { accountName: user.email, ...options });
    const sealed = await cipher.encrypt(new TextEncoder().encode(uri), `setup:${user.id}`);
    await accounts.setSetup(ctx.session.token, sealed);
    redirect(ctx.res, '/mfa/setup');
  }

  /** The URI of this session's enrollment in progress, or null if there is none (or it expired). */
  async function currentSetup(ctx: UserContext): Promise<string | null> {
    if (ctx.session.setup === null) return null;
    if ((await mfa.status(ctx.user.id)).pendingExpiresAt === null) return null;
    const uri = await cipher.decrypt(ctx.session.setup, `setup:${ctx.user.id}`);
    return new TextDecoder().decode(uri);
  }

  return {
    'GET /': async (ctx) => {
      if (ctx.session.stage === 'second_factor') return redirect(ctx.res, '/signin/code');
      await needSignedIn((ctx) => dashboard(ctx))(ctx);
    },

    'GET /signup': (ctx) => render(ctx, 'Create an account', signUpForm(ctx)),
    'POST /signup': async (ctx) => {
      const email = field(ctx, 'email').trim().toLowerCase();
      const password = field(ctx, 'password');
      limit(ctx, 'signIn');
      const fail = (error: string) =>
        render(ctx, 'Create an account', signUpForm(ctx, email), { error, status: 400 });
      const problem = emailProblem(email);
      if (problem !== null) return fail(problem);
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        return fail(`Choose a password of ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`);
      }
      const user = await accounts.createUser(email, await passwords.hash(password));
      // This answer tells whoever asks that the address has an account: a
      // trade-off this example makes (see its README, "Account enumeration").
      if (user === null)
        return fail('An account with this email address already exists. Sign in instead.');
      const owner = { userId: user.id, generation: user.generation };
      await rotate(
        ctx,
        owner,
        'signed_in',
        'Welcome! Turn on two-factor sign-in to protect your account.',
      );
      redirect(ctx.res, '/');
    },

    'GET /signin': (ctx) => render(ctx, 'Sign in', signInForm(ctx)),
    'POST /signin': async (ctx) => {
      const email = field(ctx, 'email').trim().toLowerCase();
      const password = field(ctx, 'password');
      limit(ctx, 'signIn');
      // The user row, and with it the generation, is read before the status:
      // a change to two-factor sign-in after this read ends the session made
      // below, whatever status it saw.
      const user = await accounts.findUserByEmail(email);
      const ok = user
        ? await passwords.verify(password, user.passwordHash)
        : await passwords.verifyNone(password);
      if (!ok || user === null) {
        return render(ctx, 'Sign in', signInForm(ctx, email), {
          error: 'Wrong email or password.',
          status: 401,
        });
      }
      const owner = { userId: user.id, generation: user.generation };
      const { state } = await mfa.status(user.id);
      if (state === 'active') {
        await rotate(ctx, owner, 'second_factor');
        return redirect(ctx.res, '/signin/code');
      }
      await rotate(ctx, owner, 'signed_in');
      redirect(ctx.res, '/');
    },

    'GET /signin/code': needSecondFactor((ctx) => render(ctx, 'Two-factor sign-in', codeForm(ctx))),
    'POST /signin/code': needSecondFactor(async (ctx) => {
      const code = field(ctx, 'code');
      limit(ctx, 'code');
      const result = await mfa.verify(ctx.user.id, code);
      if (!result.ok) {
        return render(ctx, 'Two-factor sign-in', codeForm(ctx), {
          error: verifyMessage(result),
          status: 401,
        });
      }
      await rotate(ctx, ctx.owner, 'signed_in');
      redirect(ctx.res, '/');
    }),

    'GET /signin/recovery': needSecondFactor((ctx) =>
      render(ctx, 'Use a recovery code', recoveryForm(ctx)),
    ),
    'POST /signin/recovery': needSecondFactor(async (ctx) => {
      const code = field(ctx, 'recovery_code');
      limit(ctx, 'code');
      const result = await mfa.useRecoveryCode(ctx.user.id, code);
      if (!result.ok) {
        return render(ctx, 'Use a recovery code', recoveryForm(ctx), {
          error: recoveryMessage(result),
          status: 401,
        });
      }
      await rotate(ctx, ctx.owner, 'signed_in', recoveryCodeAccepted(result.remaining));
      redirect(ctx.res, '/');
    }),

    'GET /signin/resync': needSecondFactor((ctx) =>
      render(
        ctx,
        'Resynchronise your app',
        twoCodesForm(ctx, '/signin/resync', 'Resynchronise and sign in'),
      ),
    ),
    'POST /signin/resync': needSecondFactor(async (ctx) => {
      const [code1, code2] = [field(ctx, 'code1'), field(ctx, 'code2')];
      limit(ctx, 'code');
      const result = await mfa.resync(ctx.user.id, code1, code2);
      if (!result.ok) {
        const form = twoCodesForm(ctx, '/signin/resync', 'Resynchronise and sign in');
        return render(ctx, 'Resynchronise your app', form, {
          error: bindingMessage(result),
          status: 401,
        });
      }
      await rotate(ctx, ctx.owner, 'signed_in', inSyncAgain(result.clockOffsetSeconds));
      redirect(ctx.res, '/');
    }),

    'POST /signout': async (ctx) => {
      await rotate(ctx, null, 'anonymous', 'You are signed out.');
      redirect(ctx.res, '/signin');
    },

    // Post/redirect/get: POST starts an enrollment, GET shows it (a reload
    // shows the same QR code rather than making a new secret).
    'POST /mfa/setup': needSignedIn(async (ctx) => {
      if ((await mfa.status(ctx.user.id)).state === 'active') return redirect(ctx.res, '/');
      await beginSetup(ctx);
    }),
    'GET /mfa/setup': needSignedIn(async (ctx) => {
      const uri = await currentSetup(ctx);
      if (uri === null) return redirect(ctx.res, '/');
      await setupPage(ctx, uri);
    }),
    'POST /mfa/replace': needSignedIn(async (ctx) => {
      // "Replace my authenticator": the new one takes the place of the only one
      // (with several, the authenticators page says which; no code is used up).
      const [only, ...others] = await mfa.listFactors(ctx.user.id);
      if (only === undefined || others.length > 0) return redirect(ctx.res, '/mfa/factors');
      const error = await reauthenticate(ctx);
      if (error !== null) return dashboard(ctx, `${error} Your authenticator app is unchanged.`);
      await beginSetup(ctx, { replaceFactorId: only.id });
    }),
    'POST /mfa/confirm': needSignedIn(async (ctx) => {
      const [code1, code2] = [field(ctx, 'code1'), field(ctx, 'code2')];
      limit(ctx, 'code');
      const uri = await currentSetup(ctx);
      const result = await mfa.completeEnrollment(ctx.user.id, code1, code2);
      if (result.ok) {
        // Bound, but a phone clock 30 s or more off will fail a sign-in once it drifts further.
        const warning = clockOffsetWarning(result.clockOffsetSeconds);
        const withWarning = (text: string) => (warning === null ? text : `${text} ${warning}`);
        // A first factor comes with the user's recovery codes; another one does not.
        if (result.recoveryCodes === undefined) {
          await endOtherSessions(ctx, withWarning('Your new authenticator app is set up.'));
          return redirect(ctx.res, '/mfa/factors');
        }
        await endOtherSessions(
          ctx,
          withWarning(
            'Your authenticator app is set up. From now on, sign-in asks for a code from it.',
          ),
        );
        ctx.session.flash = null; // kept for the account page, after the codes
        return recoveryCodesPage(ctx, result.recoveryCodes);
      }
      // A mistake keeps the QR code and the key on screen, to try again.
      if (uri !== null && result.reason !== 'expired' && result.reason !== 'not_pending') {
        return setupPage(ctx, uri, bindingMessage(result, parametersOf(uri)));
      }
      await accounts.setSetup(ctx.session.token, null);
      await render(ctx, 'Set up your authenticator app', restartForm(ctx, 'primary'), {
        error: bindingMessage(result),
        status: 400,
      });
    }),

    'GET /mfa/factors': needSignedIn((ctx) => factorsPage(ctx)),
    'POST /mfa/factors/rename': needSignedIn(async (ctx) => {
      let result;
      try {
        result = await mfa.renameFactor(
          ctx.user.id,
          field(ctx, 'factor'),
          field(ctx, 'name').trim(),
        );
      } catch (error) {
        return factorsPage(ctx, nameRefusal(error));
      }
      if (!result.ok) {
        return result.reason === 'name_taken'
          ? factorsPage(ctx, NAME_TAKEN)
          : factorsPage(ctx, 'There is no such authenticator on your account.', 404);
      }
      await accounts.setFlash(ctx.session.token, 'Renamed.');
      redirect(ctx.res, '/mfa/factors');
    }),
    'POST /mfa/factors/remove': needSignedIn(async (ctx) => {
      const error = await reauthenticate(ctx);
      if (error !== null) return factorsPage(ctx, `${error} Nothing was removed.`, 401);
      const result = await mfa.removeFactor(ctx.user.id, field(ctx, 'factor'));
      if (!result.ok) {
        return factorsPage(ctx, 'There is no such authenticator on your account.', 404);
      }
      if (result.remaining === 0) {
        await endOtherSessions(ctx, 'That was your last authenticator: two-factor sign-in is off.');
        return redirect(ctx.res, '/');
      }
      await endOtherSessions(ctx, 'The authenticator is removed.');
      redirect(ctx.res, '/mfa/factors');
    }),
    'POST /mfa/factors/add': needSignedIn(async (ctx) => {
      const name = field(ctx, 'name').trim();
      const error = await reauthenticate(ctx);
      if (error !== null) return factorsPage(ctx, `${error} Nothing was added.`, 401);
      try {
        await beginSetup(ctx, { name });
      } catch (error) {
        return factorsPage(ctx, nameRefusal(error));
      }
    }),

    'GET /mfa/resync': needSignedIn((ctx) =>
      render(
        ctx,
        'Resynchronise your app',
        html`${twoCodesForm(ctx, '/mfa/resync', 'Resynchronise')}
          <p class="muted"><a href="/">Cancel</a></p>`,
      ),
    ),
    'POST /mfa/resync': needSignedIn(async (ctx) => {
      const [code1, code2] = [field(ctx, 'code1'), field(ctx, 'code2')];
      limit(ctx, 'code');
      const result = await mfa.resync(ctx.user.id, code1, code2);
      if (!result.ok) {
        const form = twoCodesForm(ctx, '/mfa/resync', 'Resynchronise');
        return render(ctx, 'Resynchronise your app', form, {
          error: bindingMessage(result),
          status: 400,
        });
      }
      await accounts.setFlash(ctx.session.token, inSyncAgain(result.clockOffsetSeconds));
      redirect(ctx.res, '/');
    }),

    'POST /mfa/recovery-codes': needSignedIn(async (ctx) => {
      const error = await reauthenticate(ctx);
      if (error !== null) return dashboard(ctx, `${error} No new recovery codes were made.`);
      const result = await mfa.regenerateRecoveryCodes(ctx.user.id);
      if (!result.ok) return redirect(ctx.res, '/');
      await endOtherSessions(ctx);
      await recoveryCodesPage(ctx, result.recoveryCodes);
    }),

    'POST /mfa/disable': needSignedIn(async (ctx) => {
      const error = await reauthenticate(ctx);
      if (error !== null) return dashboard(ctx, `${error} Two-factor sign-in is still on.`);
      await mfa.disable(ctx.user.id);
      await endOtherSessions(ctx, 'Two-factor sign-in is off.');
      redirect(ctx.res, '/');
    }),
  };
}
