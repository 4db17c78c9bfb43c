// The example auth server's request handler: password sign-up and sign-in,
// TOTP enrollment bound by two consecutive codes, the TOTP step at sign-in,
// recovery codes and resync — on node:http with plain HTML forms.
//
// What a real app must keep from this: CSRF tokens on every form, session ids
// rotated when the user's privilege changes, Cache-Control: no-store on pages
// that show secrets, re-authentication before weakening 2FA, and logs that
// carry no secret, code or password.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { MFA } from 'totpkit';
import { renderQRCodeDataURL } from 'totpkit/qr';
import type { Accounts, Session, User } from './accounts.ts';
import {
  codeField,
  csrfField,
  html,
  page,
  STYLE,
  type PageOptions,
  type SafeHTML,
} from './html.ts';
import {
  DEFAULT_PASSWORD_PARAMS,
  hashPassword,
  PASSWORD_MAX,
  PASSWORD_MIN,
  verifyNoPassword,
  verifyPassword,
  type PasswordHashParams,
} from './password.ts';

export interface AppOptions {
  mfa: MFA;
  accounts: Accounts;
  /** Mark cookies `Secure` (and name them `__Host-sid`): set it whenever the site is served over HTTPS. */
  secureCookies?: boolean;
  /** scrypt cost for passwords; tests lower it. */
  passwordParams?: PasswordHashParams;
  /** Where request lines go; never given a body, a code or a secret. Default console.log. */
  log?: (line: string) => void;
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  session: Session;
  user: User | null;
  form: URLSearchParams;
}

type Handler = (ctx: Context) => Promise<void>;

const MAX_BODY_BYTES = 8 * 1024;

// ── plain-words messages for every refusal the service can give ─────────────

function waitText(retryAfterMs: number): string {
  const seconds = Math.ceil(retryAfterMs / 1000);
  return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}

type Refusal = { reason: string; retryAfterMs?: number };

function bindingMessage(result: Refusal): string {
  switch (result.reason) {
    case 'malformed':
      return 'Each code is 6 digits. Type them exactly as your app shows them.';
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
  const { mfa, accounts } = options;
  const secure = options.secureCookies ?? false;
  const passwordParams = options.passwordParams ?? DEFAULT_PASSWORD_PARAMS;
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
    const signedInAs = ctx.session.stage === 'signed_in' ? ctx.user?.email : undefined;
    send(
      ctx.res,
      options.status ?? 200,
      page({ title, message, signedInAs, csrf: ctx.session.csrf }, body),
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

  const field = (ctx: Context, name: string): string => ctx.form.get(name) ?? '';

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

  const twoCodesForm = (ctx: Context, action: string, button: string): SafeHTML =>
    html` <form method="post" action="${action}">
      ${csrfField(ctx.session.csrf)} ${codeField('code1', 'First code', true)}
      <p class="muted">Now wait until your app shows the next code (up to 30 seconds).</p>
      ${codeField('code2', 'Next code')}
      <button type="submit">${button}</button>
    </form>`;

  const recoveryCodesPage = (
    ctx: Context,
    codes: readonly string[],
    title: string,
  ): Promise<void> =>
    render(
      ctx,
      title,
      html`<p>
          Save these recovery codes somewhere safe, such as a password manager. Each one signs you
          in once if you lose your phone. They are shown only now.
        </p>
        <ul class="codes" id="recovery-codes">
          ${codes.map((code) => html`<li>${code}</li>`)}
        </ul>
        <p><a href="/">I have saved them — continue</a></p>`,
    );

  async function dashboard(ctx: Context): Promise<void> {
    const user = ctx.user as User;
    const status = await mfa.status(user.id);
    const csrf = csrfField(ctx.session.csrf);
    const passwordField = html`<label
      >Your password
      <input name="password" type="password" autocomplete="current-password" required
    /></label>`;
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
              <p><a href="/mfa/resync">Resynchronise your authenticator app</a></p>
              <form method="post" action="/mfa/recovery-codes">
                ${csrf} ${passwordField}
                <button type="submit" class="secondary">Get new recovery codes</button>
              </form>
              <form method="post" action="/mfa/disable">
                ${csrf} ${passwordField}
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
    await render(ctx, `Hello, ${user.email}`, body);
  }

  // ── routes ──

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
  /** Re-authentication before an action that weakens the account or reveals recovery codes. */
  const checkPassword = async (ctx: Context): Promise<boolean> =>
    verifyPassword(field(ctx, 'password'), (ctx.user as User).passwordHash);

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
      if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 254)
        return fail('Enter a valid email address.');
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        return fail(`Choose a password of ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`);
      }
      const user = await accounts.createUser(email, await hashPassword(password, passwordParams));
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
        ? await verifyPassword(password, user.passwordHash)
        : await verifyNoPassword(password, passwordParams);
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
      const left =
        result.remaining === 1 ? '1 recovery code' : `${result.remaining} recovery codes`;
      await rotate(
        ctx,
        (ctx.user as User).id,
        'signed_in',
        `Recovery code accepted. You have ${left} left.`,
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
      await rotate(
        ctx,
        (ctx.user as User).id,
        'signed_in',
        'Your authenticator app is in sync again.',
      );
      redirect(ctx.res, '/');
    }),

    'POST /signout': async (ctx) => {
      await rotate(ctx, null, 'anonymous', 'You are signed out.');
      redirect(ctx.res, '/signin');
    },

    'POST /mfa/setup': needSignedIn(async (ctx) => {
      const user = ctx.user as User;
      if ((await mfa.status(user.id)).state === 'active') return redirect(ctx.res, '/');
      const { secret, uri } = await mfa.beginEnrollment(user.id, { accountName: user.email });
      const grouped = secret.replace(/(.{4})(?=.)/g, '$1 ');
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
          <ol start="2">
            <li>Enter the code your app shows, then wait for the next one and enter it too.</li>
          </ol>
          ${twoCodesForm(ctx, '/mfa/confirm', 'Turn on two-factor sign-in')}`,
      );
    }),
    'POST /mfa/confirm': needSignedIn(async (ctx) => {
      const result = await mfa.completeEnrollment(
        (ctx.user as User).id,
        field(ctx, 'code1'),
        field(ctx, 'code2'),
      );
      if (result.ok) {
        await accounts.setFlash(ctx.session.token, 'Two-factor sign-in is on.');
        ctx.session.flash = null;
        // A first factor comes with the user's recovery codes.
        return recoveryCodesPage(ctx, result.recoveryCodes ?? [], 'Two-factor sign-in is on');
      }
      const restart = html`<form method="post" action="/mfa/setup">
        ${csrfField(ctx.session.csrf)}
        <button type="submit" class="secondary">Start again with a new QR code</button>
      </form>`;
      const gone = result.reason === 'expired' || result.reason === 'not_pending';
      await render(
        ctx,
        'Set up your authenticator app',
        gone
          ? restart
          : html`${twoCodesForm(ctx, '/mfa/confirm', 'Turn on two-factor sign-in')} ${restart}`,
        { error: bindingMessage(result), status: 400 },
      );
    }),

    'GET /mfa/resync': needSignedIn((ctx) =>
      render(ctx, 'Resynchronise your app', twoCodesForm(ctx, '/mfa/resync', 'Resynchronise')),
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
      await accounts.setFlash(ctx.session.token, 'Your authenticator app is in sync again.');
      redirect(ctx.res, '/');
    }),

    'POST /mfa/recovery-codes': needSignedIn(async (ctx) => {
      if (!(await checkPassword(ctx))) {
        await accounts.setFlash(
          ctx.session.token,
          'Wrong password: no new recovery codes were made.',
        );
        return redirect(ctx.res, '/');
      }
      const result = await mfa.regenerateRecoveryCodes((ctx.user as User).id);
      if (!result.ok) return redirect(ctx.res, '/');
      await recoveryCodesPage(ctx, result.recoveryCodes, 'Your new recovery codes');
    }),

    'POST /mfa/disable': needSignedIn(async (ctx) => {
      const user = ctx.user as User;
      if (!(await checkPassword(ctx))) {
        await accounts.setFlash(
          ctx.session.token,
          'Wrong password: two-factor sign-in is still on.',
        );
        return redirect(ctx.res, '/');
      }
      await mfa.disable(user.id);
      // Other sessions were signed in with the second factor; end them too.
      await accounts.deleteUserSessions(user.id);
      ctx.session = await accounts.createSession(
        user.id,
        'signed_in',
        'Two-factor sign-in is off.',
      );
      setSessionCookie(ctx.res, ctx.session);
      redirect(ctx.res, '/');
    }),
  };

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

  // ── plumbing ──

  async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      return null;
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return null;
      chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  function sessionToken(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name === cookieName && value) return value;
    }
    return undefined;
  }

  const sameToken = (a: string, b: string): boolean =>
    a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Not 'no-referrer': browsers then send `Origin: null` on form posts, and the
    // same-origin check below needs the real origin.
    res.setHeader('Referrer-Policy', 'same-origin');
    // Pages show secrets, codes and account state: never cache them.
    res.setHeader('Cache-Control', 'no-store');

    if (req.method === 'GET' && path === '/style.css') {
      res.setHeader('Content-Type', 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.end(STYLE);
      return;
    }
    const handler = routes[`${req.method} ${path}`];
    if (handler === undefined)
      return send(res, 404, page({ title: 'Not found' }, html`<p><a href="/">Home</a></p>`));

    const token = sessionToken(req);
    let session = token === undefined ? null : await accounts.getSession(token);
    let form = new URLSearchParams();
    if (req.method === 'POST') {
      // A form post must come from this site's own page: the session's CSRF
      // token, and (where the browser sends it) a same-origin Origin header.
      const origin = req.headers.origin;
      const host = req.headers.host;
      const sameOrigin =
        origin === undefined ||
        (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
      const posted = await readForm(req);
      if (
        session === null ||
        posted === null ||
        !sameOrigin ||
        !sameToken(posted.get('csrf') ?? '', session.csrf)
      ) {
        return send(
          res,
          403,
          page(
            { title: 'Please try again' },
            html`<p>This form has expired. <a href="/">Go back</a> and try again.</p>`,
          ),
        );
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

  return (req, res) => {
    const started = Date.now();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    handle(req, res)
      .catch((error: unknown) => {
        // The error's name and message only: a stack or a request dump could carry form data.
        log(
          `error on ${req.method} ${path}: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown'}`,
        );
        if (!res.headersSent)
          send(res, 500, page({ title: 'Something went wrong' }, html`<p>Please try again.</p>`));
        else res.end();
      })
      .finally(() => log(`${req.method} ${path} ${res.statusCode} ${Date.now() - started}ms`));
  };
}
