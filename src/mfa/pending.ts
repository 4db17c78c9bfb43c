/**
 * Showing a pending enrollment again (internal): after a reload or a
 * mistyped code, the same QR code and key, instead of a new secret. Reads
 * only; the URI is built exactly as `beginEnrollment` built it.
 * @module
 * @internal
 */
import { checkOptions } from '../_assert.ts';
import { encodeBase32 } from '../base32.ts';
import { buildKeyURI } from '../uri-build.ts';
import type { PendingEnrollmentInfo, PendingEnrollmentOptions } from './account-types.ts';
import type { MFAContext } from './context.ts';
import { checkUserId, paramsOf, withHidden } from './input.ts';

/** See {@link MFA.pendingEnrollment}. */
export async function pendingEnrollment(
  ctx: MFAContext,
  userId: string,
  options: PendingEnrollmentOptions,
): Promise<PendingEnrollmentInfo | null> {
  checkUserId(userId);
  const { accountName } = checkOptions(options);
  // Checked as beginEnrollment checks it (the same errors), before any I/O.
  const name = accountName as string;
  buildKeyURI({ secret: new Uint8Array(20), accountName: name, issuer: ctx.issuer, ...ctx.params });
  const now = ctx.now();
  const pending = (await ctx.store.getUser(userId, now))?.pending ?? null;
  if (pending === null || pending.expiresAt <= now) return null;
  const { uri, secret } = await ctx.withSecret(userId, pending.sealedSecret, (bytes) => ({
    uri: buildKeyURI({
      secret: bytes,
      accountName: name,
      issuer: ctx.issuer,
      ...paramsOf(pending),
    }),
    secret: encodeBase32(bytes),
  }));
  return withHidden({ factorId: pending.id, expiresAt: pending.expiresAt }, { secret, uri });
}
