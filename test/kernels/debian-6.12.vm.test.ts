import { describe } from 'node:test';
import { kernelGuestTest } from './debian-kernel-guest.js';

/** Debian 12's backports kernel (bookworm-backports) in a VM (debian-kernel-guest.ts). */
describe('Debian 12 kernels in a VM', () => kernelGuestTest('6.12'));
