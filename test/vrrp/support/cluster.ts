import { silentLogger } from '../../../src/log.js';
import type { Clock } from '../../../src/time/clock.js';
import { FakeClock } from '../../../src/time/fake-clock.js';
import { VrrpEngine, type VrrpEngineOptions } from '../../../src/vrrp/engine.js';
import type { VrrpInstanceOptions } from '../../../src/vrrp/options.js';
import { MemoryEffects } from '../../../src/vrrp/testing/memory-effects.js';
import { MemoryLinks } from '../../../src/vrrp/testing/memory-links.js';
import { MemoryNetwork } from '../../../src/vrrp/testing/memory-network.js';

export interface TestNode {
  readonly name: string;
  readonly engine: VrrpEngine;
  readonly effects: MemoryEffects;
  readonly links: MemoryLinks;
}

/** Several engines on one in-memory LAN, driven by one fake clock. */
export class TestCluster {
  readonly clock = new FakeClock(0);
  /** The clock engines run on: the fake one unless a test needs real time. */
  readonly engineClock: Clock;
  readonly network: MemoryNetwork;
  readonly nodes = new Map<string, TestNode>();

  constructor(engineClock?: Clock) {
    this.engineClock = engineClock ?? this.clock;
    this.network = new MemoryNetwork(this.engineClock);
  }

  add(
    name: string,
    address: string,
    instances: VrrpInstanceOptions[],
    extra: Partial<Omit<VrrpEngineOptions, 'clock' | 'transport' | 'effects' | 'links'>> = {},
  ): TestNode {
    const effects = new MemoryEffects(this.engineClock);
    const links = new MemoryLinks();
    const engine = new VrrpEngine({
      clock: this.engineClock,
      logger: silentLogger(),
      transport: this.network.attach(name, { eth0: [address] }),
      effects,
      links,
      instances,
      ...extra,
    });
    const node = { name, engine, effects, links };
    this.nodes.set(name, node);
    return node;
  }

  node(name: string): TestNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  state(node: string, instance = 'VI_1'): string {
    return this.node(node).engine.instance(instance).state;
  }
}

/** A v2 instance on eth0 with one VIP, overridable. */
export function instanceOptions(overrides: Partial<VrrpInstanceOptions> = {}): VrrpInstanceOptions {
  return {
    name: 'VI_1',
    interface: 'eth0',
    virtualRouterId: 51,
    priority: 100,
    advertIntMs: 1000,
    vips: [{ address: '192.168.0.203', prefixLength: 24 }],
    ...overrides,
  };
}

/**
 * Two nodes with the default instance on one segment, elected: a (10.0.0.1,
 * priority 150) MASTER, b (10.0.0.2, priority 100) BACKUP.
 */
export function electedPair(): { c: TestCluster; a: TestNode; b: TestNode } {
  const c = new TestCluster();
  const a = c.add('a', '10.0.0.1', [instanceOptions({ priority: 150 })]);
  const b = c.add('b', '10.0.0.2', [instanceOptions({ priority: 100 })]);
  a.engine.start();
  b.engine.start();
  c.clock.advance(5000);
  return { c, a, b };
}
