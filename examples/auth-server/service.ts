// The example's totpkit service, as server.ts, support.ts and the tests make
// it: secrets sealed with AES-256-GCM, verification codes handed to the
// mailer (mail.ts), and every audit event written to the log with the
// context of the request (or the support script) that caused it.
import { hkdfSync } from 'node:crypto';
import {
  createAESGCMCipher,
  createMFA,
  type MFA,
  type MFAEvent,
  type MFAOptions,
  type MFAPolicyOptions,
  type VerificationMessage,
} from 'totpkit';

export interface DemoMFAOptions {
  store: MFAOptions['store'];
  /** The 32-byte key that seals TOTP secrets (MFA_ENCRYPTION_KEY); codes' HMAC key is derived from it. */
  key: Uint8Array;
  /** Where verification codes go (mail.ts); without one, no code can be sent (support.ts). */
  sender?: (message: VerificationMessage) => Promise<void>;
  totp?: MFAOptions['totp'];
  policy?: MFAPolicyOptions;
  clock?: () => number;
  /** Where event lines go. */
  log: (line: string) => void;
}

/**
 * One line per audit event: its type, the user, for an admin reset its actor
 * and reason, and the context the call was
 * given (`{ ip, userAgent, requestId }` from a request, `{ actor, … }` from
 * support.ts), as JSON, so that a user agent cannot break the line. Events
 * carry no secret or code (masked addresses only), and neither does this.
 */
export function eventLine(event: MFAEvent): string {
  const { context, actor, reason } = event as {
    context?: unknown;
    actor?: unknown;
    reason?: unknown;
  };
  // An admin reset says who did it and why (support.ts).
  const attributed =
    actor === undefined ? '' : ` actor=${JSON.stringify(actor)} reason=${JSON.stringify(reason)}`;
  const from = context === undefined ? '' : ` context=${JSON.stringify(context)}`;
  return `mfa event ${event.type} user=${event.userId}${attributed}${from}`;
}

/**
 * The HMAC key of verification codes, derived from the sealing key (HKDF,
 * its own label), so that one secret setting serves both and codes survive a
 * restart. In production both come from a secret manager.
 */
export function verificationKey(key: Uint8Array): Uint8Array {
  return new Uint8Array(
    hkdfSync('sha256', key, new Uint8Array(0), 'totpkit demo verification codes', 32),
  );
}

export function createDemoMFA(options: DemoMFAOptions): MFA {
  const cipher = createAESGCMCipher({ keys: { demo1: options.key }, primaryKeyId: 'demo1' });
  return createMFA({
    store: options.store,
    issuer: 'totpkit demo',
    cipher,
    ...(options.totp === undefined ? {} : { totp: options.totp }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.sender === undefined
      ? {}
      : { verification: { sender: options.sender, key: verificationKey(options.key) } }),
    // A real app sends these to its audit log.
    onEvent: (event) => options.log(eventLine(event)),
  });
}
