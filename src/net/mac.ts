import { LbctlError } from '../errors.js';

/** "02:00:5e:00:01:0a" → 6 bytes. */
export function macToBytes(mac: string): Buffer {
  const bytes = Buffer.alloc(6);
  if (!writeMac(mac, bytes, 0)) {
    throw new LbctlError(
      'INVALID_MAC',
      `Cannot use MAC address '${mac}': expected xx:xx:xx:xx:xx:xx`,
    );
  }
  return bytes;
}

/**
 * Writes the 6 bytes of "xx:xx:xx:xx:xx:xx" (hex digits of either case) at
 * `offset`; false when `mac` is not of that form (some bytes may then have
 * been written). No allocation: the data plane writes two per real.
 */
export function writeMac(mac: string, into: Uint8Array, offset: number): boolean {
  if (mac.length !== 17) return false;
  for (let i = 0; i < 6; i++) {
    if (i > 0 && mac.charCodeAt(3 * i - 1) !== 58) return false;
    const high = hexDigit(mac.charCodeAt(3 * i));
    const low = hexDigit(mac.charCodeAt(3 * i + 1));
    if (high < 0 || low < 0) return false;
    into[offset + i] = high * 16 + low;
  }
  return true;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** 6 bytes → "02:00:5e:00:01:0a". */
export function macToString(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
