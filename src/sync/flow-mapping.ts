/**
 * lbctl's view of a flow (established, closing) against IPVS's (a per-protocol
 * state, connection flags with the forwarding method). lbctl sees only the
 * client's side of a flow, as an IPVS director in DR or TUN mode does, so its
 * states are the ones such a director reaches.
 */
import type { SyncedFlow } from '../dataplane/connection-sync.js';
import type { Forwarding, Protocol } from '../dataplane/dataplane.js';
import {
  CONN_F,
  SCTP_STATE_ESTABLISHED,
  type SyncConnection,
  TCP_STATE,
} from './ipvs-sync-codec.js';

/** IPVS's protocol numbers for lbctl's protocols. */
export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { tcp: 6, udp: 17, sctp: 132 };
const PROTOCOL_NAME: Readonly<Record<number, Protocol>> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };
/** IPVS's connection flag for each forwarding method. */
export const FORWARDING_FLAG: Readonly<Record<Forwarding, number>> = {
  nat: CONN_F.MASQ,
  tun: CONN_F.TUNNEL,
  dr: CONN_F.DROUTE,
};

/** TCP states after a FIN or RST (IPVS's timeouts for them are tcpfin-like). */
const CLOSING_TCP_STATES: ReadonlySet<number> = new Set([
  TCP_STATE.FIN_WAIT,
  TCP_STATE.TIME_WAIT,
  TCP_STATE.CLOSE,
  TCP_STATE.CLOSE_WAIT,
  TCP_STATE.LAST_ACK,
]);

/**
 * A flow of this director as an IPVS sync entry. The kernel starts every
 * connection INACTIVE (its real's flags always hold it) and only TCP's and
 * SCTP's state machines clear it, at ESTABLISHED: a UDP connection stays
 * inactive, as the IPVS row mapping (ipvs-connection-entry.ts) sends it too.
 */
export function toSyncConnection(flow: SyncedFlow): SyncConnection {
  let state: number = 0;
  let active = false;
  if (flow.protocol === 'tcp') {
    if (flow.closing) state = TCP_STATE.FIN_WAIT;
    else if (flow.established) state = TCP_STATE.ESTABLISHED;
    else state = TCP_STATE.SYN_RECV;
    active = state === TCP_STATE.ESTABLISHED;
  } else if (flow.protocol === 'sctp') {
    state = SCTP_STATE_ESTABLISHED;
    active = true;
  }
  const flags = FORWARDING_FLAG[flow.forwarding] | (active ? 0 : CONN_F.INACTIVE);
  return {
    family: flow.family,
    protocol: PROTOCOL_NUMBER[flow.protocol],
    flags,
    state,
    clientAddress: flow.client,
    clientPort: flow.clientPort,
    virtualAddress: flow.vip,
    virtualPort: flow.vport,
    destinationAddress: flow.real,
    destinationPort: flow.realPort,
    fwmark: 0,
    timeoutS: flow.timeoutS,
  };
}

/** An IPVS sync entry as a flow to learn, or undefined for one lbctl does not track (fwmark-only). */
export function toSyncedFlow(c: SyncConnection): SyncedFlow | undefined {
  const protocol = PROTOCOL_NAME[c.protocol];
  if (protocol === undefined) return undefined;
  const fwd = c.flags & CONN_F.FWD_MASK;
  const forwarding: Forwarding = fwd === CONN_F.MASQ ? 'nat' : fwd === CONN_F.TUNNEL ? 'tun' : 'dr';
  const tcp = protocol === 'tcp';
  return {
    protocol,
    family: c.family,
    client: c.clientAddress,
    clientPort: c.clientPort,
    vip: c.virtualAddress,
    vport: c.virtualPort,
    real: c.destinationAddress,
    realPort: c.destinationPort,
    forwarding,
    established: tcp && (c.state === TCP_STATE.ESTABLISHED || CLOSING_TCP_STATES.has(c.state)),
    closing: tcp && CLOSING_TCP_STATES.has(c.state),
    timeoutS: c.timeoutS,
  };
}
