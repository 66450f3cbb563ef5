import type { Clock } from '../../time/clock.js';
import type { NetworkEffects, VirtualAddress, VirtualRoute } from '../io.js';

export interface EffectEvent {
  readonly kind:
    | 'add-address'
    | 'remove-address'
    | 'add-route'
    | 'remove-route'
    | 'garp'
    | 'unsolicited-na';
  readonly target: string;
  readonly at: number;
}

/** Records what the engine did to the "host" and keeps the resulting address set. */
export class MemoryEffects implements NetworkEffects {
  readonly events: EffectEvent[] = [];
  readonly addresses = new Map<string, VirtualAddress>();
  readonly routes = new Map<string, VirtualRoute>();
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  addAddress(vip: VirtualAddress): void {
    this.addresses.set(vip.address, vip);
    this.record('add-address', vip.address);
  }

  removeAddress(vip: VirtualAddress): void {
    this.addresses.delete(vip.address);
    this.record('remove-address', vip.address);
  }

  addRoute(route: VirtualRoute): void {
    this.routes.set(route.destination, route);
    this.record('add-route', route.destination);
  }

  removeRoute(route: VirtualRoute): void {
    this.routes.delete(route.destination);
    this.record('remove-route', route.destination);
  }

  sendGratuitousArp(vip: VirtualAddress): void {
    this.record('garp', vip.address);
  }

  sendUnsolicitedNeighbourAdvert(vip: VirtualAddress): void {
    this.record('unsolicited-na', vip.address);
  }

  /** Events of one kind, optionally only those at or after `since`. */
  of(kind: EffectEvent['kind'], since = Number.NEGATIVE_INFINITY): EffectEvent[] {
    return this.events.filter((e) => e.kind === kind && e.at >= since);
  }

  private record(kind: EffectEvent['kind'], target: string): void {
    this.events.push({ kind, target, at: this.clock.now() });
  }
}
