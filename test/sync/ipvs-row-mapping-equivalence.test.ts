import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RealSpec, ServiceSpec } from '../../src/dataplane/dataplane.js';
import {
  IpvsConnectionFields,
  readIpvsConnectionFields,
} from '../../src/dataplane/ipvs/ipvs-connection-fields.js';
import {
  ipvsConnectionOf,
  parseIpvsConnectionLine,
} from '../../src/dataplane/ipvs/ipvs-connections.js';
import { addressToBytes } from '../../src/net/address.js';
import { IpvsServiceIndex } from '../../src/sync/ipvs-connection-entry.js';
import { encodeSyncMessage, SCTP_STATE_ESTABLISHED } from '../../src/sync/ipvs-sync-codec.js';
import { prng } from '../config/mutations.js';
import { syncMessageOfLine } from '../support/ipvs-row-entry.js';
import { real, service } from '../support/ipvs-specs.js';
import {
  IpvsTextServiceIndex,
  ipvsTextRowToSyncEntry,
  parseIpvsConnectionLineAsText,
} from '../support/ipvs-text-mapping.js';

/** Every kind of service a row is placed by: NAT/DR/TUN, mixed methods, port 0, marks (one real in two). */
const SERVICES: { service: ServiceSpec; reals: RealSpec[] }[] = [
  {
    service: service({ vip: '10.79.0.100', port: 80 }),
    reals: [real('10.79.0.11', 80, 'dr'), real('10.79.0.12', 80, 'dr')],
  },
  {
    service: service({ vip: '10.79.0.100', port: 8080 }),
    reals: [real('10.79.0.11', 8000, 'nat'), real('10.79.0.13', 8080, 'tun')],
  },
  {
    service: service({ vip: '10.79.0.100', port: 53, protocol: 'udp' }),
    reals: [real('10.79.0.14', 53, 'nat'), real('10.79.0.15', 0, 'nat')],
  },
  {
    service: service({ vip: '10.79.0.101', port: 0, persistence: { timeoutS: 300 } }),
    reals: [real('10.79.0.11', 0, 'dr')],
  },
  {
    service: service({ vip: '10.79.0.102', port: 9000, protocol: 'sctp' }),
    reals: [real('10.79.0.16', 9000, 'tun')],
  },
  {
    service: service({ vip: '0.0.0.0', port: 0, fwmark: 7 }),
    reals: [real('10.79.0.21', 0, 'dr')],
  },
  {
    service: service({ vip: '0.0.0.0', port: 0, fwmark: 8 }),
    reals: [real('10.79.0.22', 0, 'nat'), real('10.79.0.23', 0, 'tun')],
  },
  // 10.79.0.24 is held by two mark services: a row of it cannot be placed.
  {
    service: service({ vip: '0.0.0.0', port: 0, fwmark: 9 }),
    reals: [real('10.79.0.24', 0, 'dr'), real('10.79.0.24', 81, 'dr')],
  },
  {
    service: service({ vip: '0.0.0.0', port: 0, fwmark: 10 }),
    reals: [real('10.79.0.24', 0, 'dr')],
  },
  {
    service: service({ vip: '2001:db8::100', port: 53, protocol: 'udp' }),
    reals: [real('2001:db8::11', 5353, 'nat')],
  },
  {
    service: service({ vip: '2001:db8::100', port: 443 }),
    reals: [real('2001:db8::11', 443, 'dr'), real('2001:db8:0:1::12', 443, 'tun')],
  },
  {
    service: service({ vip: '2001:db8::101', port: 0, protocol: 'sctp' }),
    reals: [real('2001:db8::13', 0, 'dr')],
  },
  {
    service: service({ vip: '::', port: 0, fwmark: 11 }),
    reals: [real('2001:db8::21', 0, 'nat'), real('::ffff:10.79.0.21', 0, 'dr')],
  },
];

const VIPS = ['10.79.0.100', '10.79.0.101', '10.79.0.102', '10.79.0.200', '0.0.0.0'];
const VIPS6 = ['2001:db8::100', '2001:db8::101', '2001:db8::200', '::'];
const REALS = [...Array.from({ length: 16 }, (_, i) => `10.79.0.${11 + i}`), '10.79.0.99'];
const REALS6 = ['2001:db8::11', '2001:db8:0:1::12', '2001:db8::13', '2001:db8::21', '2001:db8::99'];
const PORTS = [0, 53, 80, 81, 443, 5353, 8000, 8080, 9000, 41970, 65535];
const STATE_NAMES = [
  ...['NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE'],
  ...['CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK', 'UDP', 'ASSURED', 'COOKIE_WAIT', 'CLOSED'],
  ...['INIT', 'SHUTDOWN_SENT', 'BOGUS', 'established', 'ONE'],
];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ESP', 'AH', 'IP', 'tcp', 'TCPX'];
const EXPIRES = ['0', '1', '97', '299', '898', '899', '900', '007', '4294967296', '-4', '+5'];
const ODD_EXPIRES = ['-0', '1e3', '0x10', '1.5', '1.0', 'abc', 'Infinity', '12345678901234567890'];

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

describe('the hand-off maps a row from its hex fields exactly as through ipvsadm -Lnc text', () => {
  const textIndex = new IpvsTextServiceIndex(SERVICES);
  const index = new IpvsServiceIndex(SERVICES);
  const rand = prng(1340);
  const pick = <T>(from: readonly T[]): T => from[Math.floor(rand() * from.length)] as T;
  const chance = (p: number) => rand() < p;

  /** An address as the kernel prints it, or now and then in a form it does not. */
  function hexAddress(address: string): string {
    const bytes = addressToBytes(address);
    if (bytes.length === 4) {
      const text = bytes.toString('hex');
      if (chance(0.02)) return text.slice(1); // seven digits
      if (chance(0.02)) return `${text.slice(0, 7)}g`;
      return chance(0.5) ? text.toUpperCase() : text;
    }
    const groups = bytes.toString('hex').match(/.{4}/g) as string[];
    if (chance(0.03)) return address; // compressed, as node:net reads it
    if (chance(0.03)) return address.toUpperCase();
    if (chance(0.01)) return `${groups.join(':')}:`;
    if (chance(0.01)) return groups.slice(1).join(':');
    if (chance(0.01)) return `${groups.slice(0, 7).join(':')}::`;
    if (chance(0.01)) return groups.join('-');
    if (chance(0.01)) return `${groups[0]}:::${groups[7]}`;
    return chance(0.5) ? groups.join(':').toUpperCase() : groups.join(':');
  }

  function hexPort(port: number): string {
    if (chance(0.01)) return hex(port, 3);
    if (chance(0.01)) return hex(port, 5);
    if (chance(0.01)) return `${hex(port, 4).slice(0, 3)}x`;
    return hex(port, 4).toUpperCase();
  }

  const SPACES = [' ', '  ', '\t', ' \t ', '\u00a0', '\r', '\v', '\f', '\u3000', '\ufeff'];
  const space = () => (chance(0.9) ? ' ' : pick(SPACES));

  function line(): string {
    const v6 = chance(0.35);
    // Now and then one endpoint of the other family (mixed-family rows).
    const mixed = chance(0.15);
    const client = v6
      ? `2001:db8:ff::${hex(Math.floor(rand() * 65536), 1)}`
      : `10.80.0.${pick([1, 2, 255])}`;
    const vip = v6 ? pick(VIPS6) : pick(VIPS);
    const destination = (v6 !== (mixed && chance(0.5)) ? pick(REALS6) : pick(REALS)) as string;
    const clientPort = chance(0.05) ? 0 : 1024 + Math.floor(rand() * 64_000);
    const fields = [
      chance(0.9) ? pick(PROTOCOLS.slice(0, 3)) : pick(PROTOCOLS),
      hexAddress(mixed && chance(0.5) ? (v6 ? '10.80.0.1' : '2001:db8:ff::1') : client),
      hexPort(clientPort),
      hexAddress(vip),
      hexPort(pick(PORTS)),
      hexAddress(destination),
      hexPort(chance(0.7) ? pick(PORTS.slice(1, 9)) : pick(PORTS)),
      pick(STATE_NAMES),
      chance(0.95) ? pick(EXPIRES) : pick(ODD_EXPIRES),
    ];
    if (chance(0.05)) fields.splice(Math.floor(rand() * fields.length), 1);
    if (chance(0.1)) fields.push('sip', '0A4F0002');
    const lead = chance(0.05) ? pick(SPACES) : '';
    const trail = chance(0.05) ? pick(SPACES) : '';
    return lead + fields.map((f, i) => (i === 0 ? f : space() + f)).join('') + trail;
  }

  it('20,000 generated rows: the same rows read, the same skips, the same entry bytes', () => {
    const fields = new IpvsConnectionFields();
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    for (let i = 0; i < 20_000; i++) {
      const text = line();
      const old = parseIpvsConnectionLineAsText(text);
      // The listing (lbctl status --connections) reads and prints what it did.
      assert.deepEqual(parseIpvsConnectionLine(text), old, text);
      // Read in place amid a read's other lines, as the table is read, too.
      const read = `TCP 0A4F0002\n${text}\nUDP`;
      const inPlace = readIpvsConnectionFields(read, fields, 13, 13 + text.length);
      assert.deepEqual(inPlace ? ipvsConnectionOf(fields) : undefined, old, text);
      const now = syncMessageOfLine(text, index);
      if (old === undefined) {
        assert.equal(now, 'unread', text);
        count('unread');
        continue;
      }
      const before = ipvsTextRowToSyncEntry(old, textIndex);
      if ('skip' in before) {
        assert.equal(now, before.skip, text);
        count(before.skip);
        continue;
      }
      let encoded: Buffer;
      try {
        encoded = encodeSyncMessage(1, [before.entry]);
      } catch {
        // Mixed families made an entry no message could hold: now skipped.
        assert.equal(now, 'malformed', text);
        count('mixed');
        continue;
      }
      assert.ok(Buffer.isBuffer(now), `${text}: ${String(now)}`);
      assert.deepEqual(now, encoded, text);
      count(`${before.entry.family} ${before.entry.fwmark > 0 ? 'marked' : 'address'}`);
      count(`flags ${before.entry.flags} state ${before.entry.protocol}/${before.entry.state}`);
    }
    // Every outcome came up often enough for the comparison to mean something.
    for (const what of ['unread', 'template', 'state', 'noService', 'noReal', 'mixed']) {
      assert.ok((outcomes.get(what) ?? 0) >= 20, `${what}: ${JSON.stringify([...outcomes])}`);
    }
    for (const what of ['ipv4 address', 'ipv4 marked', 'ipv6 address', 'ipv6 marked']) {
      assert.ok((outcomes.get(what) ?? 0) >= 20, `${what}: ${JSON.stringify([...outcomes])}`);
    }
    // Each TCP state, UDP and SCTP's ESTABLISHED; NAT, TUN and DR, active and inactive.
    const sent = [...outcomes.keys()].filter((k) => k.startsWith('flags '));
    for (let state = 0; state <= 10; state++) {
      assert.ok(
        sent.some((k) => k.endsWith(` 6/${state}`)),
        `TCP state ${state}`,
      );
    }
    assert.ok(sent.some((k) => k.endsWith(' 17/0')));
    assert.ok(sent.some((k) => k.endsWith(` 132/${SCTP_STATE_ESTABLISHED}`)));
    for (const flags of [0, 2, 3, 0x100, 0x102, 0x103]) {
      assert.ok(
        sent.some((k) => k.startsWith(`flags ${flags} `)),
        `flags ${flags}`,
      );
    }
  });

  it('a protocol or state named like an object property is not read or not sent (the text mapping took it)', () => {
    const row = (protocol: string, state: string) =>
      `${protocol} 0A500001 A3F2 0A4F0064 0050 0A4F000B 0050 ${state} 97`;
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      assert.equal(parseIpvsConnectionLine(row(name, 'ESTABLISHED')), undefined, name);
      assert.equal(syncMessageOfLine(row(name, 'ESTABLISHED'), index), 'unread', name);
      assert.equal(syncMessageOfLine(row('TCP', name), index), 'state', name);
    }
  });
});
