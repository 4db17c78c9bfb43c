// The example auth server's request handler: password sign-up and sign-in,
// TOTP enrollment bound by two consecutive codes, the TOTP step at sign-in,
// recovery codes and resync — on node:http with plain HTML forms.
//
// This file is the plumbing: the session of each request (checked against
// the account's security generation), the CSRF check, the per-IP limits,
// and the one error boundary. The routes are in routes.ts, the pages in
// pages.ts, the words in messages.ts.
//
// What a real app must keep from this: CSRF tokens on every form, session ids
// rotated when the user's privilege changes, sessions bound to totpkit's
// security generation (every change of the factors moves it, in the same
// atomic step, so a session made before a change is refused after it), per-IP
// limits on password and code checks, Cache-Control: no-store on pages that
// show secrets, a proof from a current code before every change to two-factor
// sign-in, one error boundary around every request, and logs that carry no
// secret, code or password (the development outbox aside: see mail.ts).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { MFA } from 'totpkit';
import type { Accounts, Session } from './accounts.ts';
import { HTTPError, send, type Context, type RequestContext } from './context.ts';
import { html, page, STYLE } from './html.ts';
import {
  addressKey,
  clientAddress,
  DEFAULT_PER_IP_LIMITS,
  RateLimiter,
  type PerIPLimits,
} from './limits.ts';
import type { DevOutbox } from './mail.ts';
import { perIPLimitMessage } from './messages.ts';
import { createPages } from './pages.ts';
import { PasswordHasher, ServerBusyError, type PasswordHashParams } from './password.ts';
import { createRoutes } from './routes.ts';

export interface AppOptions {
  mfa: MFA;
  accounts: Accounts;
  /** The development outbox (its page is /dev/outbox), or null when codes go out by SMTP. */
  outbox: DevOutbox | null;
  /** Mark cookies `Secure` (and name them `__Host-sid`): set it whenever the site is served over HTTPS. */
  secureCookies?: boolean;
  /** scrypt cost for passwords; tests lower it. */
  passwordParams?: PasswordHashParams;
  /** Password checks that may wait for the hasher before sign-ins get 503 (default 16). */
  maxPasswordChecksWaiting?: number;
  /** Per-IP limits on password and code checks (each defaults to DEFAULT_PER_IP_LIMITS). */
  perIP?: Partial<PerIPLimits>;
  /** The clock of the per-IP limits (Unix ms); tests pass their own. Default Date.now. */
  clock?: () => number;
  /** Where request lines go; never given a body, a code or a secret. Default console.log. */
  log?: (line: string) => void;
}

const MAX_BODY_BYTES = 8 * 1024;

/** How long "Remember this device" lasts: totpkit's default `rememberedDevices.ttlMs`. */
export const REMEMBER_DEVICE_DAYS = 30;

export function createApp(options: AppOptions): RequestListener {
  const { mfa, accounts, outbox } = options;
  const secure = options.secureCookies ?? false;
  const log = options.log ?? ((line: string) => console.log(line));
  const cookieName = secure ? '__Host-sid' : 'sid';
  const deviceCookieName = secure ? '__Host-device' : 'device';
  const perIP = { ...DEFAULT_PER_IP_LIMITS, ...options.perIP };
  const clock = options.clock ?? Date.now;
  const limiters = {
    signIn: new RateLimiter({ perMinute: perIP.signInsPerMinute, clock }),
    code: new RateLimiter({ perMinute: perIP.codesPerMinute, clock }),
  };

  /** Adds a cookie to the answer (a response may set the session's and the device's). */
  function setCookie(res: ServerResponse, cookie: string): void {
    const set = res.getHeader('Set-Cookie');
    const list = Array.isArray(set) ? set : typeof set === 'string' ? [set] : [];
    res.setHeader('Set-Cookie', [...list, cookie]);
  }
  const attributes = `Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  function setSessionCookie(res: ServerResponse, session: Session): void {
    setCookie(res, `${cookieName}=${session.token}; ${attributes}`);
  }

  const routes = createRoutes({
    mfa,
    accounts,
    outbox,
    passwords: new PasswordHasher(options.passwordParams, options.maxPasswordChecksWaiting ?? 16),
    pages: createPages({ mfa, accounts, outbox }),
    async rotate(ctx, owner, stage, flash = null) {
      await accounts.deleteSession(ctx.session.token);
      ctx.session = await accounts.createSession(owner, stage, flash);
      setSessionCookie(ctx.res, ctx.session);
    },
    async changed(ctx, generation, flash = null) {
      // The change moved the generation (`generation` is the result's): every
      // other session of the user, made under an older one, is refused from
      // now on; this one continues under a new id and the new generation.
      ctx.owner = { userId: ctx.user.id, generation };
      await accounts.deleteSession(ctx.session.token);
      ctx.session = await accounts.createSession(ctx.owner, 'signed_in', flash);
      setSessionCookie(ctx.res, ctx.session);
    },
    rememberDevice(ctx, token) {
      const maxAge = token === null ? 0 : REMEMBER_DEVICE_DAYS * 24 * 3600;
      setCookie(ctx.res, `${deviceCookieName}=${token ?? ''}; Max-Age=${maxAge}; ${attributes}`);
    },
    deviceToken: (ctx) => ctx.cookies.get(deviceCookieName),
    limit(ctx, kind) {
      const waitMs = limiters[kind].take(ctx.client);
      if (waitMs > 0) {
        throw new HTTPError(429, perIPLimitMessage(waitMs), Math.ceil(waitMs / 1000));
      }
    },
  });

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

  /** The request's cookies (the first of a repeated name). */
  function cookiesOf(req: IncomingMessage): Map<string, string> {
    const cookies = new Map<string, string>();
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=');
      if (name && value && !cookies.has(name)) cookies.set(name, value);
    }
    return cookies;
  }

  /** Constant-time comparison; timingSafeEqual throws on unequal byte lengths, so check those first. */
  function sameToken(a: string, b: string): boolean {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return x.length === y.length && timingSafeEqual(x, y);
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    requestId: string,
  ): Promise<void> {
    if (req.method === 'GET' && path === '/style.css') {
      res.setHeader('Content-Type', 'text/css; charset=utf-8');
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.end(STYLE);
      return;
    }
    const handler = routes[`${req.method} ${path}`];
    if (handler === undefined) throw new HTTPError(404, 'There is no page here.');

    const address = clientAddress(req, perIP.trustProxy);
    const context: RequestContext = {
      ip: address,
      userAgent: (req.headers['user-agent'] ?? '').slice(0, 256),
      requestId,
    };
    // A session that ended (signed out, expired) is not found; one made
    // before a change to the account's factors (an older security
    // generation) is refused, and its row deleted.
    const cookies = cookiesOf(req);
    const token = cookies.get(cookieName);
    let session = token === undefined ? null : await accounts.getSession(token);
    if (session !== null && session.userId !== null) {
      const { generation } = await mfa.status(session.userId, { context });
      if (session.generation !== generation) {
        await accounts.deleteSession(session.token);
        session = null;
      }
    }
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
    const client = addressKey(address);
    const ctx: Context = { req, res, session, user, form, client, context, cookies };
    await handler(ctx);
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
    // Ties the request's log line to the events it caused (their context).
    const requestId = randomUUID();
    res.setHeader('X-Request-Id', requestId);
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
        return handle(req, res, path, requestId);
      })
      .catch((error: unknown) => {
        // The client went away, or a timeout cut the request: nobody to answer.
        // (Logged as 499, nginx's "client closed request".)
        if (!res.headersSent && (res.socket?.destroyed ?? true)) return void (res.statusCode = 499);
        if (error instanceof HTTPError) {
          if (error.retryAfterSeconds !== undefined && !res.headersSent) {
            res.setHeader('Retry-After', String(error.retryAfterSeconds));
          }
          return refuse(res, error.status, error.message);
        }
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
      .finally(() =>
        log(`${req.method} ${shown} ${res.statusCode} ${Date.now() - started}ms id=${requestId}`),
      );
  };
}
