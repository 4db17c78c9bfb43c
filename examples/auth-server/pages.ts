// The pages built from the service's answers: the account page (security
// settings), the e-mail code step, the enrollment page with its QR code, the
// list of authenticators and remembered devices, the recovery codes shown
// once, and the development outbox. Each renders for one request's session:
// its CSRF token in every form, its pending notice shown once. No route logic
// here: the route files decide which page to show.
import { parseKeyURI, type FactorInfo, type MFA } from 'totpkit';
import { renderQRCodeDataURL } from 'totpkit/qr';
import type { Accounts } from './accounts.ts';
import type { Context, UserContext } from './context.ts';
import { redirect, send } from './context.ts';
import type { CodeParameters } from './diagnosis.ts';
import { reauthFields, restartForm, twoCodesForm, verificationCodeForm, when } from './forms.ts';
import { csrfField, html, page, type PageOptions, type SafeHTML } from './html.ts';
import type { DevOutbox } from './mail.ts';
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

export type Pages = ReturnType<typeof createPages>;

/** The pages that read the service, or clear the session's notice, for `mfa` and `accounts`. */
export function createPages({
  mfa,
  accounts,
  outbox,
}: {
  mfa: MFA;
  accounts: Accounts;
  outbox: DevOutbox | null;
}) {
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
    const active = (await mfa.status(ctx.user.id, { context: ctx.context })).state === 'active';
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
        ${twoCodesForm(ctx, '/mfa/confirm', button)}
        ${
          // A new QR code needs a new proof: for a first authenticator a new
          // e-mail code, for another one a current code on that page.
          active
            ? html`<p class="muted">
                Need a new QR code? Start again from
                <a href="/mfa/factors">Your authenticators</a>.
              </p>`
            : restartForm(ctx, 'secondary')
        }
        <p class="muted"><a href="/">Cancel</a></p>`,
      error === undefined ? {} : { error, status: 400 },
    );
  }

  /** The account page: two-factor sign-in on (and what can change it) or off (and how to turn it on). */
  async function dashboard(ctx: UserContext, error?: string, errorStatus = 401): Promise<void> {
    const status = await mfa.status(ctx.user.id, { context: ctx.context });
    const csrf = csrfField(ctx.session.csrf);
    const settings =
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
                Each change below asks for your password and a current code, and signs you out
                everywhere else.
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
              Protect your account with a virtual MFA device: an authenticator app such as Google
              Authenticator, Microsoft Authenticator, 1Password or FreeOTP. We first send a code to
              your e-mail address, to check that it is you.
            </p>
            <form method="post" action="/mfa/setup">
              ${csrf}
              <button type="submit">Set up virtual MFA</button>
            </form>`;
    await render(
      ctx,
      `Hello, ${ctx.user.email}`,
      html`<h2>Security settings</h2>
        ${settings}`,
      error === undefined ? {} : { error, status: errorStatus },
    );
  }

  /** Your authenticators: each one's name and dates, to rename or remove it, and adding another. */
  async function factorsPage(ctx: UserContext, error?: string, status = 400): Promise<void> {
    const options = { context: ctx.context };
    const factors = await mfa.listFactors(ctx.user.id, options);
    if (factors.length === 0) return redirect(ctx.res, '/');
    const devices = await mfa.listRememberedDevices(ctx.user.id, options);
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
        <section class="devices">
          <h2>Remembered devices</h2>
          ${
            devices.length === 0
              ? html`<p class="muted" id="no-devices">
                  No device is remembered. Tick "Remember this device for 30 days" when you sign in
                  with a code.
                </p>`
              : html`<p class="muted">
                    These sign in with your password alone, without a code, until they expire. A
                    change to your authenticators forgets them all.
                  </p>
                  <ul class="factors">
                    ${devices.map(
                      (d) =>
                        html`<li class="device">
                          <strong class="name">${d.name}</strong>
                          <span class="muted"
                            >Remembered ${when(d.createdAt)} · last used ${when(d.lastUsedAt)} ·
                            expires ${when(d.expiresAt)}</span
                          >
                          <form method="post" action="/mfa/devices/forget">
                            ${csrf} <input type="hidden" name="device" value="${d.id}" />
                            <button type="submit" class="secondary">Forget ${d.name}</button>
                          </form>
                        </li>`,
                    )}
                  </ul>
                  <form method="post" action="/mfa/devices/forget-all">
                    ${csrf}
                    <button type="submit" class="secondary">Forget all devices</button>
                  </form>`
          }
        </section>
        <p class="muted"><a href="/">Back to your account</a></p>`,
      error === undefined ? {} : { error, status },
    );
  }

  /** The e-mail code step of a first enrollment. */
  const verifyPage = (ctx: UserContext, error?: string, status = 401): Promise<void> =>
    render(
      ctx,
      'Check your e-mail',
      verificationCodeForm(ctx, ctx.user.email, outbox !== null),
      error === undefined ? {} : { error, status },
    );

  /**
   * The development outbox: the e-mails this server would have sent to the
   * signed-in account, marked so that nobody takes it for a production page.
   */
  const outboxPage = (ctx: UserContext, messages: DevOutbox): Promise<void> =>
    render(
      ctx,
      'Development outbox — not for production',
      html`<p class="dev">
          This server has no mail server configured (<code>SMTP_URL</code>), so the e-mails it would
          send to your address are shown here, and written to its log. Never run it like this in
          production: anyone who reads the log can read the codes.
        </p>
        ${
          messages.forUser(ctx.user.id).length === 0
            ? html`<p id="outbox-empty">No e-mail has been sent to ${ctx.user.email} yet.</p>`
            : messages.forUser(ctx.user.id).map(
                (m) =>
                  html`<article class="mail">
                    <p class="muted">To ${m.to} · ${when(m.sentAt)}</p>
                    <h2>${m.subject}</h2>
                    <pre>${m.text}</pre>
                  </article>`,
              )
        }
        <p><a href="/mfa/verify">Back to entering the code</a></p>`,
    );

  return { render, recoveryCodesPage, setupPage, dashboard, factorsPage, verifyPage, outboxPage };
}
