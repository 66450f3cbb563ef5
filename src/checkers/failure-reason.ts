/** Human wording for the socket errors a check commonly meets. */
const REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EHOSTDOWN: 'host down',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed while sending',
  EADDRNOTAVAIL: 'source address not available',
  EADDRINUSE: 'source port already in use',
  ENOTFOUND: 'name not found',
  EACCES: 'permission denied',
};

/** Turns whatever a check threw into a short reason for logs and events. */
export function failureReason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) {
      const known = REASONS[code];
      if (known !== undefined) return known;
      return `${code}: ${err.message}`;
    }
    return err.message;
  }
  return String(err);
}
