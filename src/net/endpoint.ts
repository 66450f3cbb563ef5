import { isIPv6 } from 'node:net';

/** "host:port", bracketing IPv6 literals. */
export function formatEndpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}
