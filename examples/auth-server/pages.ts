// The pages: forms and the pages built from the service's answers (the
// account page, the enrollment page with its QR code, the list of
// authenticators, the recovery codes shown once). Each renders for one
// request's session: its CSRF token in every form, its pending notice shown
// once. No route logic here: routes.ts decides which page to show.
import { parseKeyURI, type FactorInfo, type MFA } from 'totpkit';
import { renderQRCodeDataURL } from 'totpkit/qr';
import type { Accounts } from './accounts.ts';
import type { Context, UserContext } from './context.ts';
import { redirect, send } from './context.ts';
import type { CodeParameters } from './diagnosis.ts';
import { codeField, csrfField, html, page, type PageOptions, type SafeHTML } from './html.ts';
import { PASSWORD_MIN } from './password.ts';
import { isDefault, parametersText } from './settings.ts';

/** The algorithm, digits and period of the enrollment whose key URI is `uri`. */
export function parametersOf(uri: string): CodeParameters {
  const key = parseKeyURI(uri);
  return {
    algorithm: key.algorithm,
    digits: key.digits,
    period: key.type === 'totp' ? key.period : 30,
  };
}

/** "2026-11-30 14:52 UTC": a time the same for every reader of the page. */
const when = (ms: number | null): string =>
  ms === null ? 'never' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Password and a current code: what every change to two-factor sign-in asks for. */
const reauthFields = html`<label
    >Your password <input name="password" type="password" autocomplete="current-password" required
  /></label>
  <label
    >Code from your app, or a recovery code
    <input name="code" autocomplete="one-time-code" maxlength="20" required
  /></label>`;

export const signInForm = (ctx: Context, email = ''): SafeHTML =>
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

export const signUpForm = (ctx: Context, email = ''): SafeHTML =>
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

export const codeForm = (ctx: Context): SafeHTML =>
  html` <form method="post" action="/signin/code">
      ${csrfField(ctx.session.csrf)} ${codeField('code', 'Code from your authenticator app', true)}
      <button type="submit">Verify</button>
    </form>
    <p class="muted">
      Lost your phone? <a href="/signin/recovery">Use a recovery code</a>.<br />
      Codes keep failing? <a href="/signin/resync">Resynchronise your app</a>.
    </p>`;

export const recoveryForm = (ctx: Context): SafeHTML =>
  html` <form method="post" action="/signin/recovery">
      ${csrfField(ctx.session.csrf)}
      <label
        >Recovery code
        <input name="recovery_code" id="recovery_code" autocomplete="off" required autofocus
      /></label>
      <button type="submit">Sign in</button>
    </form>
    <p class="muted"><a href="/signin/code">Use a code from your app instead</a>.</p>`;

export const twoCodesForm = (ctx: Context, action: string, button: string): SafeHTML =>
  html` <form method="post" action="${action}">
    ${csrfField(ctx.session.csrf)} ${codeField('code1', 'First code', true)}
    <p class="muted">Now wait until your app shows the next code (up to 30 seconds).</p>
    ${codeField('code2', 'Next code')}
    <button type="submit">${button}</button>
  </form>`;

/** The "Start again" form: a button beside the two-code form, or the page's one action once a setup expired. */
export const restartForm = (ctx: Context, kind: 'primary' | 'secondary'): SafeHTML =>
  kind === 'secondary'
    ? html`<form method="post" action="/mfa/setup">
        ${csrfField(ctx.session.csrf)}
        <button type="submit" class="secondary">Start again with a new QR code</button>
      </form>`
    : html`<form method="post" action="/mfa/setup">
        ${csrfField(ctx.session.csrf)}
        <button type="submit">Start again with a new QR code</button>
      </form>`;

export type Pages = ReturnType<typeof createPages>;

/** The pages that read the service, or clear the session's notice, for `mfa` and `accounts`. */
export function createPages({ mfa, accounts }: { mfa: MFA; accounts: Accounts }) {
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
  async function setupPage(ctx: UserContext, uri: string, error?: string): Promise<void> {
    const active = (await mfa.status(ctx.user.id)).state === 'active';
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
        ${twoCodesForm(ctx, '/mfa/confirm', button)} ${restartForm(ctx, 'secondary')}
        <p class="muted"><a href="/">Cancel</a></p>`,
      error === undefined ? {} : { error, status: 400 },
    );
  }

  /** The account page: two-factor sign-in on (and what can change it) or off (and how to turn it on). */
  async function dashboard(ctx: UserContext, error?: string): Promise<void> {
    const status = await mfa.status(ctx.user.id);
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
      `Hello, ${ctx.user.email}`,
      body,
      error === undefined ? {} : { error, status: 401 },
    );
  }

  /** Your authenticators: each one's name and dates, to rename or remove it, and adding another. */
  async function factorsPage(ctx: UserContext, error?: string, status = 400): Promise<void> {
    const factors = await mfa.listFactors(ctx.user.id);
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

  return { render, recoveryCodesPage, setupPage, dashboard, factorsPage };
}
