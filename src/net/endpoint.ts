import { isIPv4, isIPv6 } from 'node:net';

/** "host:port", bracketing IPv6 literals. */
export function formatEndpoint(address: string, port: number): string {
  // Only an IPv6 literal has a colon: the check skips isIPv6's long regex for IPv4.
  return address.includes(':') && isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The address and port of "a.b.c.d:port" or "[v6]:port" (formatEndpoint's forms); undefined for anything else. */
export function parseEndpoint(text: string): { address: string; port: number } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(text.slice(colon + 1));
  let address = text.slice(0, colon);
  if (address.startsWith('[') && address.endsWith(']')) {
    address = address.slice(1, -1);
    if (!isIPv6(address)) return undefined;
  } else if (!isIPv4(address)) return undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535 || text.slice(colon + 1) === '') {
    return undefined;
  }
  return { address, port };
}
