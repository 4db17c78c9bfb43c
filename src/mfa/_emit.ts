/**
 * Delivering audit events to `onEvent` (internal).
 *
 * `onEvent` is typed as returning nothing, but an `async` handler returns a
 * promise. If that promise rejected with nobody listening, Node would end the
 * process on the unhandled rejection, and other runtimes would drop it. So a
 * returned promise's rejection is caught and handed to `onEventError`, or,
 * without one, written to `console.error`: it neither kills the process nor
 * vanishes. A synchronous throw still rejects the service call (after its
 * store write), as documented on `MFAOptions.onEvent`.
 * @module
 * @internal
 */
import type { MFAEvent } from './events.ts';

/** Receives the rejection of a promise returned by `onEvent`, with the event. */
export type EventErrorHandler = (error: unknown, event: MFAEvent) => void;

function reportDefault(error: unknown, event: MFAEvent): void {
  console.error(`totpkit: onEvent rejected for a "${event.type}" event:`, error);
}

/**
 * Calls `onEvent` with the frozen event; a rejection of the promise it
 * returns goes to `onEventError` (or `console.error`).
 */
export function deliverEvent(
  onEvent: ((event: MFAEvent) => unknown) | undefined,
  onEventError: EventErrorHandler | undefined,
  event: MFAEvent,
): void {
  if (onEvent === undefined) return;
  const frozen = Object.freeze(event);
  const returned: unknown = onEvent(frozen);
  if (returned === null || typeof returned !== 'object' || !('then' in returned)) return;
  const then = (returned as PromiseLike<unknown>).then;
  if (typeof then !== 'function') return;
  const report = onEventError ?? reportDefault;
  then.call(returned, undefined, (error: unknown) => {
    try {
      report(error, frozen);
    } catch (failure) {
      // onEventError itself failed: the last place left to say so.
      reportDefault(failure, frozen);
    }
  });
}
