/**
 * The request context an app passes to a service call (`options.context`):
 * checked once at the entry point, copied and deep-frozen, then handed to
 * every event the call emits as `event.context`. The library never reads it
 * and never passes it to the store: it is the app's audit data (an IP, a user
 * agent, a request id, an actor), not an input to any decision.
 *
 * The bounds keep one call's events small and their cost predictable: at
 * most 8 levels of nested objects and arrays, and at most 4096 bytes of
 * UTF-8 JSON.
 * @module
 */
import { describe } from '../_assert.ts';

/**
 * A JSON-safe value: plain objects, arrays, strings, finite numbers,
 * booleans and `null`, nested at most 8 levels deep, at most 4096 bytes as
 * UTF-8 JSON. Passed as `options.context` to any service method, it reaches
 * every event of that call as `event.context` (a deep-frozen copy).
 */
export type RequestContext =
  | null
  | boolean
  | number
  | string
  | readonly RequestContext[]
  | { readonly [key: string]: RequestContext };

/** The most levels of nested objects and arrays a context may have. */
export const MAX_CONTEXT_DEPTH = 8;
/** The most bytes a context's JSON may take as UTF-8. */
export const MAX_CONTEXT_BYTES = 4096;

const FIELD = 'options.context';
const RULE = 'JSON-safe data (plain objects, arrays, strings, finite numbers, booleans, null)';

function notJSON(path: string, value: unknown, what = describe(value)): TypeError {
  return new TypeError(`"${FIELD}" must be ${RULE}, got ${what} at ${path}`);
}

/** Whether `value` is an object whose prototype is `Object.prototype` or `null`. */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A frozen copy of `value`, checked. `ancestors` holds the containers above
 * (a cycle is refused as such rather than as too deep).
 */
function copy(value: unknown, path: string, depth: number, ancestors: object[]): RequestContext {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJSON(path, value);
    return value;
  }
  if (typeof value !== 'object') throw notJSON(path, value);
  if (ancestors.includes(value)) throw notJSON(path, value, 'a circular reference');
  if (depth >= MAX_CONTEXT_DEPTH) {
    throw new RangeError(
      `"${FIELD}" must nest objects and arrays at most ${MAX_CONTEXT_DEPTH} levels deep; ${path} is deeper`,
    );
  }
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    const items: RequestContext[] = [];
    for (let i = 0; i < value.length; i++) {
      const descriptor = Object.getOwnPropertyDescriptor(value, i);
      if (descriptor === undefined) throw notJSON(`${path}[${i}]`, value, 'an array with a hole');
      if (!('value' in descriptor)) throw notJSON(`${path}[${i}]`, value, 'a getter');
      items.push(copy(descriptor.value, `${path}[${i}]`, depth + 1, inner));
    }
    return Object.freeze(items);
  }
  if (!isPlainObject(value)) throw notJSON(path, value, 'an instance of a class');
  if (Object.getOwnPropertySymbols(value).length > 0) {
    throw notJSON(path, value, 'a symbol key');
  }
  const result: Record<string, RequestContext> = {};
  for (const [key, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(value))) {
    if (!descriptor.enumerable) continue; // as JSON.stringify: only own enumerable keys
    const at = `${path}.${key}`;
    if (!('value' in descriptor)) throw notJSON(at, value, 'a getter');
    // defineProperty, not assignment: a key "__proto__" stays a plain key.
    Object.defineProperty(result, key, {
      value: copy(descriptor.value, at, depth + 1, inner),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return Object.freeze(result);
}

/** UTF-8 length of `text` without allocating the bytes. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Checks a call's `options.context` and returns a deep-frozen copy, or
 * `undefined` when none was given (internal).
 *
 * @param value - what the caller passed as `options.context`
 * @returns the frozen copy, or `undefined`
 * @throws TypeError naming `options.context` (and the path inside it) for a
 *   value that is not JSON-safe data: a function, `undefined` inside it, a
 *   non-finite number, a bigint, a symbol, a class instance (a `Date`, a
 *   `Map`), a getter, an array hole, a cycle; RangeError for more than 8
 *   levels of nesting or more than 4096 bytes of UTF-8 JSON
 * @internal
 */
export function checkRequestContext(value: unknown): RequestContext | undefined {
  if (value === undefined) return undefined;
  const frozen = copy(value, FIELD, 0, []);
  // JSON.stringify of checked data cannot throw, and escapes lone surrogates.
  const bytes = utf8Length(JSON.stringify(frozen));
  if (bytes > MAX_CONTEXT_BYTES) {
    throw new RangeError(
      `"${FIELD}" must be at most ${MAX_CONTEXT_BYTES} bytes as UTF-8 JSON, got ${bytes}`,
    );
  }
  return frozen;
}
