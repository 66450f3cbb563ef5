import { struct, u64 } from '../bpf/codec.js';

/** Mirrors bpf/include/counter_abi.h. */
export const counterClasses = ['ipv4', 'ipv6', 'arp', 'other'] as const;
export type CounterClass = (typeof counterClasses)[number];

export const counterValue = struct('counter_value', [u64('packets'), u64('bytes')]);

export function counterKey(index: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(index);
  return key;
}
