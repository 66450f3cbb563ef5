/**
 * The DataPlane contract (test/dataplane/support/contract-cases.ts) against
 * kernel IPVS. Needs a kernel with ip_vs: it runs in the VM tier
 * (test/kernels/ipvs.vm.test.ts), not on the host.
 */
import { describe } from 'node:test';
import { contractCases } from '../dataplane/support/contract-cases.js';
import { ipvsPlane } from './support.js';

describe('DataPlane contract: kernel IPVS', () => contractCases((t) => ipvsPlane(t)));
