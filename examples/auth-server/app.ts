// The example auth server's request handler: password sign-up and sign-in,
// TOTP enrollment bound by two consecutive codes, the TOTP step at sign-in,
// recovery codes and resync — on node:http with plain HTML forms.
//
// What a real app must keep from this: CSRF tokens on every form, session ids
// rotated when the user's privilege changes, every other session ended when
// two-factor sign-in changes, Cache-Control: no-store on pages that show
// secrets, re-authentication with password and code before weakening 2FA,
// one error boundary around every request, and logs that carry no secret,
// code or password.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { MFAError, parseKeyURI, type FactorInfo, type MFA, type SecretCipher } from 'totpkit';
import { renderQRCodeDataURL } from 'totpkit/qr';
import type { Accounts, Session, User } from './accounts.ts';
import {
  clockOffsetWarning,
  diagnosisMessage,
  skewMessage,
  type CodeParameters,
} from './diagnosis.ts';
import {
  codeField,
  csrfField,
  html,
  page,
  STYLE,
  type PageOptions,
  type SafeHTML,
} from './html.ts';
import { isDefault, parametersText } from './settings.ts';
import {
  PASSWORD_MAX,
  PASSWORD_MIN,
  PasswordHasher,
  ServerBusyError,
  type PasswordHashParams,
} from './password.ts';

export interface AppOptions {
  mfa: MFA;
  accounts: Accounts;
  /** Seals the secret of an enrollment in progress in the session row (the MFA's own cipher will do). */
  cipher: SecretCipher;
  /** Mark cookies `Secure` (and name them `__Host-sid`): set it whenever the site is served over HTTPS. */
  secureCookies?: boolean;
  /** scrypt cost for passwords; tests lower it. */
  passwordParams?: PasswordHashParams;
  /** Password checks that may wait for the hasher before sign-ins get 503 (default 16). */
  maxPasswordChecksWaiting?: number;
  /** Where request lines go; never given a body, a code or a secret. Default console.log. */
  log?: (line: string) => void;
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  session: Session;
  user: User | null;
  form: Map<string, string>;
}

type Handler = (ctx: Context) => Promise<void>;

const MAX_BODY_BYTES = 8 * 1024;

/** A refusal with a status and a message for the user, thrown from anywhere in a request. */
class HTTPError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// ── plain-words messages for every refusal the service can give ─────────────

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** "3 seconds", "1 second", "2 minutes": how long to wait, in words. */
export function waitText(retryAfterMs: number): string {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return seconds < 90 ? plural(seconds, 'second') : plural(Math.ceil(seconds / 60), 'minute');
}

type Refusal = { reason: string; retryAfterMs?: number; skewSeconds?: number };

/**
 * Two codes refused at binding or resync. The service diagnoses some
 * refusals (a phone clock hours off, an app that ignored the account's
 * settings, an older QR code, another authenticator's codes): those get
 * diagnosis.ts's words, which need the factor's parameters to say what the app
 * changed.
 */
function bindingMessage(result: Refusal, factor?: CodeParameters): string {
  const diagnosed = factor === undefined ? null : diagnosisMessage(result, factor);
  if (diagnosed !== null) return diagnosed;
  switch (result.reason) {
    case 'clock_skew':
      return skewMessage(result.skewSeconds ?? 0);
    case 'malformed':
      return `Each code is ${factor?.digits ?? 6} digits. Type them exactly as your app shows them.`;
    case 'same_code':
      return 'Both boxes have the same code. Wait until your app shows a new code, then enter the code from before it in the first box and the new one in the second.';
    case 'wrong_order':
      return 'The codes are in the wrong order: put the older code in the first box and the newer one in the second.';
    case 'mismatch':
      return "These codes don't match. Check that your app shows the account you just added from this page, and that your phone sets its clock automatically.";
    case 'replayed':
      return 'These codes have already been used. Wait for your app to show two new codes.';
    case 'expired':
    case 'not_pending':
      return 'This setup has expired. Start again to get a new QR code.';
    default:
      return throttleMessage(result);
  }
}

/** After a resync: codes work again, but a clock still off will drift further. */
function inSyncAgain(clockOffsetSeconds: number): string {
  const warning = clockOffsetWarning(clockOffsetSeconds);
  return `Your authenticator app is in sync again.${warning === null ? '' : ` ${warning}`}`;
}

function verifyMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
    case 'mismatch':
    case 'not_enrolled':
      return "That code isn't right. Enter the 6-digit code your app shows now.";
    case 'replayed':
      return 'That code has already been used. Wait for your app to show the next code and enter that one.';
    case 'resync_required':
      return "Your phone's clock seems to be off by a few minutes. Set it to update automatically, or resynchronise below with two codes in a row.";
    default:
      return throttleMessage(result);
  }
}

function recoveryMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
      return "That isn't a recovery code. They look like ABCD-EFGH-JKMN.";
    case 'mismatch':
    case 'not_enrolled':
      return "That recovery code isn't right, or it has already been used.";
    case 'replayed':
      return 'That recovery code has just been used.';
    default:
      return throttleMessage(result);
  }
}

function throttleMessage(result: Refusal): string {
  if (result.reason === 'throttled') {
    return `Too many attempts. Try again in ${waitText(result.retryAfterMs ?? 1000)}.`;
  }
  if (result.reason === 'locked') {
    return 'Too many wrong codes: sign-in with codes from your app is locked. Use a recovery code instead.';
  }
  return 'Something went wrong. Please try again.';
}

// ── the app ─────────────────────────────────────────────────────────────────

export function createApp(options: AppOptions): RequestListener {
  const { mfa, accounts, cipher } = options;
  const secure = options.secureCookies ?? false;
  const passwords = new PasswordHasher(
    options.passwordParams,
    options.maxPasswordChecksWaiting ?? 16,
  );
  const log = options.log ?? ((line: string) => console.log(line));
  const cookieName = secure ? '__Host-sid' : 'sid';

  function setSessionCookie(res: ServerResponse, session: Session): void {
    res.setHeader(
      'Set-Cookie',
      `${cookieName}=${session.token}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    );
  }

  function send(res: ServerResponse, status: number, body: string): void {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(body);
  }

  function redirect(res: ServerResponse, location: string): void {
    res.statusCode = 303;
    res.setHeader('Location', location);
    res.end();
  }

  /** Renders a page for this session, showing (and clearing) a pending flash notice. */
  async function render(
    ctx: Context,
    title: string,
    body: SafeHTML,
    options: { error?: string; status?: number } = {},
  ): Promise<void> {
    let message: PageOptions['message'];
    if (options.error !== undefined) message = { kind: 'error', text: options.error };
    else if (ctx.session.flash !== null) {
      message = { kind: 'notice', text: ctx.session.flash };
      await accounts.setFlash(ctx.session.token, null);
    }
    const { stage } = ctx.session;
    const signOut: PageOptions['signOut'] =
      stage === 'signed_in'
        ? { label: 'Sign out', who: ctx.user?.email }
        : stage === 'second_factor'
          ? { label: 'Cancel sign-in' }
          : undefined;
    send(
      ctx.res,
      options.status ?? 200,
      page({ title, message, signOut, csrf: ctx.session.csrf }, body),
    );
  }

  /** Replaces the session (a new id, so a fixed or stolen old id is worthless). */
  async function rotate(
    ctx: Context,
    userId: string | null,
    stage: Session['stage'],
    flash: string | null = null,
  ): Promise<void> {
    await accounts.deleteSession(ctx.session.token);
    ctx.session = await accounts.createSession(userId, stage, flash);
    setSessionCookie(ctx.res, ctx.session);
  }

  /**
   * After two-factor sign-in changes (turned on, off, a new app, new recovery
   * codes), ends every session of the user and gives this one a new id. A
   * session that was signed in under the old rules, or by someone holding the
   * old recovery codes, must not outlive the change.
   */
  async function endOtherSessions(ctx: Context, flash: string | null = null): Promise<void> {
    const user = ctx.user as User;
    await accounts.deleteUserSessions(user.id);
    ctx.session = await accounts.createSession(user.id, 'signed_in', flash);
    setSessionCookie(ctx.res, ctx.session);
  }

  /** A form field that must be present (the pages always send it): a 400 if not. */
  function field(ctx: Context, name: string): string {
    const value = ctx.form.get(name);
    if (value === undefined) throw new HTTPError(400, `The form has no "${name}" field.`);
    return value;
  }

  // ── pages ──

  const signInForm = (ctx: Context, email = ''): SafeHTML =>
    html` <form method="post" action="/signin">
        ${csrfField(ctx.session.csrf)}
        <label
          >Email <input name="email" type="email" autocomplete="username" value="${email}" required
        /></label>
        <label
          >Password <input name="password" type="password" autocomplete="current-password" required
        /></label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">No account? <a href="/signup">Sign up</a>.</p>`;

  const signUpForm = (ctx: Context, email = ''): SafeHTML =>
    html` <form method="post" action="/signup">
        ${csrfField(ctx.session.csrf)}
        <label
          >Email <input name="email" type="email" autocomplete="username" value="${email}" required
        /></label>
        <label
          >Password (at least ${PASSWORD_MIN} characters)
          <input
            name="password"
            type="password"
            autocomplete="new-password"
            minlength="${PASSWORD_MIN}"
            required
          />
        </label>
        <button type="submit">Create account</button>
      </form>
      <p class="muted">Have an account? <a href="/signin">Sign in</a>.</p>`;

  const codeForm = (ctx: Context): SafeHTML =>
    html` <form method="post" action="/signin/code">
        ${csrfField(ctx.session.csrf)}
        ${codeField('code', 'Code from your authenticator app', true)}
        <button type="submit">Verify</button>
      </form>
      <p class="muted">
        Lost your phone? <a href="/signin/recovery">Use a recovery code</a>.<br />
        Codes keep failing? <a href="/signin/resync">Resynchronise your app</a>.
      </p>`;

  const recoveryForm = (ctx: Context): SafeHTML =>
    html` <form method="post" action="/signin/recovery">
        ${csrfField(ctx.session.csrf)}
        <label
          >Recovery code
          <input name="recovery_code" id="recovery_code" autocomplete="off" required autofocus
        /></label>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted"><a href="/signin/code">Use a code from your app instead</a>.</p>`;

  const twoCodesForm = (ctx: Context, action: string, button: string): SafeHTML =>
    html` <form method="post" action="${action}">
      ${csrfField(ctx.session.csrf)} ${codeField('code1', 'First code', true)}
      <p class="muted">Now wait until your app shows the next code (up to 30 seconds).</p>
      ${codeField('code2', 'Next code')}
      <button type="submit">${button}</button>
    </form>`;

  /** Password and a current code: what every change to two-factor sign-in asks for. */
  const reauthFields = html`<label
      >Your password
      <input name="password" type="password" autocomplete="current-password" required
    /></label>
    <label
      >Code from your app, or a recovery code
      <input name="code" autocomplete="one-time-code" maxlength="20" required
    /></label>`;

  const recoveryCodesPage = (ctx: Context, codes: readonly string[]): Promise<void> =>
    render(
      ctx,
      'Save your recovery codes',
      html`<p>
          Save these recovery codes somewhere safe, such as a password manager. Each one signs you
          in once if you lose your phone. They are shown only now.
        </p>
        <ul class="codes" id="recovery-codes">
          ${codes.map((code) => html`<li>${code}</li>`)}
        </ul>
        <p><a href="/">I have saved them — continue</a></p>`,
    );

  /** The QR code, the key as text and the two-code form, for the enrollment in `uri`. */
  async function setupPage(ctx: Context, uri: string, error?: string): Promise<void> {
    const active = (await mfa.status((ctx.user as User).id)).state === 'active';
    const button = active ? 'Add this authenticator' : 'Turn on two-factor sign-in';
    const secret = new URL(uri).searchParams.get('secret') ?? '';
    const grouped = secret.replace(/(.{4})(?=.)/g, '$1 ');
    const params = parametersOf(uri);
    // Typing the key by hand, the user must set these too; most apps assume the defaults.
    const settings = isDefault(params)
      ? ''
      : html`<p id="settings">
          Settings, if your app asks: <strong>${parametersText(params)}</strong>.
        </p>`;
    const restart = html`<form method="post" action="/mfa/setup">
      ${csrfField(ctx.session.csrf)}
      <button type="submit" class="secondary">Start again with a new QR code</button>
    </form>`;
    await render(
      ctx,
      'Set up your authenticator app',
      html`<ol>
          <li>Open your authenticator app and add an account by scanning this QR code.</li>
        </ol>
        <img
          class="qr"
          src="${renderQRCodeDataURL(uri)}"
          alt="QR code to add this account to your authenticator app"
        />
        <p>Can't scan it? Add the account by hand with this key (time-based):</p>
        <code class="secret" id="secret">${grouped}</code>
        ${settings}
        <ol start="2">
          <li>Enter the code your app shows, then wait for the next one and enter it too.</li>
        </ol>
        ${twoCodesForm(ctx, '/mfa/confirm', button)} ${restart}
        <p class="muted"><a href="/">Cancel</a></p>`,
      error === undefined ? {} : { error, status: 400 },
    );
  }

  async function dashboard(ctx: Context, error?: string): Promise<void> {
    const user = ctx.user as User;
    const status = await mfa.status(user.id);
    const csrf = csrfField(ctx.session.csrf);
    const body =
      status.state === 'active'
        ? html`<p id="mfa-status">
              Two-factor sign-in is <strong>on</strong>, with ${status.factors}
              authenticator${status.factors === 1 ? '' : 's'}. You have
              <strong>${status.recoveryCodesRemaining}</strong> unused recovery codes.
            </p>
            ${
              status.locked
                ? html`<p class="error">
                    Codes from your app are locked after too many wrong attempts.
                  </p>`
                : ''
            }
            <div class="actions">
              <p><a href="/mfa/factors">Your authenticators</a>: add, rename or remove one</p>
              <p><a href="/mfa/resync">Resynchronise your authenticator app</a></p>
              <p class="muted">
                Each change below asks for your password and a code, and signs you out everywhere
                else.
              </p>
              <form method="post" action="/mfa/recovery-codes">
                ${csrf} ${reauthFields}
                <button type="submit" class="secondary">Get new recovery codes</button>
              </form>
              ${
                // With several, "Your authenticators" says which one to remove.
                status.factors === 1
                  ? html`<form method="post" action="/mfa/replace">
                      ${csrf} ${reauthFields}
                      <button type="submit" class="secondary">
                        Move to a new authenticator app
                      </button>
                    </form>`
                  : ''
              }
              <form method="post" action="/mfa/disable">
                ${csrf} ${reauthFields}
                <button type="submit" class="secondary">Turn off two-factor sign-in</button>
              </form>
            </div>`
        : html`<p id="mfa-status">Two-factor sign-in is <strong>off</strong>.</p>
            <p>
              Protect your account with an authenticator app such as Google Authenticator, Microsoft
              Authenticator, 1Password or FreeOTP.
            </p>
            <form method="post" action="/mfa/setup">
              ${csrf}
              <button type="submit">Turn on two-factor sign-in</button>
            </form>`;
    await render(
      ctx,
      `Hello, ${user.email}`,
      body,
      error === undefined ? {} : { error, status: 401 },
    );
  }

  /** "2026-11-30 14:52 UTC": a time the same for every reader of the page. */
  const when = (ms: number | null): string =>
    ms === null ? 'never' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

  /** Your authenticators: each one's name and dates, to rename or remove it, and adding another. */
  async function factorsPage(ctx: Context, error?: string, status = 400): Promise<void> {
    const factors = await mfa.listFactors((ctx.user as User).id);
    if (factors.length === 0) return redirect(ctx.res, '/');
    const csrf = csrfField(ctx.session.csrf);
    const item = (f: FactorInfo, i: number) =>
      html`<li class="factor" id="factor-${i + 1}">
        <strong class="name">${f.name}</strong>
        <span class="muted">Added ${when(f.createdAt)} · last used ${when(f.lastUsedAt)}</span>
        <form method="post" action="/mfa/factors/rename">
          ${csrf} <input type="hidden" name="factor" value="${f.id}" />
          <label
            >New name for ${f.name}
            <input name="name" value="${f.name}" maxlength="64" autocomplete="off" required
          /></label>
          <button type="submit" class="secondary">Rename</button>
        </form>
        <form method="post" action="/mfa/factors/remove">
          ${csrf} <input type="hidden" name="factor" value="${f.id}" /> ${reauthFields}
          <button type="submit" class="secondary">Remove ${f.name}</button>
        </form>
      </li>`;
    await render(
      ctx,
      'Your authenticators',
      html`<p class="muted">
          Sign-in accepts a code from any of these apps. Adding or removing one asks for your
          password and a current code, and signs you out everywhere else.
        </p>
        <ul class="factors">
          ${factors.map(item)}
        </ul>
        <form method="post" action="/mfa/factors/add" class="add">
          <h2>Add another authenticator</h2>
          ${csrf}
          <label
            >Name for it (such as "Tablet")
            <input name="name" maxlength="64" autocomplete="off" required
          /></label>
          ${reauthFields}
          <button type="submit">Add another authenticator</button>
        </form>
        <p class="muted"><a href="/">Back to your account</a></p>`,
      error === undefined ? {} : { error, status },
    );
  }

  const NAME_TAKEN = 'You already have an authenticator with this name. Choose another.';
  /** The message for a name the service refused, or rethrows anything else. */
  function nameRefusal(error: unknown): string {
    if (error instanceof MFAError && error.code === 'ERR_NAME_TAKEN') return NAME_TAKEN;
    if (error instanceof MFAError && error.code === 'ERR_FACTOR_LIMIT') {
      return 'You have as many authenticators as you can. Remove one first.';
    }
    // The name is the only input the app does not check itself.
    if (error instanceof RangeError || error instanceof TypeError) {
      return 'Choose a name of 1 to 64 characters, without control characters.';
    }
    throw error;
  }

  // ── checks ──

  const needSignedIn =
    (handler: Handler): Handler =>
    async (ctx) => {
      if (ctx.session.stage !== 'signed_in' || ctx.user === null)
        return redirect(ctx.res, '/signin');
      await handler(ctx);
    };
  const needSecondFactor =
    (handler: Handler): Handler =>
    async (ctx) => {
      if (ctx.session.stage !== 'second_factor' || ctx.user === null)
        return redirect(ctx.res, '/signin');
      await handler(ctx);
    };

  /**
   * Re-authentication before changing two-factor sign-in: the password and a
   * current code (TOTP, or a recovery code, which is then used up). The
   * password alone is not enough: a session signed in before two-factor
   * sign-in was turned on, or a phished password, must not be able to turn it
   * off or mint recovery codes. Returns an error message, or null.
   */
  async function reauthenticate(ctx: Context): Promise<string | null> {
    const user = ctx.user as User;
    const password = field(ctx, 'password');
    const code = field(ctx, 'code');
    if (!(await passwords.verify(password, user.passwordHash))) return 'Wrong password.';
    // Recovery codes have letters; TOTP codes are digits (and spaces).
    if (/[a-z]/i.test(code)) {
      const result = await mfa.useRecoveryCode(user.id, code);
      return result.ok ? null : recoveryMessage(result);
    }
    const result = await mfa.verify(user.id, code);
    return result.ok ? null : verifyMessage(result);
  }

  /** Starts an enrollment, keeps its URI (sealed) in the session, and shows it at GET /mfa/setup. */
  async function beginSetup(
    ctx: Context,
    options: { replaceFactorId?: string; name?: string } = {},
  ): Promise<void> {
    const user = ctx.user as User;
    const { uri } = await mfa.beginEnrollment(user.id, { accountName: user.email, ...options });
    const sealed = await cipher.encrypt(new TextEncoder().encode(uri), `setup:${user.id}`);
    await accounts.setSetup(ctx.session.token, sealed);
    redirect(ctx.res, '/mfa/setup');
  }

  /** The algorithm, digits and period of the enrollment whose key URI is `uri`. */
  function parametersOf(uri: string): CodeParameters {
    const key = parseKeyURI(uri);
    return {
      algorithm: key.algorithm,
      digits: key.digits,
      period: key.type === 'totp' ? key.period : 30,
    };
  }

  /** The URI of this session's enrollment in progress, or null if there is none (or it expired). */
  async function currentSetup(ctx: Context): Promise<string | null> {
    const user = ctx.user as User;
    if (ctx.session.setup === null) return null;
    if ((await mfa.status(user.id)).pendingExpiresAt === null) return null;
    const uri = await cipher.decrypt(ctx.session.setup, `setup:${user.id}`);
    return new TextDecoder().decode(uri);
  }

  /** An email address that can be an account name in an authenticator app. */
  function emailProblem(email: string): string | null {
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254) {
      return 'Enter a valid email address.';
    }
    // Authenticator apps show "Issuer:account"; a ':' would split the label
    // in the wrong place, so otpauth:// URIs cannot carry it.
    if (email.includes(':')) return "An email address for this site cannot contain ':'.";
    // Control characters (no address has them) would be refused in the URI too.
    if (/\p{Cc}/u.test(email)) return 'Enter a valid email address.';
    return null;
  }

  // ── routes: one table, "METHOD /path" → handler ──

  const routes: Record<string, Handler> = {
    'GET /': async (ctx) => {
      if (ctx.session.stage === 'second_factor') return redirect(ctx.res, '/signin/code');
      if (ctx.session.stage !== 'signed_in' || ctx.user === null)
        return redirect(ctx.res, '/signin');
      await dashboard(ctx);
    },

    'GET /signup': (ctx) => render(ctx, 'Create an account', signUpForm(ctx)),
    'POST /signup': async (ctx) => {
      const email = field(ctx, 'email').trim().toLowerCase();
      const password = field(ctx, 'password');
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
      await rotate(
        ctx,
        user.id,
        'signed_in',
        'Welcome! Turn on two-factor sign-in to protect your account.',
      );
      redirect(ctx.res, '/');
    },

    'GET /signin': (ctx) => render(ctx, 'Sign in', signInForm(ctx)),
    'POST /signin': async (ctx) => {
      const email = field(ctx, 'email').trim().toLowerCase();
      const password = field(ctx, 'password');
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
      const { state } = await mfa.status(user.id);
      if (state === 'active') {
        await rotate(ctx, user.id, 'second_factor');
        return redirect(ctx.res, '/signin/code');
      }
      await rotate(ctx, user.id, 'signed_in');
      redirect(ctx.res, '/');
    },

    'GET /signin/code': needSecondFactor((ctx) => render(ctx, 'Two-factor sign-in', codeForm(ctx))),
    'POST /signin/code': needSecondFactor(async (ctx) => {
      const result = await mfa.verify((ctx.user as User).id, field(ctx, 'code'));
      if (!result.ok) {
        return render(ctx, 'Two-factor sign-in', codeForm(ctx), {
          error: verifyMessage(result),
          status: 401,
        });
      }
      await rotate(ctx, (ctx.user as User).id, 'signed_in');
      redirect(ctx.res, '/');
    }),

    'GET /signin/recovery': needSecondFactor((ctx) =>
      render(ctx, 'Use a recovery code', recoveryForm(ctx)),
    ),
    'POST /signin/recovery': needSecondFactor(async (ctx) => {
      const result = await mfa.useRecoveryCode((ctx.user as User).id, field(ctx, 'recovery_code'));
      if (!result.ok) {
        return render(ctx, 'Use a recovery code', recoveryForm(ctx), {
          error: recoveryMessage(result),
          status: 401,
        });
      }
      await rotate(
        ctx,
        (ctx.user as User).id,
        'signed_in',
        `Recovery code accepted. You have ${plural(result.remaining, 'recovery code')} left.`,
      );
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
      const result = await mfa.resync(
        (ctx.user as User).id,
        field(ctx, 'code1'),
        field(ctx, 'code2'),
      );
      if (!result.ok) {
        const form = twoCodesForm(ctx, '/signin/resync', 'Resynchronise and sign in');
        return render(ctx, 'Resynchronise your app', form, {
          error: bindingMessage(result),
          status: 401,
        });
      }
      await rotate(ctx, (ctx.user as User).id, 'signed_in', inSyncAgain(result.clockOffsetSeconds));
      redirect(ctx.res, '/');
    }),

    'POST /signout': async (ctx) => {
      await rotate(ctx, null, 'anonymous', 'You are signed out.');
      redirect(ctx.res, '/signin');
    },

    // Post/redirect/get: POST starts an enrollment, GET shows it (a reload
    // shows the same QR code rather than making a new secret).
    'POST /mfa/setup': needSignedIn(async (ctx) => {
      if ((await mfa.status((ctx.user as User).id)).state === 'active') {
        return redirect(ctx.res, '/');
      }
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
      const factors = await mfa.listFactors((ctx.user as User).id);
      if (factors.length !== 1) return redirect(ctx.res, '/mfa/factors');
      const error = await reauthenticate(ctx);
      if (error !== null) return dashboard(ctx, `${error} Your authenticator app is unchanged.`);
      await beginSetup(ctx, { replaceFactorId: (factors[0] as FactorInfo).id });
    }),
    'POST /mfa/confirm': needSignedIn(async (ctx) => {
      const uri = await currentSetup(ctx);
      const result = await mfa.completeEnrollment(
        (ctx.user as User).id,
        field(ctx, 'code1'),
        field(ctx, 'code2'),
      );
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
      await render(
        ctx,
        'Set up your authenticator app',
        html`<form method="post" action="/mfa/setup">
          ${csrfField(ctx.session.csrf)}
          <button type="submit">Start again with a new QR code</button>
        </form>`,
        { error: bindingMessage(result), status: 400 },
      );
    }),

    'GET /mfa/factors': needSignedIn((ctx) => factorsPage(ctx)),
    'POST /mfa/factors/rename': needSignedIn(async (ctx) => {
      let result;
      try {
        result = await mfa.renameFactor(
          (ctx.user as User).id,
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
      const result = await mfa.removeFactor((ctx.user as User).id, field(ctx, 'factor'));
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
      const result = await mfa.resync(
        (ctx.user as User).id,
        field(ctx, 'code1'),
        field(ctx, 'code2'),
      );
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
      const result = await mfa.regenerateRecoveryCodes((ctx.user as User).id);
      if (!result.ok) return redirect(ctx.res, '/');
      await endOtherSessions(ctx);
      await recoveryCodesPage(ctx, result.recoveryCodes);
    }),

    'POST /mfa/disable': needSignedIn(async (ctx) => {
      const error = await reauthenticate(ctx);
      if (error !== null) return dashboard(ctx, `${error} Two-factor sign-in is still on.`);
      await mfa.disable((ctx.user as User).id);
      await endOtherSessions(ctx, 'Two-factor sign-in is off.');
      redirect(ctx.res, '/');
    }),
  };

  // ── plumbing ──

  /**
   * Reads a form (urlencoded) or JSON object body of text fields. Anything
   * else is a 4xx with a message: never a 500.
   */
  async function readBody(req: IncomingMessage): Promise<Map<string, string>> {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded' && type !== 'application/json') {
      throw new HTTPError(415, 'Send the form as application/x-www-form-urlencoded.');
    }
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new HTTPError(413, 'The form is too large.');
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (type === 'application/x-www-form-urlencoded') {
      const fields = new Map<string, string>();
      // The first value of a repeated name, as URLSearchParams.get does.
      for (const [name, value] of new URLSearchParams(text)) {
        if (!fields.has(name)) fields.set(name, value);
      }
      return fields;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HTTPError(400, 'The body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new HTTPError(400, 'The body must be a JSON object.');
    }
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(body)) {
      // A code sent as a number (123456) would lose leading zeros: refuse it.
      if (typeof value !== 'string') {
        throw new HTTPError(400, `The field "${name.slice(0, 40)}" must be text (a JSON string).`);
      }
      fields.set(name, value);
    }
    return fields;
  }

  function sessionToken(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === cookieName && value) return value;
    }
    return undefined;
  }

  /** Constant-time comparison; timingSafeEqual throws on unequal byte lengths, so check those first. */
  function sameToken(a: string, b: string): boolean {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'GET' && path === '/style.css') {
      res.setHeader('Content-Type', 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.end(STYLE);
      return;
    }
    const handler = routes[`${req.method} ${path}`];
    if (handler === undefined) throw new HTTPError(404, 'There is no page here.');

    const token = sessionToken(req);
    let session = token === undefined ? null : await accounts.getSession(token);
    let form = new Map<string, string>();
    if (req.method === 'POST') {
      // A form post must come from this site's own page: the session's CSRF
      // token, and (where the browser sends it) a same-origin Origin header.
      const origin = req.headers.origin;
      const host = req.headers.host;
      const sameOrigin =
        origin === undefined ||
        (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
      const posted = await readBody(req);
      if (session === null || !sameOrigin || !sameToken(posted.get('csrf') ?? '', session.csrf)) {
        throw new HTTPError(403, 'This form has expired. Go back and try again.');
      }
      form = posted;
    }
    if (session === null) {
      session = await accounts.createSession(null, 'anonymous');
      setSessionCookie(res, session);
    }
    const user = session.userId === null ? null : await accounts.findUser(session.userId);
    await handler({ req, res, session, user, form });
  }

  /** The request target's path, or null if it does not parse. */
  function pathOf(target: string | undefined): string | null {
    try {
      return new URL(target ?? '/', 'http://localhost').pathname;
    } catch {
      return null;
    }
  }

  /** Sends a refusal page (or a plain line to a client that did not ask for HTML). */
  function refuse(res: ServerResponse, status: number, message: string): void {
    if (res.headersSent) return void res.end();
    const title =
      status === 404 ? 'Not found' : status >= 500 ? 'Something went wrong' : 'Please try again';
    send(res, status, page({ title }, html`<p>${message} <a href="/">Home</a></p>`));
  }

  // The one error boundary: everything a request does runs inside it, so a
  // request can get a 4xx or a 500, but cannot stop the server.
  return (req, res) => {
    const started = Date.now();
    const path = pathOf(req.url);
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Not 'no-referrer': browsers then send `Origin: null` on form posts, and the
    // same-origin check needs the real origin.
    res.setHeader('Referrer-Policy', 'same-origin');
    // Pages show secrets, codes and account state: never cache them.
    res.setHeader('Cache-Control', 'no-store');
    const shown = path ?? '(a target that is not a URL)';
    Promise.resolve()
      .then(() => {
        if (path === null) throw new HTTPError(400, 'That address is not valid.');
        return handle(req, res, path);
      })
      .catch((error: unknown) => {
        // The client went away, or a timeout cut the request: nobody to answer.
        // (Logged as 499, nginx's "client closed request".)
        if (!res.headersSent && (res.socket?.destroyed ?? true)) return void (res.statusCode = 499);
        if (error instanceof HTTPError) return refuse(res, error.status, error.message);
        if (error instanceof ServerBusyError) {
          res.setHeader('Retry-After', String(error.retryAfterSeconds));
          return refuse(res, 503, 'The server is busy. Please try again in a few seconds.');
        }
        // The error's name and message only: a stack or a request dump could carry form data.
        log(
          `error on ${req.method} ${shown}: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`,
        );
        refuse(res, 500, 'Please try again.');
      })
      .catch(() => res.destroy())
      .finally(() => log(`${req.method} ${shown} ${res.statusCode} ${Date.now() - started}ms`));
  };
}
