// What every request handler gets, and the small tools they share: the
// context of one request (its session, its user, its form), the signed-in
// context that the account pages take (its user is never null, so no
// handler casts), refusals thrown as HTTPError, and redirects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session, SessionOwner, User } from './accounts.ts';

/**
 * Who asked, as every totpkit call of the request passes it on (`{ context }`)
 * to the events it emits, and the log shows it: the client's address, its
 * user agent (cut to 256 characters) and the request's id (also sent as
 * `X-Request-Id`). JSON-safe and small, as the service requires.
 */
// A type, not an interface: totpkit's `context` takes JSON-safe objects, and
// only a type alias is assignable to such an index signature.
export type RequestContext = {
  ip: string;
  userAgent: string;
  requestId: string;
};

/** One request: its session (always one; anonymous at first), the session's user, its form. */
export interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  session: Session;
  user: User | null;
  /** The posted fields (empty for a GET). */
  form: Map<string, string>;
  /** The client's address as the per-IP limits key it (limits.ts). */
  client: string;
  /** Passed to every totpkit call: `{ context: ctx.context }`. */
  context: RequestContext;
  /** The request's cookies, by name. */
  cookies: ReadonlyMap<string, string>;
}

/** A request of a signed-in user (stage `signed_in`), or halfway (`second_factor`): the user is known. */
export interface UserContext extends Context {
  user: User;
  /** The session's user and the generation it was created under, for the session that replaces it. */
  owner: SessionOwner;
}

export type Handler = (ctx: Context) => Promise<void>;
export type UserHandler = (ctx: UserContext) => Promise<void>;

/** A refusal with a status and a message for the user, thrown from anywhere in a request. */
export class HTTPError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Sent as Retry-After (seconds), for a 429 or 503. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export function send(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.end(body);
}

export function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 303;
  res.setHeader('Location', location);
  res.end();
}

/** A form field that must be present (the pages always send it): a 400 if not. */
export function field(ctx: Context, name: string): string {
  const value = ctx.form.get(name);
  if (value === undefined) throw new HTTPError(400, `The form has no "${name}" field.`);
  return value;
}

/** Runs `handler` only for a session at `stage` whose user is known; others go to the sign-in page. */
function needStage(stage: Session['stage'], handler: UserHandler): Handler {
  return async (ctx) => {
    const { user } = ctx;
    const { generation } = ctx.session;
    if (ctx.session.stage !== stage || user === null || generation === null) {
      return redirect(ctx.res, '/signin');
    }
    // The same object, now typed with its user: handlers that replace the
    // session (ctx.session = …) replace it for the rest of the request.
    await handler(Object.assign(ctx, { user, owner: { userId: user.id, generation } }));
  };
}

/** For the account pages: fully signed in. */
export const needSignedIn = (handler: UserHandler): Handler => needStage('signed_in', handler);

/** For the second-factor pages: the password was right, a code is next. */
export const needSecondFactor = (handler: UserHandler): Handler =>
  needStage('second_factor', handler);
