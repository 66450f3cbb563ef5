/**
 * What connection sync needs from a data plane that keeps its own connection
 * table (XDP): the flows it opened or changed, to send to peers, and a way to
 * store flows a peer sent. Addresses are canonical text, as in the rest of
 * the control plane; ids and table layout stay inside the data plane.
 */
import type { Forwarding, Protocol } from './dataplane.js';

export interface SyncedFlow {
  readonly protocol: Protocol;
  readonly family: 'ipv4' | 'ipv6';
  readonly client: string;
  readonly clientPort: number;
  readonly vip: string;
  readonly vport: number;
  readonly real: string;
  readonly realPort: number;
  readonly forwarding: Forwarding;
  /** TCP: the handshake is over. */
  readonly established: boolean;
  /** TCP: FIN or RST seen. */
  readonly closing: boolean;
  /** The flow's timeout in seconds (0 on learn: the data plane's own). */
  readonly timeoutS: number;
}

/** What storing a learnt flow did. */
export const LEARN_OUTCOMES = [
  'stored', // updated its own entry or reused a stale one
  'filled', // took an entry never used before
  'evicted', // replaced another live flow (the table is full around it)
  'noService', // no such virtual service here
  'noReal', // the service has no such real here
  'invalid', // a family or protocol the table does not hold
] as const;
export type LearnOutcome = (typeof LEARN_OUTCOMES)[number];
export type LearnCounts = Record<LearnOutcome, number>;

export const noLearnCounts = (): LearnCounts =>
  Object.fromEntries(LEARN_OUTCOMES.map((o) => [o, 0])) as LearnCounts;

export interface ConnectionSyncPort {
  /** Flows opened or changed since the last call, oldest first, at most `max`. */
  takeReports(max: number): SyncedFlow[];
  /** Stores learnt flows (the table's own insert rule decides where). */
  learn(flows: readonly SyncedFlow[]): Promise<LearnCounts>;
  /** Reports lost because the data plane's report buffer was full. */
  lostReports(): Promise<number>;
  close(): void;
}
