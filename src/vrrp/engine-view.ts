import type { VrrpCounters } from './counters.js';
import type { DispatchCounters, VrrpEngine } from './engine.js';
import type { ResolvedInstanceOptions } from './options.js';
import type { VrrpState } from './state.js';

/** What metrics, status and the runtime dumps read of one VRRP instance. */
export interface VrrpInstanceView {
  readonly name: string;
  readonly state: VrrpState;
  /** Base priority adjusted by trackers (what adverts carry). */
  readonly priority: number;
  readonly masterAddress: string | undefined;
  readonly options: Pick<
    ResolvedInstanceOptions,
    | 'interface'
    | 'virtualRouterId'
    | 'version'
    | 'priority'
    | 'advertIntMs'
    | 'nopreempt'
    | 'preemptDelayMs'
    | 'unicastPeers'
    | 'vips'
    | 'excludedVips'
  >;
  readonly counters: Readonly<VrrpCounters>;
}

/**
 * What the rest of the daemon reads of the VRRP engine. The engine itself
 * fits it; `copyEngineView` makes a plain copy that can cross to another
 * thread (the engine runs on a thread of its own in `lbctl up`).
 */
export interface VrrpEngineView {
  readonly instances: readonly VrrpInstanceView[];
  readonly dispatch: Readonly<DispatchCounters>;
}

export function copyEngineView(engine: VrrpEngine): VrrpEngineView {
  return {
    instances: engine.instances.map((i) => {
      const o = i.options;
      return {
        name: i.name,
        state: i.state,
        priority: i.priority,
        masterAddress: i.masterAddress,
        options: {
          interface: o.interface,
          virtualRouterId: o.virtualRouterId,
          version: o.version,
          priority: o.priority,
          advertIntMs: o.advertIntMs,
          nopreempt: o.nopreempt,
          preemptDelayMs: o.preemptDelayMs,
          unicastPeers: o.unicastPeers,
          vips: o.vips,
          excludedVips: o.excludedVips,
        },
        counters: {
          ...i.counters,
          dropped: { ...i.counters.dropped },
          transitions: new Map(i.counters.transitions),
        },
      };
    }),
    dispatch: { ...engine.dispatch },
  };
}
