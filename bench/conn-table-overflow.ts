/**
 * How often a random flow-hash key makes the connection table evict a live
 * flow below a given fill: the program's insert rules (the model in
 * test/dataplane/support/conn-table-model.ts) replayed offline over the
 * program's IPv4 flow hash (test/dataplane/support/flow-hash.ts) under many
 * fresh keys, no BPF. Not part of `npm run bench` (a simulation, not a
 * measurement of this machine):
 *
 *   node dist/bench/conn-table-overflow.js ENTRIES KEYS [FILL] [sequential|ports|random]
 *
 * (LBCTL_FLOW_HASH_KEY=hex replays one key).
 *
 * `sequential` flows are the tests' and conn_table_fill's: client
 * addresses counting up from 198.18.0.0, one port; `ports`: one client, its
 * ports counting up from 1024 (at most 64,512 flows); `random`: random client
 * addresses and ports. Prints the keys that evicted, the evictions' total
 * and largest count, and one key that evicted (hex) to replay.
 */
import { randomBytes } from 'node:crypto';
import * as abi from '../src/dataplane/abi.js';
import { connTableSets } from '../src/dataplane/conn-table.js';
import { flowHashKeyWords, newFlowHashKey } from '../src/dataplane/flow-hash-key.js';
import { modelInserts } from '../test/dataplane/support/conn-table-model.js';
import { flowSets, type Ipv4Flow, setHashes } from '../test/dataplane/support/flow-hash.js';

/** The flow's two hash inputs (lb_hash_flow's a and b), from flowSets' own encoding. */
function words(flow: Ipv4Flow): [bigint, bigint] {
  const ip = (s: string) => BigInt(Buffer.from(s.split('.').map(Number)).readUInt32LE());
  const a = ip(flow.src) | (ip(flow.dst) << 32n);
  const b = Buffer.alloc(8);
  b.writeUInt16BE(flow.sport, 0);
  b.writeUInt16BE(flow.dport, 2);
  b[4] = abi.PROTO[flow.proto];
  b[5] = abi.FAMILY.ipv4;
  return [a, b.readBigUInt64LE()];
}

function flowsOf(kind: string, count: number): Ipv4Flow[] {
  return Array.from({ length: count }, (_, i) => {
    if (kind === 'sequential')
      return {
        src: `198.${18 + (i >> 16)}.${(i >> 8) & 0xff}.${i & 0xff}`,
        dst: '10.50.0.1',
        proto: 'tcp',
        sport: 1024,
        dport: 80,
      } as const;
    if (kind === 'ports')
      return {
        src: '198.18.0.1',
        dst: '10.50.0.1',
        proto: 'tcp',
        sport: 1024 + i,
        dport: 80,
      } as const;
    const r = randomBytes(6);
    return {
      src: [...r.subarray(0, 4)].join('.'),
      dst: '10.50.0.1',
      proto: 'tcp',
      sport: r.readUInt16BE(4),
      dport: 80,
    } as const;
  });
}

const [entriesArg, keysArg, fillArg = '0.75', kind = 'sequential'] = process.argv.slice(2);
/** LBCTL_FLOW_HASH_KEY: replay one key (hex) instead of drawing fresh ones. */
const replay = process.env.LBCTL_FLOW_HASH_KEY;
const sets = connTableSets(Number(entriesArg));
const keys = Number(keysArg);
const flows = flowsOf(kind, Math.round(sets * abi.CONN_WAYS * Number(fillArg)));
const inputs = flows.map(words);
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
    const [a, b] = inputs[i]!;
    const [set, alt] = setHashes(a, b, k);
    first[i] = Number(set >> shift);
    second[i] = Number(alt >> shift);
  }
  if (n === 0) {
    // The fast hash above must be the tests' flowSets.
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
