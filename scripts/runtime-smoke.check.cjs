// CommonJS apps load the ESM-only package with require() on Node ≥ 20.19.
const { generateTOTP } = require('totpkit');
const code = generateTOTP(new TextEncoder().encode('12345678901234567890'), {
  now: 59_000,
  digits: 8,
});
if (code !== '94287082') throw new Error(`require('totpkit'): expected 94287082, got ${code}`);
console.log(`ok node ${process.versions.node} require(): 1 check`);
