import { statSync } from 'node:fs';

/** A network namespace as the kernel identifies it: its inode on nsfs (and nsfs's device). */
export interface NetworkNamespaceId {
  readonly inode: bigint;
  readonly device: bigint;
}

/**
 * The network namespace the calling thread lives in. Two daemons in
 * different namespaces get different identities; one namespace keeps its
 * identity for its whole life. Read per thread, since a thread may have
 * entered another namespace (withinNamespace).
 */
export function currentNetworkNamespace(): NetworkNamespaceId {
  const stats = statSync('/proc/thread-self/ns/net', { bigint: true });
  return { inode: stats.ino, device: stats.dev };
}

/** As /proc/PID/ns/net names it: `net:[4026531840]`. */
export function namespaceName(id: NetworkNamespaceId): string {
  return `net:[${id.inode}]`;
}

export function sameNamespace(a: NetworkNamespaceId, b: NetworkNamespaceId): boolean {
  return a.inode === b.inode && a.device === b.device;
}
