import type { NextHop } from '../dataplane/dataplane.js';

/** Finds how the data plane reaches a real on the link: egress interface and MAC. */
export interface NextHopResolver {
  /** Rejects with a reason when the address cannot be reached right now. */
  resolve(address: string): Promise<NextHop>;
  /** Drops what is known about `address`, so the next resolve asks again. */
  forget(address: string): void;
}
