import type { Config } from '../src/config/model.js';
import { VrrpThread } from '../src/daemon/vrrp-thread.js';
import type { LoopDelayReading } from '../src/daemon/vrrp-thread-protocol.js';
import { silentLogger } from '../src/log.js';
import { withinNamespace } from '../src/netns/enter.js';
import { benchScheduling } from './scheduling.js';
import { AdvertCapture } from './vrrp-advert-capture.js';

/** A VRRP v3 master with 0.1 s adverts on eth0 (a backup takes over after 3 × 0.1 s + skew). */
export const BENCH_VRRP_INSTANCE =
  'vrrp_instance VI_BENCH {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 255\n    version 3\n    advert_int 0.1\n    virtual_ipaddress {\n        172.16.255.100/16\n    }\n}';

/**
 * The bench's VRRP master, as `lbctl up` runs it: on a thread of its own, in
 * namespace `ns` (eth0, its veth peer eth1), its adverts captured on eth1:
 * what a backup on the segment would see of its cadence.
 */
export class BenchVrrpMaster {
  private constructor(
    private readonly ns: string,
    private readonly thread: VrrpThread,
    readonly capture: AdvertCapture,
    /** SIGXCPU's demotions so far in this process (the count is the process's). */
    private readonly demotionsBefore: number,
  ) {}

  /** Starts it, with its thread's scheduling from LBCTL_BENCH_SCHEDULING (bench/scheduling.ts). */
  static async start(ns: string, config: Config): Promise<BenchVrrpMaster> {
    const capture = await AdvertCapture.start(ns, 'eth1');
    const thread = new VrrpThread({
      config: { ...config, global: { ...config.global, scheduling: benchScheduling().settings } },
      logger: silentLogger(),
      log: { level: 'silent', format: 'json' },
      // The bench's results would be void; it says so and its cleanup still runs.
      onFailure: (err) => console.error(`bench VRRP master: ${err.message}`),
    });
    try {
      // The thread is created inside the namespace, and its sockets with it.
      await withinNamespace(ns, () => thread.start());
      await thread.scheduling.start();
    } catch (err) {
      capture.close();
      await thread.close();
      throw err;
    }
    const demotions = (await thread.scheduling.reading())?.realtimeDemotions ?? 0;
    return new BenchVrrpMaster(ns, thread, capture, demotions);
  }

  /** How late the VRRP thread's timers ran since the last reading. */
  loopDelay(): Promise<LoopDelayReading> {
    return this.thread.loopDelay();
  }

  /** The scheduling the thread ran with, and how often SIGXCPU demoted it (for the result). */
  async scheduling(): Promise<{ scheduling: string; realtimeDemotions: number }> {
    const reading = await this.thread.scheduling.reading();
    return {
      scheduling: benchScheduling().name,
      realtimeDemotions:
        (reading?.realtimeDemotions ?? this.demotionsBefore) - this.demotionsBefore,
    };
  }

  async close(): Promise<void> {
    this.capture.close();
    await this.thread.scheduling.close();
    await withinNamespace(this.ns, () => this.thread.close());
  }
}
