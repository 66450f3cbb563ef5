import type { LinkStateSource } from '../io.js';

/** Link states set by the test; every interface is up unless set down. */
export class MemoryLinks implements LinkStateSource {
  private readonly down = new Set<string>();
  private readonly listeners = new Map<string, Set<(up: boolean) => void>>();

  isUp(iface: string): boolean {
    return !this.down.has(iface);
  }

  watch(iface: string, listener: (up: boolean) => void): () => void {
    let set = this.listeners.get(iface);
    if (!set) {
      set = new Set();
      this.listeners.set(iface, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  set(iface: string, up: boolean): void {
    if (this.isUp(iface) === up) return;
    if (up) this.down.delete(iface);
    else this.down.add(iface);
    for (const listener of this.listeners.get(iface) ?? []) listener(up);
  }
}
