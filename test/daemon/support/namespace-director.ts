import { parseConfigText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/model.js';
import { MemoryHostNetwork } from '../../../src/netlink/testing/memory-host-network.js';
import { runIn } from '../../../src/netns/exec.js';
import { createNamespace, createVethPair } from '../../../src/netns/netns.js';

export interface NamespaceDirector {
  readonly config: Config;
  /** What the virtual servers see of the host: v0 with the same address, the real answering ARP. */
  readonly host: MemoryHostNetwork;
  /** Whether v0 in the namespace holds the VIP now. */
  readonly vipHeld: () => Promise<boolean>;
}

/**
 * A director whose VRRP runs for real in namespace `ns` (v0 at `<subnet>.1/24`,
 * its veth peer v1) while its virtual servers run on an in-memory host: one
 * VRRP instance VI_1 with `vrrpSettings` (state, priority, advert_int...)
 * holding `<subnet>.100`, and one DR virtual server on it with real
 * `<subnet>.11`. The daemon tests watch what VRRP does to the host around
 * the data plane's start and stop.
 */
export async function namespaceDirector(
  ns: string,
  subnet: string,
  options: { vrid: number; vrrpSettings: string; virtualServerSettings?: string },
): Promise<NamespaceDirector> {
  const vip = `${subnet}.100`;
  await createNamespace(ns);
  await createVethPair(
    { namespace: ns, name: 'v0', address: `${subnet}.1/24` },
    { namespace: ns, name: 'v1' },
  );
  const { config } = parseConfigText(
    `global_defs {\n  lbctl_instance_name ${ns}\n}\n` +
      `vrrp_instance VI_1 {\n  interface v0\n  virtual_router_id ${options.vrid}\n` +
      `${options.vrrpSettings}  virtual_ipaddress {\n    ${vip}/24\n  }\n}\n` +
      `virtual_server ${vip} 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n` +
      `${options.virtualServerSettings ?? ''}` +
      `  real_server ${subnet}.11 80 {\n    weight 1\n  }\n}\n`,
    'keepalived.conf',
  );
  const host = new MemoryHostNetwork();
  host.addLink('v0', '02:00:00:00:00:01');
  host.addAddress('v0', `${subnet}.1/24`);
  host.answering.set(`${subnet}.11`, '02:00:00:00:00:11');
  const vipHeld = async () => {
    const { stdout } = await runIn(ns, 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'v0']);
    return stdout.includes(` ${vip}/`);
  };
  return { config, host, vipHeld };
}
