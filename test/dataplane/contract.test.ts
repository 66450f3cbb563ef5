/**
 * The DataPlane contract (support/contract-cases.ts) against the in-memory
 * data plane, the reference, and XDP with its real program and maps. Kernel
 * IPVS runs the same table in the VM (test/ipvs/contract.ipvs-suite.ts).
 */
import { describe } from 'node:test';
import type { DataPlane } from '../../src/dataplane/dataplane.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { contractCases } from './support/contract-cases.js';
import { testPlane } from './support/harness.js';

const PLANES: {
  name: string;
  open(cleanup: { after(fn: () => unknown): void }): Promise<DataPlane>;
}[] = [
  { name: 'in-memory', open: async () => new MemoryDataPlane() },
  { name: 'XDP', open: (t) => testPlane(t) },
];

for (const { name, open } of PLANES) {
  describe(`DataPlane contract: ${name}`, () => contractCases(open));
}
