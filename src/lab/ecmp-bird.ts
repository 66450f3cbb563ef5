/**
 * BIRD 2 configurations of the ECMP lab: the upstream router peers with
 * every director and installs the VIP as one multipath route (ECMP); each
 * director's BIRD learns the VIPs lbctl places in its announcement table and
 * announces them to the router. Timers are short so a dead director's routes
 * go within seconds even when its BGP session does not close cleanly.
 */

export const ROUTER_AS = 65000;
export const DIRECTOR_AS = 65001;
/** The routing table lbctl writes its VIP routes to in the lab (lbctl_bgp_table). */
export const LAB_BGP_TABLE = 100;
/** BGP hold time in the lab (seconds); keepalives every third of it. */
const HOLD_S = 3;

export function routerBirdConfig(routerId: string, directors: readonly string[]): string {
  const peers = directors
    .map(
      (address, i) =>
        `protocol bgp director${i + 1} from directors { neighbor ${address} as ${DIRECTOR_AS}; }`,
    )
    .join('\n');
  return `# lbctl lab: upstream router
log stderr all;
router id ${routerId};
protocol device {}
# ECMP: equal BGP paths from several directors become one multipath kernel route.
protocol kernel { ipv4 { import none; export all; }; merge paths on limit 16; }
template bgp directors {
  local as ${ROUTER_AS};
  hold time ${HOLD_S};
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export none; };
}
${peers}
`;
}

export function directorBirdConfig(address: string, router: string): string {
  return `# lbctl lab: director ${address}
log stderr all;
router id ${address};
protocol device {}
# The VIPs lbctl announces: routes it writes into table ${LAB_BGP_TABLE} (learnt, never exported back).
protocol kernel lbctl_vips { kernel table ${LAB_BGP_TABLE}; learn; ipv4 { import all; export none; }; }
protocol bgp upstream {
  local ${address} as ${DIRECTOR_AS};
  neighbor ${router} as ${ROUTER_AS};
  hold time ${HOLD_S};
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import none; export where proto = "lbctl_vips"; next hop self; };
}
`;
}
