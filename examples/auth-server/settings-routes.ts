// The account's two-factor settings, each change confirmed by a totpkit proof:
//
// - Set up virtual MFA (the first authenticator): a code sent to the
//   account's e-mail → its proof starts the enrollment → the QR code and the
//   key (shown again after a reload or a mistake: `pendingEnrollment`) → two
//   consecutive codes bind it.
// - Add, replace or remove an authenticator, new recovery codes, turn it off:
//   the password and a current code (`prove` in routes.ts), then the change
//   with `{ proof }`.
// - Remembered devices: forget one, or all.
// - The development outbox (/dev/outbox), when no mail server is configured.
//
// Every change answers with the account's new security generation; `changed`
// puts this session under it, which ends every other session of the user.
import { MFAError } from 'totpkit';
import { field, needSignedIn, redirect, type Handler, type UserContext } from './context.ts';
import { clockOffsetWarning } from './diagnosis.ts';
import { restartForm, twoCodesForm } from './forms.ts';
import { html } from './html.ts';
import {
  bindingMessage,
  inSyncAgain,
  NAME_TAKEN,
  nameRefusal,
  PROOF_STALE,
  SEND_FAILED,
  sendRefusalMessage,
  verificationCodeMessage,
} from './messages.ts';
import { parametersOf } from './pages.ts';
import type { Proved, ProofPurpose, RouteTools } from './routes.ts';

/** Whether `error` is the service refusing a proof (expired, used, or no longer enough). */
const isProofError = (error: unknown): boolean =>
  error instanceof MFAError && error.code === 'ERR_PROOF';

export function settingsRoutes(
  tools: RouteTools,
  prove: (ctx: UserContext, purpose: ProofPurpose) => Promise<Proved>,
): Record<string, Handler> {
  const { mfa, accounts, outbox, pages, changed, limit } = tools;
  const { render, dashboard, setupPage, factorsPage, recoveryCodesPage, verifyPage } = pages;

  /** Starts an enrollment with `proof` and shows it at GET /mfa/setup; false if the proof was refused. */
  async function beginSetup(
    ctx: UserContext,
    proof: string,
    options: { replaceFactorId?: string; name?: string } = {},
  ): Promise<boolean> {
    try {
      await mfa.beginEnrollment(ctx.user.id, {
        accountName: ctx.user.email,
        proof,
        context: ctx.context,
        ...options,
      });
    } catch (error) {
      if (isProofError(error)) return false;
      throw error;
    }
    redirect(ctx.res, '/mfa/setup');
    return true;
  }

  /** The enrollment in progress (unexpired), as `beginEnrollment` made it, or null. */
  const pending = (ctx: UserContext) =>
    mfa.pendingEnrollment(ctx.user.id, { accountName: ctx.user.email, context: ctx.context });

  return {
    'GET /': async (ctx) => {
      if (ctx.session.stage === 'second_factor') return redirect(ctx.res, '/signin/code');
      await needSignedIn((ctx) => dashboard(ctx))(ctx);
    },

    // "Set up virtual MFA", "Send a new code" and "Start again with a new
    // QR code": a code to the account's e-mail, then GET /mfa/verify.
    'POST /mfa/setup': needSignedIn(async (ctx) => {
      const { state } = await mfa.status(ctx.user.id, { context: ctx.context });
      // Another authenticator needs a current code: the authenticators page.
      if (state === 'active') return redirect(ctx.res, '/mfa/factors');
      let sent;
      try {
        sent = await mfa.sendVerificationCode(ctx.user.id, {
          channel: 'email',
          destination: ctx.user.email,
          purpose: 'enroll',
          context: ctx.context,
        });
      } catch (error) {
        if (error instanceof MFAError && error.code === 'ERR_SENDER') {
          return dashboard(ctx, SEND_FAILED, 503);
        }
        throw error;
      }
      // A refusal still leads to the code page: an earlier code may be live.
      await accounts.setFlash(
        ctx.session.token,
        sent.ok ? `We sent a new code to ${ctx.user.email}.` : sendRefusalMessage(sent),
      );
      redirect(ctx.res, '/mfa/verify');
    }),
    'GET /mfa/verify': needSignedIn(async (ctx) => {
      const { state } = await mfa.status(ctx.user.id, { context: ctx.context });
      if (state === 'active') return redirect(ctx.res, '/');
      await verifyPage(ctx);
    }),
    'POST /mfa/verify': needSignedIn(async (ctx) => {
      const code = field(ctx, 'code');
      limit(ctx, 'code');
      const checked = await mfa.checkVerificationCode(ctx.user.id, code, {
        purpose: 'enroll',
        destination: ctx.user.email,
        context: ctx.context,
      });
      if (!checked.ok) return verifyPage(ctx, verificationCodeMessage(checked));
      // Refused if a factor was bound meanwhile (then only a current code will do).
      if (!(await beginSetup(ctx, checked.proof))) return dashboard(ctx, PROOF_STALE);
    }),
    // Post/redirect/get: a reload, or a mistyped code, shows the same QR code.
    'GET /mfa/setup': needSignedIn(async (ctx) => {
      const enrollment = await pending(ctx);
      if (enrollment === null) return redirect(ctx.res, '/');
      await setupPage(ctx, enrollment.uri);
    }),
    'POST /mfa/confirm': needSignedIn(async (ctx) => {
      const [code1, code2] = [field(ctx, 'code1'), field(ctx, 'code2')];
      limit(ctx, 'code');
      const result = await mfa.completeEnrollment(ctx.user.id, code1, code2, {
        context: ctx.context,
      });
      if (result.ok) {
        // Bound, but a phone clock 30 s or more off will fail a sign-in once it drifts further.
        const warning = clockOffsetWarning(result.clockOffsetSeconds);
        const withWarning = (text: string) => (warning === null ? text : `${text} ${warning}`);
        // A first factor comes with the user's recovery codes; another one does not.
        if (result.recoveryCodes === undefined) {
          await changed(
            ctx,
            result.generation,
            withWarning('Your new authenticator app is set up.'),
          );
          return redirect(ctx.res, '/mfa/factors');
        }
        await changed(
          ctx,
          result.generation,
          withWarning(
            'Your authenticator app is set up. From now on, sign-in asks for a code from it.',
          ),
        );
        ctx.session.flash = null; // kept for the account page, after the codes
        return recoveryCodesPage(ctx, result.recoveryCodes);
      }
      // A mistake keeps the QR code and the key on screen, to try again.
      const enrollment = await pending(ctx);
      if (enrollment !== null && result.reason !== 'expired' && result.reason !== 'not_pending') {
        return setupPage(ctx, enrollment.uri, bindingMessage(result, parametersOf(enrollment.uri)));
      }
      await render(ctx, 'Set up your authenticator app', restartForm(ctx, 'primary'), {
        error: bindingMessage(result),
        status: 400,
      });
    }),

    'POST /mfa/replace': needSignedIn(async (ctx) => {
      // "Move to a new authenticator app": the new one takes the place of the
      // only one (with several, the authenticators page says which).
      const [only, ...others] = await mfa.listFactors(ctx.user.id, { context: ctx.context });
      if (only === undefined || others.length > 0) return redirect(ctx.res, '/mfa/factors');
      const { proof, error } = await prove(ctx, 'replace_factor');
      const unchanged = ' Your authenticator app is unchanged.';
      if (error !== undefined) return dashboard(ctx, `${error}${unchanged}`);
      if (!(await beginSetup(ctx, proof, { replaceFactorId: only.id }))) {
        return dashboard(ctx, `${PROOF_STALE}${unchanged}`);
      }
    }),

    'GET /mfa/factors': needSignedIn((ctx) => factorsPage(ctx)),
    'POST /mfa/factors/rename': needSignedIn(async (ctx) => {
      let result;
      try {
        result = await mfa.renameFactor(
          ctx.user.id,
          field(ctx, 'factor'),
          field(ctx, 'name').trim(),
          { context: ctx.context },
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
      const { proof, error } = await prove(ctx, 'remove_factor');
      if (error !== undefined) return factorsPage(ctx, `${error} Nothing was removed.`, 401);
      let result;
      try {
        result = await mfa.removeFactor(ctx.user.id, field(ctx, 'factor'), {
          proof,
          context: ctx.context,
        });
      } catch (error) {
        if (isProofError(error)) return factorsPage(ctx, `${PROOF_STALE} Nothing was removed.`);
        throw error;
      }
      if (!result.ok) {
        return factorsPage(ctx, 'There is no such authenticator on your account.', 404);
      }
      if (result.remaining === 0) {
        const off = 'That was your last authenticator: two-factor sign-in is off.';
        await changed(ctx, result.generation, off);
        return redirect(ctx.res, '/');
      }
      await changed(ctx, result.generation, 'The authenticator is removed.');
      redirect(ctx.res, '/mfa/factors');
    }),
    'POST /mfa/factors/add': needSignedIn(async (ctx) => {
      const name = field(ctx, 'name').trim();
      const { proof, error } = await prove(ctx, 'enroll');
      if (error !== undefined) return factorsPage(ctx, `${error} Nothing was added.`, 401);
      try {
        if (!(await beginSetup(ctx, proof, { name }))) {
          return factorsPage(ctx, `${PROOF_STALE} Nothing was added.`);
        }
      } catch (error) {
        return factorsPage(ctx, nameRefusal(error));
      }
    }),

    'POST /mfa/devices/forget': needSignedIn(async (ctx) => {
      const forgotten = await mfa.forgetRememberedDevice(ctx.user.id, field(ctx, 'device'), {
        context: ctx.context,
      });
      const flash = forgotten ? 'Forgotten: that device asks for a code again.' : null;
      await accounts.setFlash(ctx.session.token, flash);
      redirect(ctx.res, '/mfa/factors');
    }),
    'POST /mfa/devices/forget-all': needSignedIn(async (ctx) => {
      const count = await mfa.forgetRememberedDevices(ctx.user.id, { context: ctx.context });
      const flash = `Forgotten: ${count} device${count === 1 ? '' : 's'}. Each asks for a code again.`;
      await accounts.setFlash(ctx.session.token, flash);
      redirect(ctx.res, '/mfa/factors');
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
      const result = await mfa.resync(ctx.user.id, code1, code2, { context: ctx.context });
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
      const { proof, error } = await prove(ctx, 'regenerate_recovery_codes');
      const unchanged = ' No new recovery codes were made.';
      if (error !== undefined) return dashboard(ctx, `${error}${unchanged}`);
      let result;
      try {
        result = await mfa.regenerateRecoveryCodes(ctx.user.id, { proof, context: ctx.context });
      } catch (error) {
        if (isProofError(error)) return dashboard(ctx, `${PROOF_STALE}${unchanged}`);
        throw error;
      }
      if (!result.ok) return redirect(ctx.res, '/');
      await changed(ctx, result.generation);
      await recoveryCodesPage(ctx, result.recoveryCodes);
    }),

    'POST /mfa/disable': needSignedIn(async (ctx) => {
      const { proof, error } = await prove(ctx, 'disable');
      const unchanged = ' Two-factor sign-in is still on.';
      if (error !== undefined) return dashboard(ctx, `${error}${unchanged}`);
      let result;
      try {
        result = await mfa.disable(ctx.user.id, { proof, context: ctx.context });
      } catch (error) {
        if (isProofError(error)) return dashboard(ctx, `${PROOF_STALE}${unchanged}`);
        throw error;
      }
      await changed(ctx, result.generation, 'Two-factor sign-in is off.');
      redirect(ctx.res, '/');
    }),

    // Development only: with SMTP_URL set, there is no such page (a 404).
    ...(outbox === null
      ? {}
      : { 'GET /dev/outbox': needSignedIn((ctx) => pages.outboxPage(ctx, outbox)) }),
  };
}
