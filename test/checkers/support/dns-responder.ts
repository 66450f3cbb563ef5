import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** How the test responder answers one query. */
export interface DnsAnswerPlan {
  readonly rcode?: number;
  /** Types of the answer records to include. */
  readonly answerTypes?: readonly number[];
  /** Send a reply with a different id first (a stale answer). */
  readonly staleFirst?: boolean;
  /** Do not answer at all. */
  readonly silent?: boolean;
}

/** A minimal DNS server on 127.0.0.1 that answers every query per `plan`. */
export async function startDnsResponder(plan: () => DnsAnswerPlan) {
  const socket = dgram.createSocket('udp4');
  const queries: Buffer[] = [];
  socket.on('message', (query, peer) => {
    queries.push(query);
    const p = plan();
    if (p.silent === true) return;
    const reply = buildReply(query, p);
    if (p.staleFirst === true) {
      const stale = Buffer.from(reply);
      stale.writeUInt16BE((reply.readUInt16BE(0) + 1) & 0xffff, 0);
      socket.send(stale, peer.port, peer.address);
    }
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  return { port, queries, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

function buildReply(query: Buffer, plan: DnsAnswerPlan): Buffer {
  // The question is everything after the 12-byte header.
  const question = query.subarray(12);
  const answers = (plan.answerTypes ?? []).map((type) => {
    const rdata = type === 1 ? Buffer.from([192, 0, 2, 7]) : Buffer.from([0, 0, 0, 0]);
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0); // pointer to the name in the question
    record.writeUInt16BE(type, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(60, 6);
    record.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([record, rdata]);
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8180 | (plan.rcode ?? 0), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}
