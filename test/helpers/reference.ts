/**
 * Test-only references: the RFC vector files, and a deliberately plain HOTP
 * (RFC 4226 §5.3) over node:crypto, independent of the library's noble-based
 * core, used as an oracle in property tests.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Digits, HashAlgorithm } from '../../src/index.ts';

/** RFC 4226 Appendix D, as stored in test/vectors/rfc4226.json. */
export interface RFC4226Vectors {
  secretHex: string;
  vectors: { counter: number; hmacHex: string; truncated: number; hotp: string }[];
}

/** RFC 6238 Appendix B, as stored in test/vectors/rfc6238.json. */
export interface RFC6238Vectors {
  timeStep: number;
  t0: number;
  digits: 8;
  seedsHex: Record<HashAlgorithm, string>;
  vectors: { time: number; tHex: string; mode: HashAlgorithm; totp: string }[];
}

function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T;
}

export const rfc4226 = readVectors<RFC4226Vectors>('rfc4226.json');
export const rfc6238 = readVectors<RFC6238Vectors>('rfc6238.json');

/** Hex → bytes. */
export const fromHex = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** Bytes → lowercase hex. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** ASCII/UTF-8 text → bytes. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The 8-byte big-endian counter an HOTP hashes. */
export function counterBytes(counter: number | bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(counter));
  return bytes;
}

/** RFC 4226 §5.3 dynamic truncation of an HMAC value to 31 bits. */
export function dynamicTruncation(mac: Uint8Array): number {
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  return new DataView(mac.buffer, mac.byteOffset).getUint32(offset) & 0x7fffffff;
}

/** HOTP(secret, counter) computed with node:crypto's HMAC. */
export function referenceHOTP(
  secret: Uint8Array,
  counter: number | bigint,
  algorithm: HashAlgorithm = 'SHA1',
  digits: Digits = 6,
): string {
  const mac = createHmac(algorithm.toLowerCase(), secret).update(counterBytes(counter)).digest();
  return String(dynamicTruncation(mac) % 10 ** digits).padStart(digits, '0');
}
