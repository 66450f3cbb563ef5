import { LAB_BGP_TABLE } from './ecmp-bird.js';
import type { LabAddresses, LabOptions } from './lab-spec.js';

/** Each real on port 80 with weight 1 and a TCP check every second. */
function realServers(a: LabAddresses): string {
  return a.reals
    .map(
      (address) => `    real_server ${address} 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }`,
    )
    .join('\n');
}

/** The classic tutorial's service: rr over the reals in DR mode, a TCP check each, sorry server on the director. */
export function defaultVirtualServers(a: LabAddresses): string {
  const reals = realServers(a);
  return `virtual_server ${a.vip} 80 {
    delay_loop 1
    lvs_sched rr
    lvs_method DR
    protocol TCP
    sorry_server 127.0.0.1 80
${reals}
}`;
}

/**
 * The ECMP lab's service: Maglev hashing of the client's address and port (mh, mh-port) in DR
 * mode, so every director sends a flow to the same real; a TCP check per real.
 */
export function ecmpVirtualServers(a: LabAddresses): string {
  const reals = realServers(a);
  return `virtual_server ${a.vip} 80 {
    delay_loop 1
    lvs_sched mh
    mh-port
    lvs_method DR
    protocol TCP
${reals}
}`;
}

/** The keepalived.conf one director runs with `lbctl up`. */
export function directorConfig(
  options: LabOptions,
  addresses: LabAddresses,
  index: number,
  instance: string,
): string {
  const vrrp = options.vrrp
    ? `
vrrp_instance VI_1 {
    state ${index === 0 ? 'MASTER' : 'BACKUP'}
    interface eth0
    virtual_router_id 77
    priority ${index === 0 ? 150 : 100}
    advert_int 1
    virtual_ipaddress {
        ${addresses.vip}/32 dev eth0
    }
}
`
    : '';
  const services = (
    options.virtualServers ?? (options.ecmp ? ecmpVirtualServers : defaultVirtualServers)
  )(addresses);
  const extra = options.directorExtraConfig?.(addresses, index) ?? '';
  const bgp = options.ecmp ? `\n    lbctl_bgp_table ${LAB_BGP_TABLE}` : '';
  return `! lbctl lab: director${index + 1}
global_defs {
    router_id director${index + 1}
    lbctl_instance_name ${instance}
    lbctl_data_plane ${options.directorDataPlanes?.[index] ?? options.dataPlane ?? 'xdp'}
    lbctl_xdp_mode native
    lbctl_metrics_listen 127.0.0.1:9477${bgp}${
      options.connectionTableSize !== undefined
        ? `\n    lbctl_connection_table_size ${options.connectionTableSize}`
        : ''
    }${options.connectionSync === true && options.vrrp ? '\n    lvs_sync_daemon eth0 VI_1' : ''}
}
${vrrp}
${services}
${extra}`;
}
