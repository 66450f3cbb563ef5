/**
 * What a data plane found when it checked that what it installed is still
 * there (XDP links attached to their interfaces, running its program, pins
 * in place): what it put back, and what it could not.
 */
export interface SupervisionReport {
  /** The interfaces the data plane forwards on. */
  readonly interfaces: readonly string[];
  /** One line per thing someone else removed or replaced and that was put back. */
  readonly restored: readonly string[];
  /** Things found removed that could not be put back but do not stop forwarding now (a map's pin). */
  readonly unrestored?: readonly string[];
  /** Interfaces the data plane cannot serve now, with the reason. */
  readonly broken: readonly { readonly interface: string; readonly reason: string }[];
}

/** A data plane that can check (and repair) its own installation. */
export interface Supervised {
  supervise(): SupervisionReport;
}

export function isSupervised(plane: unknown): plane is Supervised {
  return typeof (plane as Partial<Supervised> | undefined)?.supervise === 'function';
}
