import type { NativeBpfRingBuffer } from '../native/addon.js';
import { native } from './addon.js';
import type { BpfMap } from './map.js';

/**
 * A reader of a BPF ring-buffer map, drained by its owner on a timer (the
 * program writes without waking anyone). It holds its own descriptor: closing
 * the map does not stop it, closing it does not close the map.
 */
export class BpfRingBuffer {
  private constructor(private readonly handle: NativeBpfRingBuffer) {}

  static open(map: BpfMap): BpfRingBuffer {
    return new BpfRingBuffer(new (native().BpfRingBuffer)(map.nativeHandle));
  }

  /** The records written since the last drain, in order; stops after about maxBytes. */
  drain(maxBytes: number): Buffer[] {
    const raw = this.handle.drain(maxBytes);
    const records: Buffer[] = [];
    for (let at = 0; at + 4 <= raw.length; ) {
      const length = raw.readUInt32LE(at);
      records.push(raw.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    return records;
  }

  close(): void {
    this.handle.close();
  }
}
