import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gratuitousArpFrame } from '../../src/net/arp.js';
import { internetChecksum } from '../../src/net/checksum.js';
import { macToBytes, macToString } from '../../src/net/mac.js';
import { unsolicitedNeighbourAdvert } from '../../src/net/ndisc.js';

describe('gratuitous ARP frame', () => {
  it('is a broadcast ARP request with sender and target address both the VIP', () => {
    const frame = gratuitousArpFrame('02:00:00:aa:bb:cc', '192.168.200.11');
    assert.equal(frame.length, 60, 'padded to the Ethernet minimum');
    assert.equal(frame.subarray(0, 6).toString('hex'), 'ffffffffffff', 'broadcast destination');
    assert.equal(frame.subarray(6, 12).toString('hex'), '020000aabbcc', 'our MAC as source');
    assert.equal(frame.readUInt16BE(12), 0x0806, 'EtherType ARP');
    assert.equal(
      frame.subarray(14, 22).toString('hex'),
      '0001080006040001',
      'Ethernet/IPv4, lengths 6/4, op 1 (request)',
    );
    assert.equal(frame.subarray(22, 28).toString('hex'), '020000aabbcc', 'sender MAC');
    assert.deepEqual([...frame.subarray(28, 32)], [192, 168, 200, 11], 'sender IP = VIP');
    assert.equal(frame.subarray(32, 38).toString('hex'), 'ffffffffffff', 'target MAC broadcast');
    assert.deepEqual([...frame.subarray(38, 42)], [192, 168, 200, 11], 'target IP = VIP');
    assert.ok(
      frame.subarray(42).every((b) => b === 0),
      'zero padding',
    );
  });

  it('refuses IPv6 addresses and malformed MACs with the value in the message', () => {
    assert.throws(() => gratuitousArpFrame('02:00:00:aa:bb:cc', 'fd00::1'), /'fd00::1'/);
    assert.throws(() => gratuitousArpFrame('02:00:00:aa:bb', '10.0.0.1'), /'02:00:00:aa:bb'/);
  });
});

describe('MAC addresses', () => {
  it('round-trip between text and bytes', () => {
    assert.equal(macToString(macToBytes('0A:1b:2c:3d:4e:5f')), '0a:1b:2c:3d:4e:5f');
  });
});

describe('unsolicited neighbour advertisement', () => {
  const message = unsolicitedNeighbourAdvert({
    target: 'fd00:78::100',
    mac: '02:00:00:aa:bb:cc',
    checksum: { source: 'fe80::1', destination: 'ff02::1' },
  });

  it('carries type 136, the Override flag, the target and its link-layer address option', () => {
    assert.equal(message.length, 32);
    assert.equal(message[0], 136);
    assert.equal(message[1], 0);
    assert.equal(
      message.readUInt32BE(4),
      0x20000000,
      'Override only (not a router, not solicited)',
    );
    assert.equal(message.subarray(8, 24).toString('hex'), 'fd000078000000000000000000000100');
    assert.deepEqual([...message.subarray(24, 26)], [2, 1], 'target link-layer option, 8 bytes');
    assert.equal(message.subarray(26, 32).toString('hex'), '020000aabbcc');
  });

  it('has a checksum that verifies over the IPv6 pseudo-header', () => {
    const pseudo = Buffer.alloc(40);
    Buffer.from('fe800000000000000000000000000001', 'hex').copy(pseudo, 0);
    Buffer.from('ff020000000000000000000000000001', 'hex').copy(pseudo, 16);
    pseudo.writeUInt32BE(32, 32);
    pseudo[39] = 58;
    assert.notEqual(message.readUInt16BE(2), 0);
    assert.equal(internetChecksum(pseudo, message), 0);
  });

  it('sets the Router flag when asked and leaves the checksum to the kernel without addresses', () => {
    const routed = unsolicitedNeighbourAdvert({
      target: 'fd00::1',
      mac: '02:00:00:00:00:01',
      router: true,
    });
    assert.equal(routed.readUInt32BE(4), 0xa0000000);
    assert.equal(routed.readUInt16BE(2), 0);
  });
});
