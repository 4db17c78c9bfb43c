// HTML for the example: one layout, escaped interpolation, no client script.

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHTML(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** HTML that is already safe, as opposed to text that must be escaped. */
export class SafeHTML {
  constructor(readonly value: string) {}
}

/** A template tag: interpolated values are escaped unless they are SafeHTML (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHTML {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    const parts = Array.isArray(value) ? value : [value];
    for (const part of parts) {
      if (part instanceof SafeHTML) out += part.value;
      else if (part !== undefined && part !== null && part !== false)
        out += escapeHTML(String(part));
    }
    out += strings[i + 1] ?? '';
  });
  return new SafeHTML(out);
}

export interface PageOptions {
  title: string;
  /** A message shown above the content: an error or a notice. */
  message?: { kind: 'error' | 'notice'; text: string } | undefined;
  /** A sign-out button in the header ("Sign out", or "Cancel sign-in" halfway), with who is signed in. */
  signOut?: { label: string; who?: string | undefined } | undefined;
  csrf?: string | undefined;
}

export function page({ title, message, signOut, csrf }: PageOptions, body: SafeHTML): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · totpkit demo</title>
        <link rel="stylesheet" href="/style.css" />
      </head>
      <body>
        <header>
          <a class="brand" href="/">totpkit demo</a>
          ${
            signOut === undefined
              ? ''
              : html`<form method="post" action="/signout" class="inline">
                  ${signOut.who === undefined ? '' : html`<span class="who">${signOut.who}</span>`}
                  ${csrfField(csrf ?? '')}
                  <button type="submit" class="link">${signOut.label}</button>
                </form>`
          }
        </header>
        <main>
          <h1>${title}</h1>
          ${
            message === undefined
              ? ''
              : html`<p
                  class="${message.kind}"
                  role="${message.kind === 'error' ? 'alert' : 'status'}"
                >
                  ${message.text}
                </p>`
          }
          ${body}
        </main>
      </body>
    </html> `.value;
}

export function csrfField(csrf: string): SafeHTML {
  return html`<input type="hidden" name="csrf" value="${csrf}" />`;
}

/** A field for a one-time code, with the hints phones use to offer the numeric keypad. */
export function codeField(name: string, label: string, autofocus = false): SafeHTML {
  return html`<label
    >${label}
    <input
      name="${name}"
      id="${name}"
      inputmode="numeric"
      autocomplete="one-time-code"
      pattern="[0-9 ]{6,10}"
      maxlength="10"
      required
      ${autofocus ? new SafeHTML('autofocus') : ''}
  /></label>`;
}

export const STYLE = `
:root { color-scheme: light; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; background: #f5f6f8; color: #1d2430; }
header { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; justify-content: space-between;
  align-items: center; padding: 0.75rem clamp(1rem, 4vw, 1.5rem); background: #1d2430; color: #fff; }
header a, header .link { color: #fff; }
header .who { overflow-wrap: anywhere; margin-right: 0.5rem; }
.brand { font-weight: 600; text-decoration: none; }
/* A card with a margin on every side, however narrow the screen. */
main { box-sizing: border-box; width: min(34rem, calc(100% - 2rem)); margin: 1.5rem auto;
  padding: 1.5rem clamp(1rem, 5vw, 2rem); background: #fff;
  border-radius: 8px; box-shadow: 0 1px 3px rgb(0 0 0 / 0.12); overflow-wrap: anywhere; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin: 0.75rem 0; font-weight: 500; }
input { display: block; width: 100%; box-sizing: border-box; margin-top: 0.25rem;
  padding: 0.5rem; font: inherit; border: 1px solid #b8bfcc; border-radius: 4px; }
button { padding: 0.5rem 1rem; font: inherit; border: 0; border-radius: 4px;
  background: #2557d6; color: #fff; cursor: pointer; }
button.secondary { background: #e4e8f0; color: #1d2430; }
button.link { background: none; padding: 0; text-decoration: underline; }
form.inline { display: inline; }
.error { padding: 0.75rem; background: #fdecec; border-left: 4px solid #c62828; }
.notice { padding: 0.75rem; background: #e8f4ea; border-left: 4px solid #2e7d32; }
/* Once the browser flags a field the user has touched, its own message
   replaces the server's error from the previous attempt (no script needed). */
main:has(input:user-invalid) .error[role=alert] { display: none; }
.qr { display: block; margin: 1rem auto; max-width: 100%; height: auto; }
code.secret { display: block; padding: 0.5rem; font-size: 1.1rem; letter-spacing: 0.05em;
  background: #f0f2f6; border-radius: 4px; text-align: center; word-break: break-all; }
/* Two columns where they fit, one on a phone; a code never breaks across lines. */
ul.codes { columns: 2 10rem; padding-left: 1.25rem; font-family: ui-monospace, monospace; font-size: 1.05rem; }
ul.codes li { white-space: nowrap; }
.actions form { margin: 1rem 0; padding-top: 1rem; border-top: 1px solid #e4e8f0; }
ul.factors { list-style: none; padding: 0; }
li.factor { padding: 1rem 0; border-top: 1px solid #e4e8f0; }
li.factor .name { display: block; font-size: 1.1rem; }
h2 { font-size: 1.15rem; }
form.add { margin-top: 1rem; padding-top: 1rem; border-top: 1px solid #e4e8f0; }
.muted { color: #5b6475; font-size: 0.95rem; }
label.check { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; }
label.check input { display: inline; width: auto; margin: 0; }
/* The development outbox, and the note that points to it: never mistaken for production. */
.dev { padding: 0.75rem; background: #fff4d6; border-left: 4px solid #b26a00; }
article.mail { margin: 1rem 0; padding: 0.75rem; border: 1px solid #e4e8f0; border-radius: 4px; }
article.mail h2 { margin: 0.25rem 0; font-size: 1.05rem; }
article.mail pre { white-space: pre-wrap; font-family: inherit; margin: 0; }
section.devices { margin-top: 1rem; padding-top: 1rem; border-top: 1px solid #e4e8f0; }
li.device { padding: 0.75rem 0; border-top: 1px solid #e4e8f0; }
li.device .name { display: block; }
li.device form { margin-top: 0.5rem; }
/* Two forms in a row (Continue, then "Send a new code"): apart, not touching. */
main > form + form { margin-top: 0.5rem; }
`;
