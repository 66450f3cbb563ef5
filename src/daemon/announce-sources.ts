import type { Config } from '../config/model.js';
import type { AnnounceSources } from './bgp-service.js';
import type { InstanceStateSource } from './instance-state-source.js';
import type { VirtualServerService } from './virtual-server-service.js';

/**
 * What BGP announcement follows in `lbctl up`: the virtual servers' quorum
 * and data-plane state, and, when VRRP runs too, whether any of its
 * instances is in FAULT (a tracked interface or script failed: this
 * director should not attract traffic either).
 */
export function announceSources(
  virtualServers: Pick<
    VirtualServerService,
    'announceCandidates' | 'dataPlaneFailed' | 'onHealthChange'
  >,
  vrrp: InstanceStateSource | undefined,
  config: Pick<Config, 'vrrpInstances'>,
): AnnounceSources {
  return {
    candidates: () => virtualServers.announceCandidates(),
    condition: () => {
      const fault = config.vrrpInstances.find((i) => vrrp?.state(i.name) === 'FAULT');
      return {
        ...(fault !== undefined ? { vrrpFault: fault.name } : {}),
        dataPlaneFailed: virtualServers.dataPlaneFailed,
      };
    },
    onChange: (listener) => {
      const stops = [virtualServers.onHealthChange(listener)];
      if (vrrp !== undefined) stops.push(vrrp.onChange(() => listener()));
      return () => {
        for (const stop of stops) stop();
      };
    },
  };
}
