import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyncedFlow } from '../../src/dataplane/connection-sync.js';
import { toSyncConnection, toSyncedFlow } from '../../src/sync/flow-mapping.js';
import { IpvsServiceIndex } from '../../src/sync/ipvs-connection-entry.js';
import { CONN_F, SCTP_STATE_ESTABLISHED, TCP_STATE } from '../../src/sync/ipvs-sync-codec.js';
import { syncEntryOfLine } from '../support/ipvs-row-entry.js';

const flow = (over: Partial<SyncedFlow>): SyncedFlow => ({
  protocol: 'tcp',
  family: 'ipv4',
  client: '10.79.0.2',
  clientPort: 41970,
  vip: '10.79.0.100',
  vport: 53,
  real: '10.79.0.11',
  realPort: 53,
  forwarding: 'dr',
  established: true,
  closing: false,
  timeoutS: 300,
  ...over,
});

describe('an XDP flow as the sync entry the kernel master would send', () => {
  // The kernel binds every new connection with its real's flags, which always hold
  // INACTIVE (__ip_vs_update_dest, ip_vs_bind_dest); only TCP's and SCTP's state
  // machines clear it at ESTABLISHED. UDP's never does.
  it('a UDP flow is inactive, whatever lbctl knows of it', () => {
    for (const established of [false, true]) {
      const entry = toSyncConnection(flow({ protocol: 'udp', established }));
      assert.equal(entry.state, 0);
      assert.equal(entry.flags, CONN_F.DROUTE | CONN_F.INACTIVE);
    }
  });

  it('TCP is active only once established; SCTP is sent established and active', () => {
    const tcp = (over: Partial<SyncedFlow>) => toSyncConnection(flow(over));
    assert.equal(tcp({}).flags, CONN_F.DROUTE);
    assert.equal(tcp({ established: false }).state, TCP_STATE.SYN_RECV);
    assert.equal(tcp({ established: false }).flags, CONN_F.DROUTE | CONN_F.INACTIVE);
    assert.equal(tcp({ closing: true }).flags, CONN_F.DROUTE | CONN_F.INACTIVE);
    const sctp = toSyncConnection(flow({ protocol: 'sctp', forwarding: 'tun' }));
    assert.equal(sctp.state, SCTP_STATE_ESTABLISHED);
    assert.equal(sctp.flags, CONN_F.TUNNEL);
  });

  it('matches what a director on kernel IPVS sends for the same UDP connection', () => {
    const services = new IpvsServiceIndex([
      {
        service: { vip: '10.79.0.100', port: 53, protocol: 'udp', scheduler: 'rr' },
        reals: [{ address: '10.79.0.11', port: 53, weight: 1, forwarding: 'dr' }],
      },
    ]);
    const fromTable = syncEntryOfLine(
      'UDP 0A4F0002 A3F2 0A4F0064 0035 0A4F000B 0035 UDP            300',
      services,
    );
    assert.deepEqual(toSyncConnection(flow({ protocol: 'udp' })), fromTable);
  });

  it('an inactive UDP entry is learnt back as the same flow', () => {
    const udp = flow({ protocol: 'udp', established: false });
    assert.deepEqual(toSyncedFlow(toSyncConnection(udp)), udp);
  });
});
