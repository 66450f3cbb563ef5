import { type NativePacketSocket, native } from '../native/addon.js';

/** Sends whole Ethernet frames on one interface (AF_PACKET); never receives. */
export class PacketSocket {
  private readonly handle: NativePacketSocket;

  constructor(readonly ifname: string) {
    this.handle = new (native().PacketSocket)(ifname);
  }

  send(frame: Buffer): void {
    this.handle.send(frame);
  }

  close(): void {
    this.handle.close();
  }
}
