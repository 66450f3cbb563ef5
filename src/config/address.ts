import { ipFamily } from '../net/address.js';
import type { AddressFamily } from './model.js';

/** Family of a literal address, or undefined when `text` is not one. */
export function familyOf(text: string): AddressFamily | undefined {
  const kind = ipFamily(text);
  return kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : undefined;
}

/** Splits `addr[/len]`; the prefix length defaults to the full address width. */
export function splitPrefix(text: string): {
  address: string;
  prefixLength: number;
  family: AddressFamily;
} {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = familyOf(address) ?? 'ipv4';
  const full = family === 'ipv4' ? 32 : 128;
  const prefixLength = slash < 0 ? full : Number(text.slice(slash + 1));
  return { address, prefixLength, family };
}
