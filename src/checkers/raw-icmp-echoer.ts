import { canonicalAddress, requireFamily } from '../net/address.js';
import { internetChecksum } from '../net/checksum.js';
import { type RawDatagram, RawIpSocket } from '../net/raw-socket.js';
import type { EchoReply, EchoRequest, IcmpEchoer } from './icmp-echoer.js';

const ICMP = 1;
const ICMPV6 = 58;
const ICMP_ECHO_REPLY = 0;
const ICMP_UNREACHABLE = 3;
const ICMP_ECHO_REQUEST = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMPV6_UNREACHABLE = 1;
const ICMPV6_TIME_EXCEEDED = 3;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;

interface Waiter {
  readonly address: string;
  readonly sentAt: number;
  resolve(reply: EchoReply): void;
  reject(err: Error): void;
}

/** Errors reported by ICMP, named like the socket errors they match. */
function icmpError(family: 4 | 6, type: number, code: number): Error {
  const unreachable = family === 4 ? type === ICMP_UNREACHABLE : type === ICMPV6_UNREACHABLE;
  const [errno, text] = unreachable
    ? family === 4 && code === 0
      ? ['ENETUNREACH', 'network unreachable']
      : ['EHOSTUNREACH', 'host unreachable']
    : ['ETIMEDOUT', 'time exceeded in transit'];
  return Object.assign(new Error(`ICMP ${text} (type ${type} code ${code})`), { code: errno });
}

/**
 * ICMP echo over raw IP sockets (one per family and source address, shared by
 * all checks). Each target gets its own identifier and every request its own
 * sequence number, so a reply is matched to exactly one request and replies
 * to other pingers on the host are ignored. Destination-unreachable and
 * time-exceeded errors about a request fail it at once.
 */
export class RawIcmpEchoer implements IcmpEchoer {
  private readonly sockets = new Map<string, RawIpSocket>();
  private readonly waiting = new Map<string, Waiter>();
  private readonly identifiers = new Map<string, { id: number; seq: number }>();
  private readonly holds = new Map<RawIpSocket, number>();
  private nextIdentifier: number;
  private closed = false;

  constructor(firstIdentifier = Math.floor(Math.random() * 0x10000)) {
    this.nextIdentifier = firstIdentifier & 0xffff;
  }

  echo(request: EchoRequest): Promise<EchoReply> {
    if (this.closed) return Promise.reject(new Error('Cannot send an ICMP echo: echoer closed'));
    if (request.signal.aborted) return Promise.reject(request.signal.reason);
    const family = requireFamily(request.address, 'ping');
    const address = canonicalAddress(request.address);
    const socket = this.socketFor(family, request.bindTo);
    const target = `${address}|${request.bindTo ?? ''}`;
    let ident = this.identifiers.get(target);
    if (ident === undefined) {
      ident = { id: this.nextIdentifier, seq: 0 };
      this.nextIdentifier = (this.nextIdentifier + 1) & 0xffff;
      this.identifiers.set(target, ident);
    }
    ident.seq = (ident.seq + 1) & 0xffff;
    const key = `${family}:${ident.id}:${ident.seq}`;
    const message = Buffer.alloc(8 + request.payload.length);
    message[0] = family === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
    message.writeUInt16BE(ident.id, 4);
    message.writeUInt16BE(ident.seq, 6);
    request.payload.copy(message, 8);
    if (family === 4) message.writeUInt16BE(internetChecksum(message), 2);

    return new Promise<EchoReply>((resolve, reject) => {
      const onAbort = () => {
        this.waiting.delete(key);
        done();
        reject(request.signal.reason);
      };
      const done = () => {
        request.signal.removeEventListener('abort', onAbort);
        this.hold(socket, -1);
      };
      this.hold(socket, +1);
      this.waiting.set(key, {
        address,
        sentAt: performance.now(),
        resolve: (reply) => {
          done();
          resolve(reply);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      request.signal.addEventListener('abort', onAbort, { once: true });
      try {
        socket.send(message, address);
      } catch (err) {
        this.waiting.delete(key);
        done();
        reject(err);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiters) waiter.reject(new Error('ICMP echoer closed'));
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
  }

  /** Opens the socket for `family` (and source) now, in the current network namespace. */
  open(family: 4 | 6, bindTo?: string): void {
    this.socketFor(family, bindTo);
  }

  /** A socket keeps the process alive only while a request on it waits for its reply. */
  private hold(socket: RawIpSocket, delta: number): void {
    const count = (this.holds.get(socket) ?? 0) + delta;
    this.holds.set(socket, count);
    if (delta > 0 && count === 1) socket.ref();
    if (delta < 0 && count === 0) socket.unref();
  }

  private socketFor(family: 4 | 6, bindTo: string | undefined): RawIpSocket {
    const key = `${family}|${bindTo ?? ''}`;
    let socket = this.sockets.get(key);
    if (socket === undefined) {
      socket = new RawIpSocket({
        family,
        protocol: family === 4 ? ICMP : ICMPV6,
        ...(bindTo !== undefined ? { bindAddress: bindTo } : {}),
      });
      socket.receive((d) => this.onDatagram(family, d));
      socket.unref();
      this.sockets.set(key, socket);
    }
    return socket;
  }

  private onDatagram(family: 4 | 6, d: RawDatagram): void {
    const p = d.payload;
    if (p.length < 8) return;
    const type = p[0]!;
    const replyType = family === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY;
    if (type === replyType) {
      const key = `${family}:${p.readUInt16BE(4)}:${p.readUInt16BE(6)}`;
      const waiter = this.waiting.get(key);
      if (waiter === undefined || canonicalAddress(d.source) !== waiter.address) return;
      this.waiting.delete(key);
      waiter.resolve({ rttMs: performance.now() - waiter.sentAt });
      return;
    }
    const isError =
      family === 4
        ? type === ICMP_UNREACHABLE || type === ICMP_TIME_EXCEEDED
        : type === ICMPV6_UNREACHABLE || type === ICMPV6_TIME_EXCEEDED;
    if (!isError) return;
    // The error quotes the request: its IP header, then our echo header.
    const quoted = p.subarray(8);
    const ipHeaderLength = family === 4 ? ((quoted[0] ?? 0) & 0x0f) * 4 : 40;
    const echo = quoted.subarray(ipHeaderLength);
    const requestType = family === 4 ? ICMP_ECHO_REQUEST : ICMPV6_ECHO_REQUEST;
    if (echo.length < 8 || echo[0] !== requestType) return;
    const key = `${family}:${echo.readUInt16BE(4)}:${echo.readUInt16BE(6)}`;
    const waiter = this.waiting.get(key);
    if (waiter === undefined) return;
    this.waiting.delete(key);
    waiter.reject(icmpError(family, type, p[1]!));
  }
}
