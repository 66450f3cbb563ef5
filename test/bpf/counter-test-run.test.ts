import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BpfMap,
  type BpfObject,
  type BpfProgram,
  possibleCpus,
  XDP,
} from '../../src/bpf/index.js';
import { counterKey, counterValue } from '../../src/counter/abi.js';
import {
  counterMapName,
  counterProgramName,
  loadCounter,
  readCounters,
} from '../../src/counter/counter.js';
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ethernetFrame } from '../support/frames.js';

describe('counter program through BPF_PROG_TEST_RUN', () => {
  let object: BpfObject;
  let program: BpfProgram;
  let counters: BpfMap;

  before(async () => {
    object = await loadCounter();
    program = object.program(counterProgramName);
    counters = object.map(counterMapName);
  });
  after(() => {
    counters.close();
    program.close();
    object.close();
  });

  it('passes frames and counts them per class, summed over CPUs', async () => {
    const ipv4 = ethernetFrame(ETH_P_IP, 50);
    const ipv6 = ethernetFrame(ETH_P_IPV6, 70);
    const arp = ethernetFrame(ETH_P_ARP, 28);
    for (const frame of [ipv4, ipv4, ipv4, ipv6, arp]) {
      const result = await program.testRun({ data: frame });
      assert.equal(result.verdict, XDP.PASS);
      assert.equal(result.verdictName, 'XDP_PASS');
      assert.deepEqual(result.data, frame, 'the counter never changes the packet');
    }
    const snapshot = readCounters(counters);
    assert.deepEqual(snapshot.ipv4, { packets: 3n, bytes: BigInt(3 * ipv4.length) });
    assert.deepEqual(snapshot.ipv6, { packets: 1n, bytes: BigInt(ipv6.length) });
    assert.deepEqual(snapshot.arp, { packets: 1n, bytes: BigInt(arp.length) });
    assert.deepEqual(snapshot.other, { packets: 0n, bytes: 0n });
  });

  it('counts a frame too short for an Ethernet header as other', async () => {
    const before = readCounters(counters).other.packets;
    const result = await program.testRun({ data: Buffer.alloc(14) });
    assert.equal(result.verdict, XDP.PASS);
    // 14 zero bytes: EtherType 0 is none of ours.
    assert.equal(readCounters(counters).other.packets, before + 1n);
  });

  it('returns one value per possible CPU and sums them', () => {
    const perCpu = counters.lookupPerCpu(counterKey(0));
    assert.ok(perCpu);
    assert.equal(perCpu.length, possibleCpus());
    // Write distinct values per CPU and check the sum is what readCounters reports.
    const values = perCpu.map((_, cpu) =>
      counterValue.encode({ packets: BigInt(cpu + 1), bytes: 100n }),
    );
    counters.updatePerCpu(counterKey(3), values);
    const n = BigInt(possibleCpus());
    assert.deepEqual(readCounters(counters).other, {
      packets: (n * (n + 1n)) / 2n,
      bytes: 100n * n,
    });
  });

  it('repeats a run and reports a per-run duration', async () => {
    const result = await program.testRun({ data: ethernetFrame(ETH_P_IP, 50), repeat: 1000 });
    assert.equal(result.verdict, XDP.PASS);
    assert.ok(result.durationNs >= 0);
    const snapshot = readCounters(counters);
    assert.ok(snapshot.ipv4.packets >= 1003n, 'every repetition is counted');
  });

  it('rejects a run whose packet does not fit the output buffer, naming the program', async () => {
    await assert.rejects(program.testRun({ data: ethernetFrame(ETH_P_IP, 50), dataOutSize: 10 }), {
      name: 'BpfError',
      code: 'BPF_TEST_RUN_FAILED',
      operation: 'bpf_prog_test_run_opts',
      errno: 28,
      message: `Cannot test-run program ${program.name}: the output packet is larger than dataOutSize`,
    });
  });
});

describe('rodata knobs', () => {
  it('sets a const volatile global before load (verdict XDP_DROP)', async () => {
    const object = await loadCounter({ verdict: XDP.DROP });
    try {
      const program = object.program(counterProgramName);
      const result = await program.testRun({ data: ethernetFrame(ETH_P_IP, 20) });
      assert.equal(result.verdictName, 'XDP_DROP');
      program.close();
    } finally {
      object.close();
    }
  });

  it('lists rodata variables with their BTF sizes', async () => {
    const object = await loadCounter();
    try {
      assert.deepEqual(
        object.rodataVariables().map((v) => [v.name, v.size]),
        [['counter_verdict', 4]],
      );
    } finally {
      object.close();
    }
  });
});

describe('struct codecs against BTF', () => {
  it('counter_value has the layout the compiled object declares', async () => {
    const object = await loadCounter();
    try {
      const btf = object.btfStruct('counter_value');
      assert.ok(btf, 'counter_value is in the object BTF');
      assert.equal(btf.size, counterValue.size);
      assert.deepEqual(
        btf.members.map((m) => ({ name: m.name, offset: m.offsetBits / 8, size: m.size })),
        counterValue.fields,
      );
    } finally {
      object.close();
    }
  });
});
