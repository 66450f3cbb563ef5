/**
 * conn_table_fill: a flow sweep through the connection table with
 * BPF_PROG_TEST_RUN. Established TCP flows (SYN, then ACK) are opened one by
 * one up to 25 %, 50 % and 75 % of the table's capacity; at each mark it
 * reports how many of them a new flow has evicted while still live (each such
 * flow is rescheduled on its next packet). Target (issue 12): none below 75 %.
 */
import * as abi from '../src/dataplane/abi.js';
import { XdpDataPlane } from '../src/dataplane/xdp/xdp-dataplane.js';
import { frame, TCP_ACK, TCP_SYN } from '../test/dataplane/support/packet.js';
import type { BenchResult } from './result.js';

const CONNECTIONS = Number(process.env.LBCTL_BENCH_CONNECTIONS ?? 8192);
const MARKS = [0.25, 0.5, 0.75];
const VIP = '10.201.0.1';

export async function connTableFill(): Promise<BenchResult[]> {
  const plane = await XdpDataPlane.open({
    instance: `bench-conn-fill-${process.pid}`,
    pin: false,
    connections: CONNECTIONS,
  });
  try {
    await plane.setService(
      { vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr' },
      Array.from({ length: 8 }, (_, i) => ({
        address: `10.201.1.${i + 1}`,
        port: 80,
        weight: 1,
        forwarding: 'dr' as const,
        via: { interface: 'lo', mac: '02:00:00:00:00:01' },
      })),
    );
    const capacity = (await plane.counters()).connTable?.capacity ?? CONNECTIONS;
    const results: BenchResult[] = [];
    let opened = 0;
    for (const mark of MARKS) {
      for (; opened < Math.round(capacity * mark); opened++) {
        const flow = {
          src: `198.18.${(opened >> 8) & 0xff}.${opened & 0xff}`,
          dst: VIP,
          proto: 'tcp',
          sport: 1024 + (opened >> 16),
          dport: 80,
        } as const;
        for (const tcpFlags of [TCP_SYN, TCP_ACK]) {
          const out = await plane.program.testRun({ data: frame({ ...flow, tcpFlags }) });
          if (out.verdictName !== 'XDP_TX') {
            throw new Error(`conn_table_fill: flow ${opened} got ${out.verdictName}`);
          }
        }
      }
      const table = (await plane.counters()).connTable;
      results.push({
        name: `conn_table_fill_${Math.round(mark * 100)}`,
        capacity,
        ways: abi.CONN_WAYS,
        flows: opened,
        liveEvicted: table?.evicted ?? -1,
        liveEvictedPercent: Math.round(((table?.evicted ?? 0) / opened) * 10000) / 100,
      });
    }
    return results;
  } finally {
    await plane.destroy();
  }
}
