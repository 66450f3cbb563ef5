import type { CheckerConfig, CheckTimingOptions } from '../checkers/options.js';
import type { RunAs } from '../checkers/system-user.js';
import type { Forwarding } from '../dataplane/dataplane.js';

/** A notify/quorum script: a command line and optionally who runs it. */
export interface ScriptOptions {
  readonly command: string;
  readonly user?: RunAs;
}

export interface RealServerOptions extends CheckTimingOptions {
  readonly address: string;
  readonly port: number;
  /** Default DEFAULT_REAL_WEIGHT. */
  readonly weight?: number;
  /** Carried through to the desired state, so the data plane gets it from the configuration. */
  readonly forwarding: Forwarding;
  /** Overrides the virtual server's inhibit_on_failure. */
  readonly inhibitOnFailure?: boolean;
  readonly notifyUp?: ScriptOptions;
  readonly notifyDown?: ScriptOptions;
  /** A real without checkers is always considered alive. */
  readonly checkers: readonly CheckerConfig[];
}

export interface SorryServerOptions {
  readonly address: string;
  readonly port: number;
  readonly forwarding: Forwarding;
  /** sorry_server_inhibit: keep the sorry server at weight 0 while quorum holds. */
  readonly inhibit?: boolean;
}

/** The health part of one virtual_server block, with keepalived's names. */
export interface VirtualServerHealthOptions extends CheckTimingOptions {
  /** How logs and scripts name the service, e.g. "10.0.0.3:80". */
  readonly name: string;
  /** Minimum total weight of live reals; default 1. */
  readonly quorum?: number;
  /** Flap dampener around quorum; default 0. */
  readonly hysteresis?: number;
  readonly quorumUp?: ScriptOptions;
  readonly quorumDown?: ScriptOptions;
  readonly sorryServer?: SorryServerOptions;
  /** Keep failed reals with weight 0 instead of removing them. */
  readonly inhibitOnFailure?: boolean;
  /** On shutdown run quorum_down and notify_down as if everything went down. */
  readonly omega?: boolean;
  /** Suspend checks while the owning VRRP instance is not MASTER. */
  readonly haSuspend?: boolean;
  readonly reals: readonly RealServerOptions[];
}
