// The forms: sign-up, sign-in, the code at sign-in (with "Remember this
// device"), a recovery code, two consecutive codes, a verification code from
// e-mail, and the fields that confirm a change (password and a current code).
// Each carries its session's CSRF token. Pure HTML: the pages that read the
// service are in pages.ts.
import type { Context } from './context.ts';
import { codeField, csrfField, html, SafeHTML } from './html.ts';
import { PASSWORD_MIN } from './password.ts';

/** "2026-11-30 14:52 UTC": a time the same for every reader of the page. */
export const when = (ms: number | null): string =>
  ms === null ? 'never' : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Password and a current code: what every change to two-factor sign-in asks for. */
export const reauthFields = html`<label
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

export const codeForm = (ctx: Context, remember = false): SafeHTML =>
  html` <form method="post" action="/signin/code">
      ${csrfField(ctx.session.csrf)} ${codeField('code', 'Code from your authenticator app', true)}
      <label class="check"
        ><input
          type="checkbox"
          name="remember"
          value="1"
          ${remember ? new SafeHTML('checked') : ''}
        />
        Remember this device for 30 days</label
      >
      <button type="submit">Verify</button>
    </form>
    <p class="muted">
      A remembered device signs in with the password alone until it expires, until you forget it on
      the "Your authenticators" page, or until your authenticators change.
    </p>
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

/**
 * The code sent by e-mail, and a button for a new one (the service says when
 * one may be sent again). `outbox`: the development outbox is on, so the page
 * says where the e-mail went.
 */
export const verificationCodeForm = (ctx: Context, email: string, outbox: boolean): SafeHTML =>
  html`<p>
      To check that this is your account, we sent a code to <strong>${email}</strong>. Enter it
      below; it works for 10 minutes.
    </p>
    ${
      outbox
        ? html`<p class="dev" id="outbox-note">
            No mail server is configured: the e-mail is in the
            <a href="/dev/outbox">development outbox</a> (not for production).
          </p>`
        : ''
    }
    <form method="post" action="/mfa/verify">
      ${csrfField(ctx.session.csrf)} ${codeField('code', 'Code from the e-mail', true)}
      <button type="submit">Continue</button>
    </form>
    <form method="post" action="/mfa/setup">
      ${csrfField(ctx.session.csrf)}
      <button type="submit" class="secondary">Send a new code</button>
    </form>
    <p class="muted"><a href="/">Cancel</a></p>`;

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
