import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpvsConnection } from '../../src/dataplane/ipvs/ipvs-connections.js';
import { addressToBytes } from '../../src/net/address.js';
import { parseEndpoint } from '../../src/net/endpoint.js';
import { IpvsServiceIndex } from '../../src/sync/ipvs-connection-entry.js';
import {
  CONN_F,
  decodeSyncMessage,
  encodeSyncMessage,
  type SyncConnection,
  TCP_STATE,
} from '../../src/sync/ipvs-sync-codec.js';
import { syncEntryOfLine } from '../support/ipvs-row-entry.js';
import { real, service } from '../support/ipvs-specs.js';

const index = new IpvsServiceIndex([
  {
    service: service({ vip: '10.79.0.100', port: 80 }),
    reals: [real('10.79.0.11', 80, 'dr'), real('10.79.0.12', 80, 'dr')],
  },
  {
    service: service({ vip: '10.79.0.100', port: 8080 }),
    reals: [real('10.79.0.11', 8000, 'nat'), real('10.79.0.13', 8080, 'tun')],
  },
  {
    service: service({ vip: '10.79.0.101', port: 0, persistence: { timeoutS: 300 } }),
    reals: [real('10.79.0.11', 0, 'dr')],
  },
  {
    service: service({ vip: '0.0.0.0', port: 0, fwmark: 7 }),
    reals: [real('10.79.0.21', 0, 'dr')],
  },
  {
    service: service({ vip: '2001:db8::100', port: 53, protocol: 'udp' }),
    reals: [real('2001:db8::11', 5353, 'nat')],
  },
]);

/** A row as ipvsadm -Lnc shows it, to be written as the kernel's line. */
const row = (over: Partial<IpvsConnection>): IpvsConnection => ({
  protocol: 'tcp',
  expiresS: 897,
  state: 'ESTABLISHED',
  source: '10.79.0.2:41970',
  virtual: '10.79.0.100:80',
  destination: '10.79.0.11:80',
  ...over,
});

/** "a.b.c.d:port" or "[v6]:port" as the kernel prints it: hex address (IPv6 in full), hex port. */
function hexEndpoint(text: string): string {
  const endpoint = parseEndpoint(text);
  assert.ok(endpoint !== undefined, text);
  const hex = addressToBytes(endpoint.address).toString('hex').toUpperCase();
  const address = hex.length === 8 ? hex : (hex.match(/.{4}/g) ?? []).join(':').toLowerCase();
  return `${address} ${endpoint.port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The row's line in /proc/net/ip_vs_conn. */
const lineOf = (r: IpvsConnection): string =>
  [
    r.protocol.toUpperCase(),
    hexEndpoint(r.source),
    hexEndpoint(r.virtual),
    hexEndpoint(r.destination),
    r.state,
    String(r.expiresS),
  ].join(' ');

const mapped = (r: IpvsConnection) => syncEntryOfLine(lineOf(r), index);

const entryOf = (r: IpvsConnection): SyncConnection => {
  const result = mapped(r);
  assert.ok(typeof result !== 'string', String(result));
  return result;
};

describe('an IPVS connection row as the sync entry the kernel master would send', () => {
  it('an established DR connection: the real forwarding method, active, what its timer has left', () => {
    assert.deepEqual(entryOf(row({})), {
      family: 'ipv4',
      protocol: 6,
      flags: CONN_F.DROUTE,
      state: TCP_STATE.ESTABLISHED,
      clientAddress: '10.79.0.2',
      clientPort: 41970,
      virtualAddress: '10.79.0.100',
      virtualPort: 80,
      destinationAddress: '10.79.0.11',
      destinationPort: 80,
      fwmark: 0,
      timeoutS: 897,
    });
  });

  it('reads the kernel line format straight through (/proc/net/ip_vs_conn)', () => {
    const e = syncEntryOfLine(
      'TCP 0A4F0002 A3F2 0A4F0064 0050 0A4F000B 0050 FIN_WAIT         97',
      index,
    );
    assert.ok(typeof e !== 'string', String(e));
    assert.equal(e.state, TCP_STATE.FIN_WAIT);
    assert.equal(e.flags, CONN_F.DROUTE | CONN_F.INACTIVE);
    assert.equal(e.timeoutS, 97);
  });

  it('outside ESTABLISHED a TCP connection is inactive, as the kernel counts it; each real keeps its own method', () => {
    const nat = entryOf(
      row({ state: 'SYN_RECV', virtual: '10.79.0.100:8080', destination: '10.79.0.11:8000' }),
    );
    assert.equal(nat.state, TCP_STATE.SYN_RECV);
    assert.equal(nat.flags, CONN_F.MASQ | CONN_F.INACTIVE);
    const tun = entryOf(row({ virtual: '10.79.0.100:8080', destination: '10.79.0.13:8080' }));
    assert.equal(tun.flags, CONN_F.TUNNEL);
    for (const [name, state] of Object.entries(TCP_STATE)) {
      assert.equal(entryOf(row({ state: name })).state, state, name);
    }
  });

  it('UDP over IPv6: state 0 and inactive (IPVS never marks UDP active)', () => {
    const e = entryOf(
      row({
        protocol: 'udp',
        state: 'UDP',
        expiresS: 299,
        source: '[2001:db8::2]:40000',
        virtual: '[2001:db8::100]:53',
        destination: '[2001:db8::11]:5353',
      }),
    );
    assert.equal(e.family, 'ipv6');
    assert.equal(e.protocol, 17);
    assert.equal(e.state, 0);
    assert.equal(e.flags, CONN_F.MASQ | CONN_F.INACTIVE);
  });

  it("a port-0 service takes any port; a marked connection gets its service's mark", () => {
    const any = entryOf(row({ virtual: '10.79.0.101:443', destination: '10.79.0.11:443' }));
    assert.equal(any.flags, CONN_F.DROUTE);
    assert.equal(any.fwmark, 0);
    const marked = entryOf(row({ virtual: '10.79.0.100:83', destination: '10.79.0.21:83' }));
    assert.equal(marked.fwmark, 7);
    assert.equal(marked.flags, CONN_F.DROUTE);
  });

  it('a real removed since keeps the method its service reals share', () => {
    assert.equal(entryOf(row({ destination: '10.79.0.99:80' })).flags, CONN_F.DROUTE);
  });

  it('a row about to expire is sent with 1 s, never 0 (the receiver would take its own timeout)', () => {
    assert.equal(entryOf(row({ expiresS: 0 })).timeoutS, 1);
  });

  it('skips templates, unknown states, foreign services and reals it cannot place', () => {
    const skip = (r: IpvsConnection) => {
      const result = mapped(r);
      return typeof result === 'string' ? result : 'sent';
    };
    assert.equal(skip(row({ source: '10.79.0.2:0', state: 'NONE' })), 'template');
    assert.equal(skip(row({ state: 'ASSURED' })), 'template');
    assert.equal(skip(row({ state: 'BOGUS' })), 'state');
    assert.equal(skip(row({ protocol: 'sctp', state: 'COOKIE_WAIT' })), 'state');
    assert.equal(skip(row({ virtual: '10.79.0.200:80' })), 'noService');
    // Mixed methods and the real gone: no way to tell which.
    assert.equal(
      skip(row({ virtual: '10.79.0.100:8080', destination: '10.79.0.99:8080' })),
      'noReal',
    );
    // One entry has one family for its three addresses.
    assert.equal(
      skip(
        row({
          protocol: 'udp',
          state: 'UDP',
          source: '[2001:db8::2]:40000',
          virtual: '[2001:db8::100]:53',
          destination: '10.79.0.11:5353',
        }),
      ),
      'malformed',
    );
  });

  it('encodes to what the kernel backup decodes, field for field', () => {
    const sent = [
      entryOf(row({})),
      entryOf(row({ state: 'TIME_WAIT', expiresS: 12 })),
      entryOf(row({ virtual: '10.79.0.100:83', destination: '10.79.0.21:83' })),
    ];
    const decoded = decodeSyncMessage(encodeSyncMessage(77, sent), 77);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.message.connections, sent);
  });
});
