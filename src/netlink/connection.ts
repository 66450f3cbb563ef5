import { constants } from 'node:os';
import { LbctlError } from '../errors.js';
import { type NativeNetlinkSocket, native } from '../native/addon.js';
import {
  type Attribute,
  attributeString,
  decodeAttributes,
  decodeMessages,
  encodeMessage,
  type NetlinkMessage,
  NLM_F_ACK,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSGERR_ATTR_MSG,
} from './message.js';

export const NETLINK_ROUTE = 0;
export const NETLINK_GENERIC = 16;

/** A netlink request the kernel refused: errno plus its extended-ack reason. */
export class NetlinkError extends LbctlError {
  constructor(
    message: string,
    readonly errno: number,
    readonly kernelMessage: string | undefined,
  ) {
    super('NETLINK_ERROR', message);
    this.name = 'NetlinkError';
  }
}

interface Pending {
  dump: boolean;
  replies: NetlinkMessage[];
  resolve: (replies: NetlinkMessage[]) => void;
  reject: (err: Error) => void;
  what: string;
}

const errnoNames = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * Request/response over one netlink socket: requests are numbered, replies
 * matched by sequence number, acks and dumps collected, errors turned into
 * NetlinkError with the kernel's own reason. Event-driven, no polling.
 */
export class NetlinkConnection {
  private readonly socket: NativeNetlinkSocket;
  private readonly pending = new Map<number, Pending>();
  private nextSeq = 1;
  private closed = false;

  constructor(protocol: number) {
    this.socket = new (native().NetlinkSocket)(protocol);
    this.socket.start((datagram) => {
      if (datagram !== null) this.dispatch(datagram);
    });
  }

  /**
   * Sends a request and resolves with its replies: for a dump, every message
   * until NLMSG_DONE; otherwise the ack (empty list) or any echoed reply.
   */
  request(
    what: string,
    type: number,
    flags: number,
    familyHeader: Buffer,
    attributes: readonly Attribute[] = [],
  ): Promise<NetlinkMessage[]> {
    if (this.closed) {
      return Promise.reject(
        new LbctlError('NETLINK_CLOSED', `Cannot ${what}: the netlink connection is closed`),
      );
    }
    const seq = this.nextSeq++;
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const message = encodeMessage(
      type,
      flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK),
      seq,
      familyHeader,
      attributes,
    );
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { dump, replies: [], resolve, reject, what });
      try {
        this.socket.send(message);
      } catch (err) {
        this.pending.delete(seq);
        reject(err);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    for (const p of this.pending.values()) {
      p.reject(
        new LbctlError('NETLINK_CLOSED', `Cannot ${p.what}: the netlink connection was closed`),
      );
    }
    this.pending.clear();
  }

  private dispatch(datagram: Buffer): void {
    for (const msg of decodeMessages(datagram)) {
      const p = this.pending.get(msg.seq);
      if (p === undefined) continue;
      if (msg.type === NLMSG_ERROR) {
        this.pending.delete(msg.seq);
        const errno = -msg.body.readInt32LE(0);
        if (errno === 0) p.resolve(p.replies);
        else p.reject(netlinkError(p.what, errno, msg));
      } else if (msg.type === NLMSG_DONE) {
        this.pending.delete(msg.seq);
        p.resolve(p.replies);
      } else {
        // Dump parts, or a reply ahead of the ack: both complete with the ack/done.
        p.replies.push(msg);
      }
    }
  }
}

function netlinkError(what: string, errno: number, msg: NetlinkMessage): NetlinkError {
  let kernelMessage: string | undefined;
  if ((msg.flags & NLM_F_ACK_TLVS) !== 0 && msg.body.length >= 20) {
    // nlmsgerr: error (4) + the original header (16), plus the original
    // payload unless capped; the extended-ack attributes follow.
    const requestLength = msg.body.readUInt32LE(4);
    const attrsAt = (msg.flags & NLM_F_CAPPED) !== 0 ? 20 : 4 + ((requestLength + 3) & ~3);
    kernelMessage = attributeString(decodeAttributes(msg.body, attrsAt).get(NLMSGERR_ATTR_MSG));
  }
  const name = errnoNames.get(errno) ?? `errno ${errno}`;
  const reason = kernelMessage ?? name;
  return new NetlinkError(`Cannot ${what}: ${reason} (${name})`, errno, kernelMessage);
}

/** Subscribes to netlink multicast groups and delivers every message. */
export class NetlinkEvents {
  private readonly socket: NativeNetlinkSocket;

  constructor(
    protocol: number,
    groups: readonly number[],
    onMessage: (msg: NetlinkMessage) => void,
    onLost?: () => void,
  ) {
    this.socket = new (native().NetlinkSocket)(protocol);
    for (const group of groups) this.socket.addMembership(group);
    this.socket.start((datagram) => {
      if (datagram === null) {
        onLost?.();
        return;
      }
      for (const msg of decodeMessages(datagram)) onMessage(msg);
    });
  }

  close(): void {
    this.socket.close();
  }
}
