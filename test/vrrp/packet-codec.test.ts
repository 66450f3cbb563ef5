import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checksumIsValid,
  computeChecksum,
  decodeAdvert,
  encodeAdvert,
  passwordBytes,
  type VrrpAdvert,
} from '../../src/vrrp/packet.js';

/** Plain ones' complement sum, written independently of the codec. */
function onesComplement(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

const v2Advert: VrrpAdvert = {
  version: 2,
  type: 1,
  vrid: 51,
  priority: 100,
  authType: 1,
  advertIntervalMs: 1000,
  addresses: ['192.168.0.203'],
  authData: passwordBytes('1111'),
};

describe('VRRP v2 codec', () => {
  // RFC 3768 section 5.1 layout, checksum worked out by hand: 0x55f4.
  const expected = Buffer.from([
    0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x55, 0xf4, 0xc0, 0xa8, 0x00, 0xcb, 0x31, 0x31, 0x31, 0x31,
    0x00, 0x00, 0x00, 0x00,
  ]);
  const context = { family: 4, source: '192.168.0.201', destination: '224.0.0.18' } as const;

  it('encodes the RFC layout byte for byte', () => {
    assert.deepEqual(encodeAdvert(v2Advert, context), expected);
  });

  it('checksum matches an independent computation', () => {
    const zeroed = [...expected];
    zeroed[6] = 0;
    zeroed[7] = 0;
    assert.equal(onesComplement(zeroed), 0x55f4);
    assert.equal(computeChecksum(expected, 2, context), 0x55f4);
    assert.ok(checksumIsValid(expected, 2, context));
  });

  it('v2 checksum ignores the addresses of the IP header', () => {
    assert.ok(checksumIsValid(expected, 2, { ...context, source: '10.9.9.9' }));
  });

  it('decodes what it encodes', () => {
    assert.deepEqual(decodeAdvert(expected, 4), v2Advert);
  });

  it('detects a flipped bit', () => {
    const broken = Buffer.from(expected);
    broken[2] = 101;
    assert.equal(checksumIsValid(broken, 2, context), false);
  });

  it('pads PASS passwords to 8 bytes and refuses longer ones', () => {
    assert.deepEqual(passwordBytes('ab'), Buffer.from([0x61, 0x62, 0, 0, 0, 0, 0, 0]));
    assert.throws(() => passwordBytes('123456789'), /auth_pass "123456789"/);
  });
});

describe('VRRP v3 codec', () => {
  const advert: VrrpAdvert = {
    version: 3,
    type: 1,
    vrid: 51,
    priority: 100,
    authType: 0,
    advertIntervalMs: 1000,
    addresses: ['192.168.0.203'],
  };
  const context = { family: 4, source: '192.168.0.201', destination: '224.0.0.18' } as const;
  // RFC 5798 section 5.1 layout; checksum with the IPv4 pseudo-header by hand: 0x06f3.
  const expected = Buffer.from([
    0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x06, 0xf3, 0xc0, 0xa8, 0x00, 0xcb,
  ]);

  it('encodes the RFC layout with the pseudo-header checksum', () => {
    assert.deepEqual(encodeAdvert(advert, context), expected);
    const pseudo = [0xc0, 0xa8, 0x00, 0xc9, 0xe0, 0x00, 0x00, 0x12, 0x00, 0x70, 0x00, 0x0c];
    const message = [...expected];
    message[6] = 0;
    message[7] = 0;
    assert.equal(onesComplement([...pseudo, ...message]), 0x06f3);
  });

  it('the checksum depends on the pseudo-header addresses', () => {
    assert.ok(checksumIsValid(expected, 3, context));
    assert.equal(checksumIsValid(expected, 3, { ...context, destination: '192.168.0.202' }), false);
  });

  it('v3ChecksumAsV2 checksums the message alone', () => {
    const encoded = encodeAdvert(advert, { ...context, v3ChecksumAsV2: true });
    assert.equal(encoded.readUInt16BE(6), 0xa8f3);
    assert.ok(checksumIsValid(encoded, 3, { ...context, v3ChecksumAsV2: true }));
    assert.equal(checksumIsValid(encoded, 3, context), false);
  });

  it('round trips IPv6 with the IPv6 pseudo-header', () => {
    const v6: VrrpAdvert = {
      ...advert,
      advertIntervalMs: 100,
      addresses: ['2001:db8::10', 'fe80::1'],
    };
    const ctx6 = { family: 6, source: 'fe80::a', destination: 'ff02::12' } as const;
    const encoded = encodeAdvert(v6, ctx6);
    assert.equal(encoded.length, 8 + 32);
    assert.equal(encoded.readUInt16BE(4), 10);
    assert.deepEqual(decodeAdvert(encoded, 6), v6);
    const src = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a];
    const dst = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
    const pseudo = [...src, ...dst, 0, 0, 0, 40, 0, 0, 0, 112];
    const message = [...encoded];
    message[6] = 0;
    message[7] = 0;
    assert.equal(onesComplement([...pseudo, ...message]), encoded.readUInt16BE(6));
  });

  it('refuses v2 over IPv6 and a length that disagrees with the header', () => {
    assert.throws(
      () =>
        encodeAdvert(
          { ...v2Advert, addresses: ['2001:db8::1'] },
          { family: 6, source: '::1', destination: 'ff02::12' },
        ),
      /v2 over IPv6/,
    );
    assert.throws(() => decodeAdvert(expected.subarray(0, 11), 4), /header announces 12/);
  });
});
