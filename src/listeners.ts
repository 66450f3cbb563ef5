/**
 * Calls every listener with `args`. One that throws is handed to `failed`
 * (to log) and the others still run: a follower's failure must not disturb
 * what it follows.
 */
export function callEach<A extends readonly unknown[]>(
  listeners: Iterable<(...args: A) => void>,
  args: A,
  failed: (err: unknown) => void,
): void {
  for (const listener of listeners) {
    try {
      listener(...args);
    } catch (err) {
      failed(err);
    }
  }
}
