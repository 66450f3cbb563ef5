/** Minimal Ethernet frames for tests that only care about the EtherType. */
export function ethernetFrame(etherType: number, payloadBytes: number): Buffer {
  const frame = Buffer.alloc(14 + payloadBytes);
  Buffer.from([0x02, 0, 0, 0, 0, 1]).copy(frame, 0);
  Buffer.from([0x02, 0, 0, 0, 0, 2]).copy(frame, 6);
  frame.writeUInt16BE(etherType, 12);
  return frame;
}

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
