import { closeSync, openSync } from 'node:fs';
import { native } from '../native/addon.js';

/**
 * Runs `fn` with the JS thread inside a named network namespace, then moves
 * back. Sockets opened by `fn` (netlink, raw) stay in that namespace for
 * their whole life; child processes spawned meanwhile start there.
 */
export async function withinNamespace<T>(namespace: string, fn: () => Promise<T> | T): Promise<T> {
  const home = openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(`/var/run/netns/${namespace}`, 'r');
  try {
    native().setNetworkNamespace(target);
    try {
      return await fn();
    } finally {
      native().setNetworkNamespace(home);
    }
  } finally {
    closeSync(target);
    closeSync(home);
  }
}
