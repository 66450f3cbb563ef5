/**
 * How often a random flow-hash key makes the connection table evict a live
 * flow below a given fill: the program's insert rules (the model in
 * test/dataplane/support/conn-table-model.ts) replayed offline over the
 * program's flow hash (test/dataplane/support/flow-hash.ts) under many
 * fresh keys, no BPF. Not part of `npm run bench` (a simulation, not a
 * measurement of this machine):
 *
 *   node dist/bench/conn-table-overflow.js ENTRIES KEYS [FILL] [KIND]
 *
 * (LBCTL_FLOW_HASH_KEY=hex replays one key). KIND, IPv4:
 * `sequential` (the tests' and conn_table_fill's flows): client addresses
 * counting up from 198.18.0.0, one port; `ports`: one client, its ports
 * counting up from 1024 (at most 64,512 flows); `random`: random client
 * addresses and ports. IPv6: `v6-sequential`: clients counting up within
 * one /64 (2001:db8::1, ::2, …); `v6-prefixes`: one interface id in /64s
 * counting up (2001:db8:0:1::1, 2001:db8:0:2::1, …); `v6-ports`: one
 * client's ports counting up from 1024; `v6-random`: random client
 * addresses and ports. Prints the keys that evicted, the evictions' total
 * and largest count, and one key that evicted (hex) to replay.
 */
import { randomBytes } from 'node:crypto';
import * as abi from '../src/dataplane/abi.js';
import { connTableSets } from '../src/dataplane/conn-table.js';
import { flowHashKeyWords, newFlowHashKey } from '../src/dataplane/flow-hash-key.js';
import { bytesToAddress } from '../src/net/address.js';
import { modelInserts } from '../test/dataplane/support/conn-table-model.js';
import {
  type Flow,
  flowKeyWords,
  flowSets,
  setHashes,
  setHashesV6,
} from '../test/dataplane/support/flow-hash.js';

const MASK64 = (1n << 64n) - 1n;

/** 2001:db8:0:PREFIX:IID as text. */
function v6(prefix: number, iid: bigint): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x20010db8, 0);
  b.writeUInt32BE(prefix, 4);
  b.writeBigUInt64BE(iid, 8);
  return bytesToAddress(b);
}

function flowOf(kind: string, i: number): Flow {
  const tcp = { proto: 'tcp', dport: 80 } as const;
  const dst4 = '10.50.0.1';
  const dst6 = '2001:db8:ffff::1';
  switch (kind) {
    case 'sequential':
      return {
        ...tcp,
        src: `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`,
        dst: dst4,
        sport: 1024,
      };
    case 'ports':
      return { ...tcp, src: '198.18.0.1', dst: dst4, sport: 1024 + i };
    case 'random': {
      const r = randomBytes(6);
      return { ...tcp, src: [...r.subarray(0, 4)].join('.'), dst: dst4, sport: r.readUInt16BE(4) };
    }
    case 'v6-sequential':
      return { ...tcp, src: v6(0, BigInt(i + 1)), dst: dst6, sport: 1024 };
    case 'v6-prefixes':
      return { ...tcp, src: v6(i + 1, 1n), dst: dst6, sport: 1024 };
    case 'v6-ports':
      return { ...tcp, src: v6(0, 1n), dst: dst6, sport: 1024 + i };
    case 'v6-random': {
      const r = randomBytes(18);
      return {
        ...tcp,
        src: bytesToAddress(r.subarray(0, 16)),
        dst: dst6,
        sport: r.readUInt16BE(16),
      };
    }
  }
  throw new Error(`unknown kind '${kind}'`);
}

const [entriesArg, keysArg, fillArg = '0.75', kind = 'sequential'] = process.argv.slice(2);
/** LBCTL_FLOW_HASH_KEY: replay one key (hex) instead of drawing fresh ones. */
const replay = process.env.LBCTL_FLOW_HASH_KEY;
const sets = connTableSets(Number(entriesArg));
const keys = Number(keysArg);
const flows = Array.from({ length: Math.round(sets * abi.CONN_WAYS * Number(fillArg)) }, (_, i) =>
  flowOf(kind, i),
);
const inputs = flows.map(flowKeyWords);
const shift = BigInt(64 - Math.log2(sets));
const first = new Uint32Array(flows.length);
const second = new Uint32Array(flows.length);
let failed = 0;
let total = 0;
let worst = 0;
let example = '';
for (let n = 0; n < keys; n++) {
  const key = replay ? Buffer.from(replay, 'hex') : newFlowHashKey();
  const k = flowHashKeyWords(key);
  for (let i = 0; i < inputs.length; i++) {
    const { ipv4, words: x } = inputs[i]!;
    const [set, alt] = ipv4
      ? setHashes(x[0]! | ((x[2]! << 32n) & MASK64), x[4]!, k)
      : setHashesV6(x, k);
    first[i] = Number(set >> shift);
    second[i] = Number(alt >> shift);
  }
  if (n === 0) {
    // The fast path above must be the tests' flowSets.
    const [s, t] = flowSets(flows[0]!, sets, key);
    if (s !== first[0] || t !== second[0]) throw new Error('hash drifted from flowSets');
  }
  const { evicted } = modelInserts(sets, first, second);
  if (evicted) {
    failed++;
    total += evicted;
    worst = Math.max(worst, evicted);
    example ||= key.toString('hex');
  }
}
console.log(
  JSON.stringify({
    entries: sets * abi.CONN_WAYS,
    flows: flows.length,
    kind,
    keys,
    keysThatEvicted: failed,
    rate: failed / keys,
    evictedTotal: total,
    worst,
    example,
  }),
);
