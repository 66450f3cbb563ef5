import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BpfMap } from '../../src/bpf/index.js';
import * as abi from '../../src/dataplane/abi.js';
import {
  countConnectionsByReal,
  listConnections,
  readRealIdentities,
  readServiceKeys,
} from '../../src/dataplane/conn-listing.js';
import { XdpDataPlane } from '../../src/dataplane/xdp/xdp-dataplane.js';
import { connTableMaps } from '../../src/status/status-collector.js';

const S = 1e9;
const NOW = 5000 * S;

interface Flow {
  set: number;
  way: number;
  src: [number, number, number, number];
  sport: number;
  proto: number;
  realId: number;
  serviceId: number;
  lastSeen: number;
  flags?: number;
}

function writeFlow(conns: BpfMap, f: Flow): void {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(f.set);
  const value = conns.lookup(key) ?? Buffer.alloc(abi.connSet.size);
  const at = f.way * abi.connSlot.size;
  const k = at + abi.connSlot.offsetOf('key');
  const c = at + abi.connSlot.offsetOf('conn');
  value.set(f.src, k + abi.flowKey.offsetOf('src'));
  value.set([10, 0, 0, 100], k + abi.flowKey.offsetOf('dst'));
  value.writeUInt16BE(f.sport, k + abi.flowKey.offsetOf('sport'));
  value.writeUInt16BE(80, k + abi.flowKey.offsetOf('dport'));
  value[k + abi.flowKey.offsetOf('proto')] = f.proto;
  value[k + abi.flowKey.offsetOf('family')] = abi.FAMILY.ipv4;
  value.writeBigUInt64LE(BigInt(f.lastSeen), c + abi.conn.offsetOf('last_seen_ns'));
  value.writeUInt32LE(f.realId, c + abi.conn.offsetOf('real_id'));
  value.writeUInt32LE(f.serviceId, c + abi.conn.offsetOf('service_id'));
  value.writeUInt32LE(f.flags ?? 0, c + abi.conn.offsetOf('flags'));
  conns.update(key, value);
}

describe('connection table listing', () => {
  let plane: XdpDataPlane;
  const via = { interface: 'lo', mac: '02:00:00:00:00:01' };
  before(async () => {
    plane = await XdpDataPlane.open({
      instance: `conn-listing-${process.pid}`,
      pin: false,
      connections: 16 * abi.CONN_WAYS, // 16 sets
      timeouts: { tcpS: 900, tcpFinS: 120, udpS: 300 },
    });
    await plane.setService({ vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
      { address: '10.0.0.11', port: 80, weight: 1, forwarding: 'dr', via },
      { address: '10.0.0.12', port: 80, weight: 1, forwarding: 'dr', via },
    ]);
  });
  after(() => plane.destroy());

  it('lists only live entries, with ipvsadm states and expiry, and counts them per real', async () => {
    const maps = connTableMaps(plane);
    const reals = await readRealIdentities(maps.reals);
    const byAddress = new Map([...reals].map(([id, r]) => [r.address, id]));
    const r1 = byAddress.get('10.0.0.11')!;
    const r2 = byAddress.get('10.0.0.12')!;
    const serviceId = [...(await readServiceKeys(maps.services)).keys()][0]!;
    const tcp = abi.PROTO.tcp;
    const base = {
      proto: tcp,
      serviceId,
      src: [192, 168, 1, 1] as [number, number, number, number],
    };
    writeFlow(maps.conns, {
      ...base,
      set: 0,
      way: 0,
      sport: 1001,
      realId: r1,
      lastSeen: NOW - 1 * S,
      flags: abi.CONN_F_ESTABLISHED,
    });
    writeFlow(maps.conns, {
      ...base,
      set: 0,
      way: 2,
      sport: 1002,
      realId: r2,
      lastSeen: NOW - 10 * S,
      flags: abi.CONN_F_FIN,
    });
    // Stale: older than the TCP timeout.
    writeFlow(maps.conns, {
      ...base,
      set: 3,
      way: 1,
      sport: 1003,
      realId: r1,
      lastSeen: NOW - 901 * S,
      flags: abi.CONN_F_ESTABLISHED,
    });
    // A FIN entry past the FIN timeout is stale too.
    writeFlow(maps.conns, {
      ...base,
      set: 5,
      way: 3,
      sport: 1004,
      realId: r2,
      lastSeen: NOW - 121 * S,
      flags: abi.CONN_F_FIN,
    });
    writeFlow(maps.conns, {
      ...base,
      set: 15,
      way: 1,
      sport: 1005,
      realId: r2,
      lastSeen: NOW,
      proto: abi.PROTO.udp,
    });
    // Its real id points at another service: a leftover, not listed.
    writeFlow(maps.conns, {
      ...base,
      set: 9,
      way: 0,
      sport: 1006,
      realId: r1,
      serviceId: serviceId + 1,
      lastSeen: NOW,
    });

    // Handshake not over: IPVS's SYN_RECV timeout (60 s) applies.
    writeFlow(maps.conns, {
      ...base,
      set: 12,
      way: 0,
      sport: 1007,
      realId: r1,
      lastSeen: NOW - 30 * S,
    });
    writeFlow(maps.conns, {
      ...base,
      set: 13,
      way: 0,
      sport: 1008,
      realId: r1,
      lastSeen: NOW - 61 * S,
    });

    const rows: unknown[] = [];
    const count = await listConnections(maps, {
      nowNs: NOW,
      onChunk: (chunk) => {
        rows.push(...chunk.map(({ realId: _id, ...row }) => row));
      },
    });
    assert.equal(count, 4);
    assert.deepEqual(rows, [
      {
        protocol: 'tcp',
        expiresS: 899,
        state: 'ESTABLISHED',
        source: '192.168.1.1:1001',
        virtual: '10.0.0.100:80',
        destination: '10.0.0.11:80',
      },
      {
        protocol: 'tcp',
        expiresS: 110,
        state: 'FIN_WAIT',
        source: '192.168.1.1:1002',
        virtual: '10.0.0.100:80',
        destination: '10.0.0.12:80',
      },
      {
        protocol: 'tcp',
        expiresS: 30,
        state: 'SYN_RECV',
        source: '192.168.1.1:1007',
        virtual: '10.0.0.100:80',
        destination: '10.0.0.11:80',
      },
      {
        protocol: 'udp',
        expiresS: 300,
        state: 'UDP',
        source: '192.168.1.1:1005',
        virtual: '10.0.0.100:80',
        destination: '10.0.0.12:80',
      },
    ]);
    const { byReal, total } = await countConnectionsByReal(maps, NOW);
    assert.equal(total, 4);
    assert.deepEqual(byReal.get(r1), { active: 1, inactive: 1 });
    assert.deepEqual(byReal.get(r2), { active: 0, inactive: 2 });

    let limited = 0;
    await listConnections(maps, {
      nowNs: NOW,
      limit: 2,
      onChunk: (c) => {
        limited += c.length;
      },
    });
    assert.equal(limited, 2);
  });

  it('reads array ranges in batches and refuses what is not a plain array', async () => {
    const reals = plane.map('reals');
    const all = await reals.readArray(0, reals.info.maxEntries);
    assert.equal(all.length, reals.info.maxEntries * abi.real.size);
    const tail = await reals.readArray(reals.info.maxEntries - 2, 10);
    assert.equal(tail.length, 2 * abi.real.size);
    const middle = await reals.readArray(1, 1);
    assert.deepEqual(middle, all.subarray(abi.real.size, 2 * abi.real.size));
    await assert.rejects(async () => plane.map('persist').readArray(0, 1), /not a plain array map/);
    await assert.rejects(async () => reals.readArray(reals.info.maxEntries + 1, 1), /outside its/);
  });

  it('hands a full table on in pieces of at most 512 rows, in table order, reading ahead', async () => {
    const big = await XdpDataPlane.open({
      instance: `conn-listing-full-${process.pid}`,
      pin: false,
      connections: 8192,
      timeouts: { tcpS: 900, tcpFinS: 120, udpS: 300 },
    });
    try {
      await big.setService({ vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' }, [
        { address: '10.0.0.11', port: 80, weight: 1, forwarding: 'dr', via },
      ]);
      const maps = connTableMaps(big);
      const realId = [...(await readRealIdentities(maps.reals)).keys()][0]!;
      const serviceId = [...(await readServiceKeys(maps.services)).keys()][0]!;
      const sets = maps.conns.info.maxEntries;
      for (let set = 0; set < sets; set++) {
        for (let way = 0; way < abi.CONN_WAYS; way++) {
          const n = set * abi.CONN_WAYS + way;
          writeFlow(maps.conns, {
            set,
            way,
            src: [192, 168, n >> 8, n & 0xff],
            sport: 1024 + (n % 60000),
            proto: abi.PROTO.tcp,
            realId,
            serviceId,
            lastSeen: NOW,
            flags: abi.CONN_F_ESTABLISHED,
          });
        }
      }
      const sizes: number[] = [];
      let expected = 0;
      let inOrder = true;
      let turns = 0;
      const ticker = setInterval(() => turns++, 0);
      const count = await listConnections(maps, {
        nowNs: NOW,
        onChunk: (chunk) => {
          sizes.push(chunk.length);
          for (const row of chunk) {
            if (
              row.source !==
              `192.168.${expected >> 8}.${expected & 0xff}:${1024 + (expected % 60000)}`
            )
              inOrder = false;
            expected++;
          }
        },
      });
      clearInterval(ticker);
      assert.equal(count, sets * abi.CONN_WAYS);
      assert.equal(expected, count);
      assert.ok(inOrder, 'rows come in table order');
      assert.ok(Math.max(...sizes) <= 512, `pieces of ${Math.max(...sizes)} rows`);
      assert.ok(turns > 0, 'timers ran during the listing');
    } finally {
      await big.destroy();
    }
  });
});
