import type { TestRunResult } from '../../../src/bpf/index.js';
import type { RealSpec } from '../../../src/dataplane/dataplane.js';
import {
  XdpDataPlane,
  type XdpDataPlaneOptions,
} from '../../../src/dataplane/xdp/xdp-dataplane.js';
import { SkeletonLender } from './shared-skeleton.js';

/** The MAC of `lo`, the interface test runs arrive on: DR/NAT/TUN output uses it as source. */
export const LO_MAC = '00:00:00:00:00:00';
export const TUN_SRC4 = '198.18.0.1';
export const TUN_SRC6 = '2001:db8:ff::1';

/**
 * The table sizes of every test data plane unless a test sets its own: small
 * enough to reset between loans, with several sets in each table.
 */
export const TEST_TABLES = {
  maxServices: 8,
  maxReals: 64,
  connections: 4096,
  persistenceEntries: 1024,
} as const;

/** Registers cleanup: a TestContext, or node:test's suite-level `after`. */
export type Cleanup = { after(fn: () => unknown): void } | ((fn: () => unknown) => void);

/**
 * A data plane loaded but not attached or pinned, destroyed at cleanup. Its
 * program is verified once per process and setting and lent to each test in
 * turn, with every map reset (support/shared-skeleton.ts).
 */
export async function testPlane(
  cleanup: Cleanup,
  options: Partial<XdpDataPlaneOptions> = {},
): Promise<XdpDataPlane> {
  const lender = new SkeletonLender();
  let plane: XdpDataPlane;
  try {
    plane = await XdpDataPlane.open({
      instance: 'test',
      pin: false,
      ...TEST_TABLES,
      tunnel: { sourceV4: TUN_SRC4, sourceV6: TUN_SRC6 },
      loadSkeleton: lender.load,
      ...options,
    });
  } catch (err) {
    lender.giveBack();
    throw err;
  }
  const destroy = async () => {
    try {
      await plane.destroy();
    } finally {
      lender.giveBack();
    }
  };
  if (typeof cleanup === 'function') cleanup(destroy);
  else cleanup.after(destroy);
  return plane;
}

export function real(address: string, mac: string, extra: Partial<RealSpec> = {}): RealSpec {
  return {
    address,
    port: 0,
    weight: 1,
    forwarding: 'dr',
    via: { interface: 'lo', mac },
    ...extra,
  };
}

export function run(plane: XdpDataPlane, data: Buffer): Promise<TestRunResult> {
  return plane.program.testRun({ data });
}
