import { LbctlError } from '../errors.js';

const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** "02:00:5e:00:01:0a" → 6 bytes. */
export function macToBytes(mac: string): Buffer {
  if (!MAC_PATTERN.test(mac)) {
    throw new LbctlError(
      'INVALID_MAC',
      `Cannot use MAC address '${mac}': expected xx:xx:xx:xx:xx:xx`,
    );
  }
  return Buffer.from(mac.split(':').map((octet) => Number.parseInt(octet, 16)));
}

/** 6 bytes → "02:00:5e:00:01:0a". */
export function macToString(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
