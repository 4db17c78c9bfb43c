// CLUSTER KEYSLOT computed locally, as the Redis Cluster specification
// defines it: CRC16 (the XMODEM variant: polynomial 0x1021, initial value 0,
// no reflection) of the key's hash tag, or of the whole key, modulo 16384.
// The hash tag is what lies between the first `{` and the first `}` after
// it, if that is not empty.

/** CRC16/XMODEM of `bytes`. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The bytes Redis hashes for `key` (its UTF-8 bytes, or its hash tag's). */
export function hashedPart(key: string): Uint8Array {
  const bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b); // {
  if (open === -1) return bytes;
  const close = bytes.indexOf(0x7d, open + 1); // }
  if (close === -1 || close === open + 1) return bytes;
  return bytes.subarray(open + 1, close);
}

/** The cluster slot of `key`, 0 to 16383. */
export function keySlot(key: string): number {
  return crc16(hashedPart(key)) & 16383;
}
