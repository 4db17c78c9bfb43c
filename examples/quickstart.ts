// The primitives end to end: a new secret, its key URI, the two-consecutive-code
// binding check, a login check and a replayed code. Run with `npm run quickstart`.
import {
  buildKeyURI,
  createTOTPKey,
  encodeBase32,
  generateSecret,
  verifyConsecutiveTOTP,
} from 'totpkit';

const secret = generateSecret();
const uri = buildKeyURI({ secret, issuer: 'Acme', accountName: 'alice@example.com' });
console.log('secret (base32):', encodeBase32(secret));
console.log('key URI        :', uri);

// The authenticator app would show these; here the library computes them.
const key = createTOTPKey(secret);
const now = Date.now();
const previous = key.generate(now - 30_000);
const current = key.generate(now);

const binding = verifyConsecutiveTOTP(secret, [previous, current], { now });
console.log('bind with two consecutive codes:', binding);
if (!binding.ok) process.exit(1);

// The binding's second step is now the last used step: the same code is a replay.
const replay = key.verify(current, { now, afterStep: binding.step });
console.log('the second binding code again  :', replay);

const later = now + 30_000;
const login = key.verify(key.generate(later), { now: later, afterStep: binding.step });
console.log('login with the next code       :', login);
if (replay.ok || !login.ok) process.exit(1);
