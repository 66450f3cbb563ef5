import { LbctlError } from '../errors.js';

/**
 * Hands out small integer ids (map indexes). Freed ids are reused last-in-
 * last-out, so an id is reused as late as possible: connection entries that
 * still name an old real are then unlikely to meet a new one with its id.
 */
export class IdAllocator {
  private next: number;
  private readonly freed: number[] = [];
  private readonly used = new Set<number>();

  constructor(
    private readonly what: string,
    private readonly first: number,
    private readonly limit: number,
  ) {
    this.next = first;
  }

  allocate(): number {
    while (this.next < this.limit && this.used.has(this.next)) this.next++;
    let id: number | undefined;
    if (this.next < this.limit) id = this.next++;
    else id = this.freed.shift();
    if (id === undefined) {
      throw new LbctlError(
        'DATAPLANE_FULL',
        `Cannot allocate a ${this.what} id: all ${this.limit - this.first} are in use`,
      );
    }
    this.used.add(id);
    return id;
  }

  /** Marks an id found in pinned maps as taken. */
  claim(id: number): void {
    this.used.add(id);
    const i = this.freed.indexOf(id);
    if (i >= 0) this.freed.splice(i, 1);
  }

  release(id: number): void {
    if (!this.used.delete(id)) return;
    this.freed.push(id);
  }
}
