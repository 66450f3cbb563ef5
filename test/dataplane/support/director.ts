/**
 * Runs inside a director namespace (started with nsenter): opens the
 * instance's data plane (taking over pinned maps and links if present),
 * applies services, prints its state as JSON and exits. Forwarding continues
 * through the pinned link after this process is gone.
 */
import type { RealSpec, ServiceSpec } from '../../../src/dataplane/dataplane.js';
import { type TunnelOptions, XdpDataPlane } from '../../../src/dataplane/xdp/xdp-dataplane.js';

export interface DirectorRequest {
  readonly instance: string;
  readonly interfaces: readonly string[];
  readonly services: readonly { service: ServiceSpec; reals: readonly RealSpec[] }[];
  readonly tunnel?: TunnelOptions;
}

const request = JSON.parse(process.argv[2] ?? '{}') as DirectorRequest;
const plane = await XdpDataPlane.open({
  instance: request.instance,
  interfaces: request.interfaces,
  attachMode: 'native',
  maxServices: 4,
  maxReals: 16,
  connections: 4096,
  persistenceEntries: 1024,
  ...(request.tunnel === undefined ? {} : { tunnel: request.tunnel }),
});
const recovered = plane.services().length;
for (const { service, reals } of request.services) await plane.setService(service, reals);
process.stdout.write(
  `${JSON.stringify({
    modes: plane.linkModes(),
    recovered,
    counters: await plane.counters(),
  })}\n`,
);
await plane.close();
