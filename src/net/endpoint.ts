import { isIPv6 } from 'node:net';

/** "host:port", bracketing IPv6 literals. */
export function formatEndpoint(address: string, port: number): string {
  // Only an IPv6 literal has a colon: the check skips isIPv6's long regex for IPv4.
  return address.includes(':') && isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}
