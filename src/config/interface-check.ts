import type { Config } from './model.js';
import type { PathIssue } from './semantic-checks.js';

/**
 * Interfaces the configuration names that do not exist on this host: the
 * instance `interface`, `trackInterfaces` of instances and sync groups, and
 * the `dev` of virtual addresses and routes. Interfaces belong to the host,
 * not the file, so `validate` does not check them; `lbctl up` does, before
 * anything starts (lbctl does not support keepalived's `dynamic_interfaces`).
 * Paths use the document's keys, so the loader can point at the source.
 */
export function checkInterfaces(
  config: Config,
  existingInterfaceNames: Iterable<string>,
): PathIssue[] {
  const existing = new Set(existingInterfaceNames);
  const problems: PathIssue[] = [];
  const need = (name: string | undefined, path: (string | number)[], usedBy: string) => {
    if (name !== undefined && !existing.has(name)) {
      problems.push({
        path,
        message: `interface '${name}' does not exist on this host (${usedBy})`,
      });
    }
  };

  config.vrrpInstances.forEach((inst, i) => {
    const of = `vrrp instance '${inst.name}'`;
    need(inst.interface, ['vrrpInstances', i, 'interface'], `interface of ${of}`);
    inst.trackInterfaces.forEach((t, j) => {
      need(t.name, ['vrrpInstances', i, 'trackInterfaces', j, 'name'], `tracked by ${of}`);
    });
    for (const key of ['virtualIpAddresses', 'excludedVirtualIpAddresses'] as const) {
      inst[key].forEach((vip, j) => {
        need(vip.dev, ['vrrpInstances', i, key, j, 'dev'], `dev of ${vip.address} in ${of}`);
      });
    }
    inst.virtualRoutes.forEach((route, j) => {
      need(
        route.dev,
        ['vrrpInstances', i, 'virtualRoutes', j, 'dev'],
        `dev of route ${route.destination} in ${of}`,
      );
    });
  });
  need(
    config.global.connectionSync?.interface,
    ['global', 'connectionSync', 'interface'],
    'connection sync',
  );
  config.vrrpSyncGroups.forEach((group, i) => {
    group.trackInterfaces.forEach((t, j) => {
      need(
        t.name,
        ['vrrpSyncGroups', i, 'trackInterfaces', j, 'name'],
        `tracked by sync group '${group.name}'`,
      );
    });
  });
  return problems;
}
