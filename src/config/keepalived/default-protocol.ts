import type { MapContext, Obj } from './map-context.js';

const objects = (value: unknown): Obj[] => (Array.isArray(value) ? (value as Obj[]) : []);

/**
 * keepalived 2.2.7 gives a virtual server addressed by IP (directly, or
 * through a virtual_server_group with addresses) and without a `protocol`
 * line a UDP service, because IPVS takes protocol 0 as UDP; it says so and
 * carries on (check_data.c, validate_check_config). lbctl does the same, with
 * a warning at the virtual_server line. Firewall-mark services ignore the
 * protocol and keep the document's default.
 */
export function defaultMissingProtocol(ctx: MapContext, doc: Obj): void {
  const groupsWithAddresses = new Set(
    objects(doc.virtualServerGroups)
      .filter((g) => objects(g.entries).some((e) => e.fwmark === undefined))
      .map((g) => String(g.name)),
  );
  objects(doc.virtualServers).forEach((vs, i) => {
    if (vs.protocol !== undefined) return;
    const byAddress =
      vs.address !== undefined ||
      (vs.group !== undefined && groupsWithAddresses.has(String(vs.group)));
    if (!byAddress) return;
    vs.protocol = 'UDP';
    const at = ctx.openedBy(vs);
    if (at === undefined) return;
    ctx.locate(['virtualServers', i], 'protocol', at, 'virtual_server');
    ctx.issues.warn(
      at,
      "virtual_server has no 'protocol' line: it is a UDP service, as keepalived 2.2.7 makes it; add 'protocol TCP' for TCP",
    );
  });
}
