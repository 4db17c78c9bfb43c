// Sign-up and sign-in: the password, then (with two-factor sign-in on) a code
// from the app, a remembered device, a recovery code, or a resync with two
// codes; and sign-out.
//
// Every session is bound to the account's security generation, read in the
// same `mfa.status` call that decided whether a code is needed: a change of
// the factors after that read moves the generation, and app.ts then refuses
// the session on its next request, however the two interleaved.
import { field, needSecondFactor, redirect, type Handler, type UserContext } from './context.ts';
import { codeForm, recoveryForm, signInForm, signUpForm, twoCodesForm, when } from './forms.ts';
import {
  bindingMessage,
  emailProblem,
  inSyncAgain,
  recoveryCodeAccepted,
  recoveryMessage,
  verifyMessage,
} from './messages.ts';
import { PASSWORD_MAX, PASSWORD_MIN } from './password.ts';
import type { RouteTools } from './routes.ts';

/** "Chrome on Linux": a short name for a remembered device, from its user agent. */
export function deviceName(userAgent: string): string {
  // In order: Edge and Opera also say "Chrome", and Chrome also says "Safari".
  const browsers: [RegExp, string][] = [
    [/\bEdg\//, 'Edge'],
    [/\bOPR\//, 'Opera'],
    [/\bFirefox\//, 'Firefox'],
    [/\b(Headless)?Chrom(e|ium)\//, 'Chrome'],
    [/\bSafari\//, 'Safari'],
  ];
  const systems: [RegExp, string][] = [
    [/\bAndroid\b/, 'Android'],
    [/\biPhone|iPad\b/, 'iOS'],
    [/\bWindows\b/, 'Windows'],
    [/\bMac OS X\b/, 'macOS'],
    [/\bCrOS\b/, 'ChromeOS'],
    [/\bLinux\b/, 'Linux'],
  ];
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1] ?? 'A browser';
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1];
  return system === undefined ? browser : `${browser} on ${system}`;
}

export function signInRoutes(tools: RouteTools): Record<string, Handler> {
  const { mfa, accounts, passwords, pages, rotate, limit } = tools;
  const { render } = pages;

  /** After the second factor: signed in, under the generation read at the password step. */
  const signedIn = (ctx: UserContext, flash: string | null = null) =>
    rotate(ctx, ctx.owner, 'signed_in', flash);

  return {
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
      const { generation } = await mfa.status(user.id, { context: ctx.context });
      await rotate(
        ctx,
        { userId: user.id, generation },
        'signed_in',
        'Welcome! Set up virtual MFA to protect your account.',
      );
      redirect(ctx.res, '/');
    },

    'GET /signin': (ctx) => render(ctx, 'Sign in', signInForm(ctx)),
    'POST /signin': async (ctx) => {
      const email = field(ctx, 'email').trim().toLowerCase();
      const password = field(ctx, 'password');
      limit(ctx, 'signIn');
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
      // The state and the generation in one read: the session made below
      // carries the generation this decision was made under.
      const { state, generation } = await mfa.status(user.id, { context: ctx.context });
      if (state !== 'active') {
        await rotate(ctx, { userId: user.id, generation }, 'signed_in');
        return redirect(ctx.res, '/');
      }
      // A device remembered after an earlier code skips the code, while its
      // token is valid: unexpired, and made under the current generation.
      const token = tools.deviceToken(ctx);
      if (token !== undefined) {
        const device = await mfa.checkRememberedDevice(user.id, token, { context: ctx.context });
        if (device.ok) {
          const owner = { userId: user.id, generation: device.generation };
          await rotate(ctx, owner, 'signed_in', 'Signed in on a remembered device.');
          return redirect(ctx.res, '/');
        }
        // Another user's token (this browser's other account) is left alone.
        if (device.reason !== 'invalid') tools.rememberDevice(ctx, null);
      }
      await rotate(ctx, { userId: user.id, generation }, 'second_factor');
      redirect(ctx.res, '/signin/code');
    },

    'GET /signin/code': needSecondFactor((ctx) => render(ctx, 'Two-factor sign-in', codeForm(ctx))),
    'POST /signin/code': needSecondFactor(async (ctx) => {
      const code = field(ctx, 'code');
      const remember = ctx.form.get('remember') === '1';
      limit(ctx, 'code');
      const name = deviceName(ctx.context.userAgent);
      const result = await mfa.verify(ctx.user.id, code, {
        context: ctx.context,
        ...(remember ? { rememberDevice: { name } } : {}),
      });
      if (!result.ok) {
        return render(ctx, 'Two-factor sign-in', codeForm(ctx, remember), {
          error: verifyMessage(result),
          status: 401,
        });
      }
      let flash: string | null = null;
      if (result.device) {
        tools.rememberDevice(ctx, result.device.token);
        flash = `This device (${name}) is remembered until ${when(result.device.expiresAt)}: sign-in here asks for no code until then, unless your authenticators change.`;
      }
      await signedIn(ctx, flash);
      redirect(ctx.res, '/');
    }),

    'GET /signin/recovery': needSecondFactor((ctx) =>
      render(ctx, 'Use a recovery code', recoveryForm(ctx)),
    ),
    'POST /signin/recovery': needSecondFactor(async (ctx) => {
      const code = field(ctx, 'recovery_code');
      limit(ctx, 'code');
      const result = await mfa.useRecoveryCode(ctx.user.id, code, { context: ctx.context });
      if (!result.ok) {
        return render(ctx, 'Use a recovery code', recoveryForm(ctx), {
          error: recoveryMessage(result),
          status: 401,
        });
      }
      await signedIn(ctx, recoveryCodeAccepted(result.remaining));
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
      const result = await mfa.resync(ctx.user.id, code1, code2, { context: ctx.context });
      if (!result.ok) {
        const form = twoCodesForm(ctx, '/signin/resync', 'Resynchronise and sign in');
        return render(ctx, 'Resynchronise your app', form, {
          error: bindingMessage(result),
          status: 401,
        });
      }
      await signedIn(ctx, inSyncAgain(result.clockOffsetSeconds));
      redirect(ctx.res, '/');
    }),

    'POST /signout': async (ctx) => {
      await rotate(ctx, null, 'anonymous', 'You are signed out.');
      redirect(ctx.res, '/signin');
    },
  };
}
