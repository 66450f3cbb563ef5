import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONN_F,
  decodeSyncMessage,
  encodeSyncMessage,
  encodeSyncMessages,
  type SyncConnection,
  TCP_STATE,
} from '../../src/sync/ipvs-sync-codec.js';

const v4: SyncConnection = {
  family: 'ipv4',
  protocol: 6,
  flags: CONN_F.DROUTE,
  state: TCP_STATE.ESTABLISHED,
  clientAddress: '10.0.0.1',
  clientPort: 40000,
  virtualAddress: '192.168.10.100',
  virtualPort: 80,
  destinationAddress: '192.168.10.11',
  destinationPort: 80,
  fwmark: 0,
  timeoutS: 900,
};

const v6: SyncConnection = {
  ...v4,
  family: 'ipv6',
  protocol: 17,
  flags: CONN_F.MASQ,
  state: 0,
  clientAddress: '2001:db8::1',
  virtualAddress: '2001:db8::100',
  destinationAddress: 'fd00::11',
  destinationPort: 8080,
  timeoutS: 300,
};

/** The bytes ip_vs_sync.c would put on the wire for `v4` with sync id 7. */
const V4_MESSAGE = Buffer.from(
  [
    '00 07 00 2c 01 01 00 00', // header: reserved, syncid 7, size 44, 1 conn, version 1, spare
    '00 06 00 24', // type 0 (IPv4), TCP, version 0 size 36
    '00 00 00 03', // flags: IP_VS_CONN_F_DROUTE
    '00 01', // state ESTABLISHED
    '9c 40 00 50 00 50', // cport 40000, vport 80, dport 80
    '00 00 00 00', // fwmark
    '00 00 03 84', // timeout 900 s
    '0a 00 00 01 c0 a8 0a 64 c0 a8 0a 0b', // caddr, vaddr, daddr
  ]
    .join(' ')
    .replaceAll(' ', ''),
  'hex',
);

describe('IPVS sync protocol v1 codec', () => {
  it('encodes an IPv4 connection exactly as the kernel does', () => {
    assert.deepEqual(encodeSyncMessage(7, [v4]), V4_MESSAGE);
  });

  it('encodes an IPv6 connection with type 1 and a 72-byte entry', () => {
    const m = encodeSyncMessage(1, [v6]);
    assert.equal(m.length, 8 + 72);
    assert.equal(m.readUInt16BE(2), 80);
    assert.equal(m[8], 1);
    assert.equal(m[9], 17);
    assert.equal(m.readUInt16BE(10), 72);
    assert.deepEqual(
      m.subarray(8 + 24, 8 + 40),
      Buffer.from('20010db8000000000000000000000001', 'hex'),
    );
    assert.deepEqual(
      m.subarray(8 + 56, 8 + 72),
      Buffer.from('fd000000000000000000000000000011', 'hex'),
    );
  });

  it('decodes what it encodes, both families', () => {
    const decoded = decodeSyncMessage(encodeSyncMessage(9, [v4, v6]), 9);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.message.connections, [v4, v6]);
    assert.deepEqual(decoded.message.skipped, []);
  });

  it('splits into messages no longer than maxlen, at most 255 connections each', () => {
    const many = Array.from({ length: 600 }, (_, i) => ({ ...v4, clientPort: 1000 + i }));
    const small = encodeSyncMessages(1, many.slice(0, 10), 8 + 36 * 4);
    assert.deepEqual(
      small.map((m) => m[4]),
      [4, 4, 2],
    );
    for (const m of small) assert.ok(m.length <= 8 + 36 * 4);
    const big = encodeSyncMessages(1, many, 65507);
    assert.deepEqual(
      big.map((m) => m[4]),
      [255, 255, 90],
    );
  });

  it('reads the sequence and persistence-engine options and pads entries to 4 bytes', () => {
    // An entry with a 24-byte sequence option (+2 header) is 62 bytes, padded to 64.
    const entry = Buffer.concat([
      encodeSyncMessage(1, [v4]).subarray(8),
      Buffer.from([1, 24]),
      Buffer.from('000000010000000200000003000000040000000500000006', 'hex'),
    ]);
    entry.writeUInt16BE(62, 2);
    const second = encodeSyncMessage(1, [v6]).subarray(8);
    const body = Buffer.concat([entry, Buffer.alloc(2), second]);
    const header = Buffer.from([0, 1, 0, 0, 2, 1, 0, 0]);
    header.writeUInt16BE(8 + body.length, 2);
    const decoded = decodeSyncMessage(Buffer.concat([header, body]), 1);
    assert.ok(decoded.ok);
    assert.equal(decoded.message.connections.length, 2);
    assert.deepEqual(decoded.message.connections[0]?.sequence, {
      in: { initSeq: 1, delta: 2, previousDelta: 3 },
      out: { initSeq: 4, delta: 5, previousDelta: 6 },
    });
    assert.deepEqual(decoded.message.connections[1], v6);
  });

  describe('drops what it cannot trust, naming why', () => {
    const good = encodeSyncMessage(7, [v4, v6]);
    const mutate = (f: (b: Buffer) => unknown): Buffer => {
      const copy = Buffer.from(good);
      f(copy);
      return copy;
    };
    const cases: [string, Buffer, number, string][] = [
      ['shorter than a header', good.subarray(0, 7), 7, 'short'],
      ['size field larger than the datagram', good.subarray(0, good.length - 4), 7, 'size'],
      ['size field smaller', mutate((b) => b.writeUInt16BE(b.length - 1, 2)), 7, 'size'],
      ['another sync id', good, 8, 'syncid'],
      ['version 0 (nonzero first byte)', mutate((b) => b.writeUInt8(2, 0)), 7, 'version'],
      ['version 2', mutate((b) => b.writeUInt8(2, 5)), 7, 'version'],
      ['nonzero spare', mutate((b) => b.writeUInt16BE(1, 6)), 7, 'version'],
      ['more connections than bytes', mutate((b) => b.writeUInt8(3, 4)), 7, 'truncated'],
      ['entry size past the end', mutate((b) => b.writeUInt16BE(200, 8 + 2)), 7, 'truncated'],
      [
        'entry size below its fixed part',
        mutate((b) => b.writeUInt16BE(20, 8 + 2)),
        7,
        'truncated',
      ],
      ['entry version 1', mutate((b) => b.writeUInt16BE(0x1024, 8 + 2)), 7, 'malformed'],
      ['unknown entry type', mutate((b) => b.writeUInt8(4, 8)), 7, 'malformed'],
    ];
    for (const [name, datagram, syncId, reason] of cases) {
      it(name, () => {
        const decoded = decodeSyncMessage(datagram, syncId);
        assert.equal(decoded.ok, false);
        assert.equal(!decoded.ok && decoded.reason, reason);
      });
    }

    it('sync id 0 accepts every sync id, as the kernel does', () => {
      assert.ok(decodeSyncMessage(good, 0).ok);
    });

    it('skips single entries the kernel skips: protocol, state, template, unknown mandatory option', () => {
      const entries = [
        { ...v4, protocol: 1 },
        { ...v4, state: 11 },
        { ...v4, flags: CONN_F.TEMPLATE },
        v4,
      ];
      const decoded = decodeSyncMessage(encodeSyncMessage(7, entries), 7);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.message.skipped, ['protocol', 'state', 'template']);
      assert.deepEqual(decoded.message.connections, [v4]);

      const withOption = Buffer.concat([encodeSyncMessage(7, [v4]), Buffer.from([5, 2, 0, 0])]);
      withOption.writeUInt16BE(withOption.length, 2);
      withOption.writeUInt16BE(40, 8 + 2);
      const unknown = decodeSyncMessage(withOption, 7);
      assert.ok(unknown.ok);
      assert.deepEqual(unknown.message.skipped, ['option']);
      // The same option marked optional (IPVS_OPT_F_PARAM) is skipped over.
      withOption[8 + 36] = 5 | 64;
      const optional = decodeSyncMessage(withOption, 7);
      assert.ok(optional.ok);
      assert.deepEqual(optional.message.connections, [v4]);
    });

    it('never throws on random bytes', () => {
      let seed = 42;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      for (let i = 0; i < 5000; i++) {
        const datagram = Buffer.from(good);
        for (let n = rand() % 6; n >= 0; n--) datagram[rand() % datagram.length] = rand() & 0xff;
        const cut = datagram.subarray(0, rand() % (datagram.length + 1));
        decodeSyncMessage(rand() % 2 ? datagram : cut, 0);
      }
    });
  });
});
