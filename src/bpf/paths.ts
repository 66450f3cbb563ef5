import { join } from 'node:path';
import { buildDir } from '../paths.js';

/** Path of a compiled BPF object, e.g. bpfObjectPath('counter') for bpf/counter.bpf.c. */
export function bpfObjectPath(name: string): string {
  return join(buildDir, 'bpf', `${name}.bpf.o`);
}

/** Root of lbctl's pins on bpffs; each instance pins below its own directory. */
export const bpffsRoot = '/sys/fs/bpf';
export const pinRoot = '/sys/fs/bpf/lbctl';
