import net from 'node:net';
import type { CheckEvent } from '../checkers/scheduler.js';
import { DEFAULT_REAL_WEIGHT } from '../dataplane/dataplane.js';
import { type Logger, silentLogger } from '../log.js';
import { formatEndpoint } from '../net/endpoint.js';
import {
  type DesiredReal,
  type DesiredServiceState,
  freezeState,
  sameState,
} from './desired-state.js';
import { HealthConfigError } from './health-error.js';
import type { RealServerOptions, ScriptOptions, VirtualServerHealthOptions } from './options.js';
import { nextQuorumUp } from './quorum.js';
import type { ScriptEvent, ScriptRunner } from './script-runner.js';

/** One check's latest verdict as the service sees it. */
export interface CheckVerdict {
  readonly up: boolean;
  readonly weight?: number;
}

interface RealEntry {
  readonly options: RealServerOptions;
  readonly key: string;
  readonly weight: number;
  readonly inhibit: boolean;
  readonly checks: Map<string, CheckVerdict>;
  /** Wall-clock time (ms) each check last flipped up/down, or was registered. */
  readonly checkChangedAtMs: Map<string, number>;
  alive: boolean;
}

/** One real's liveness and its checks as metrics report them. */
export interface RealHealth {
  readonly address: string;
  readonly port: number;
  readonly alive: boolean;
  readonly checks: readonly {
    /** Position among the real's checkers, from 0, in configuration order. */
    readonly index: number;
    readonly type: string;
    readonly up: boolean;
    readonly changedAtMs: number;
  }[];
}

export interface VirtualServerHealthDeps {
  readonly scripts: ScriptRunner;
  readonly logger?: Logger;
}

export const DEFAULT_QUORUM = 1;
export const SORRY_SERVER_WEIGHT = 1;

/**
 * Turns check verdicts of one virtual server into its desired state: which
 * reals receive new flows with which weight, or the sorry server. Runs
 * notify_up/notify_down when a real's liveness flips and quorum_up/quorum_down
 * when quorum flips. A real is alive when all of its checks are up; its weight
 * is the configured weight moved by any dynamic weights (misc_dynamic).
 */
export class VirtualServerHealth {
  private readonly reals: RealEntry[];
  private readonly byCheck = new Map<string, RealEntry>();
  private readonly quorum: number;
  private readonly hysteresis: number;
  private readonly scripts: ScriptRunner;
  private readonly logger: Logger;
  private readonly listeners = new Set<(state: DesiredServiceState) => void>();
  private readonly scriptRuns = new Set<Promise<void>>();
  private quorumUp = false;
  private phase: 'configuring' | 'running' | 'stopped' = 'configuring';
  private state: DesiredServiceState = freezeState({ reals: [], quorumUp: false });

  constructor(
    private readonly options: VirtualServerHealthOptions,
    deps: VirtualServerHealthDeps,
  ) {
    this.scripts = deps.scripts;
    this.logger = (deps.logger ?? silentLogger()).child({ service: options.name });
    this.quorum = nonNegativeInteger(options.name, 'quorum', options.quorum ?? DEFAULT_QUORUM);
    this.hysteresis = nonNegativeInteger(options.name, 'hysteresis', options.hysteresis ?? 0);
    const seen = new Set<string>();
    this.reals = options.reals.map((real) => {
      const key = endpoint(options.name, 'real_server', real.address, real.port);
      if (seen.has(key)) {
        throw new HealthConfigError(
          `Cannot configure virtual server ${options.name}: real_server ${key} is listed twice`,
        );
      }
      seen.add(key);
      return {
        options: real,
        key,
        weight: nonNegativeInteger(
          options.name,
          `weight of real_server ${key}`,
          real.weight ?? DEFAULT_REAL_WEIGHT,
        ),
        inhibit: real.inhibitOnFailure ?? options.inhibitOnFailure ?? false,
        checks: new Map(),
        checkChangedAtMs: new Map(),
        alive: true,
      };
    });
    const sorry = options.sorryServer;
    if (sorry !== undefined) endpoint(options.name, 'sorry_server', sorry.address, sorry.port);
  }

  /** The key reals are known by in check registrations and events: "addr:port". */
  static realKey(address: string, port: number): string {
    return formatEndpoint(address, port);
  }

  /** Declares a check of a real and its starting verdict (down under alpha). */
  registerCheck(realKey: string, checkId: string, initial: CheckVerdict): void {
    if (this.phase !== 'configuring') {
      throw new HealthConfigError(
        `Cannot register check ${checkId} on ${this.options.name}: the service is already running`,
      );
    }
    const real = this.reals.find((r) => r.key === realKey);
    if (real === undefined) {
      throw new HealthConfigError(
        `Cannot register check ${checkId}: ${realKey} is not a real server of ${this.options.name}`,
      );
    }
    real.checks.set(checkId, initial);
    real.checkChangedAtMs.set(checkId, Date.now());
    this.byCheck.set(checkId, real);
  }

  /**
   * Settles the initial state. As in keepalived, reaching quorum at start runs
   * quorum_up; missing it runs quorum_down only when a sorry server takes over.
   * At a reload (`previousQuorumUp` from the replaced service) the quorum
   * state carries over, as keepalived's does: scripts run only if it flips.
   */
  start(previousQuorumUp?: boolean): DesiredServiceState {
    if (this.phase !== 'configuring') return this.state;
    this.phase = 'running';
    for (const real of this.reals) real.alive = allUp(real);
    if (previousQuorumUp !== undefined) {
      this.quorumUp = previousQuorumUp;
      this.updateQuorum();
      this.publish();
      return this.state;
    }
    const live = this.liveWeight();
    if (nextQuorumUp(false, live, this.quorum, this.hysteresis)) {
      this.quorumUp = true;
      this.logger.info({ live, quorum: this.quorum }, `quorum reached at start (${live})`);
      this.runScript(this.options.quorumUp, { kind: 'quorum_up', service: this.options.name });
    } else if (this.options.sorryServer !== undefined) {
      this.logger.warn({ live, quorum: this.quorum }, `quorum not reached at start (${live})`);
      this.runScript(this.options.quorumDown, { kind: 'quorum_down', service: this.options.name });
    }
    this.publish();
    return this.state;
  }

  /** Applies one check's new verdict; returns true when the desired state changed. */
  applyCheckEvent(event: CheckEvent): boolean {
    const real = this.byCheck.get(event.id);
    if (real === undefined || this.phase !== 'running') return false;
    if (real.checks.get(event.id)?.up !== event.up) real.checkChangedAtMs.set(event.id, Date.now());
    real.checks.set(event.id, {
      up: event.up,
      ...(event.weight !== undefined ? { weight: event.weight } : {}),
    });
    const alive = allUp(real);
    if (alive !== real.alive) {
      real.alive = alive;
      const why = event.reason === undefined ? '' : `: ${event.reason}`;
      this.logger.info(
        { real: real.key, alive, reason: event.reason },
        `real server ${real.key} is ${alive ? 'up' : `down${why}`}`,
      );
      const script = alive ? real.options.notifyUp : real.options.notifyDown;
      this.runScript(script, {
        kind: alive ? 'notify_up' : 'notify_down',
        service: this.options.name,
        real: real.key,
      });
    }
    this.updateQuorum();
    return this.publish();
  }

  current(): DesiredServiceState {
    return this.state;
  }

  /** Every real's liveness and check verdicts (a real without checks is alive). */
  realHealth(): RealHealth[] {
    return this.reals.map((real) => ({
      address: real.options.address,
      port: real.options.port,
      alive: real.alive,
      checks: [...real.checks].map(([id, verdict], index) => ({
        index,
        type: real.options.checkers[index]?.type ?? 'unknown',
        up: verdict.up,
        changedAtMs: real.checkChangedAtMs.get(id) ?? 0,
      })),
    }));
  }

  /** Calls `listener` with every new desired state; returns the unsubscribe function. */
  onChange(listener: (state: DesiredServiceState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Ends the service: the desired state becomes empty. With omega, alive
   * reals get notify_down and a held quorum gets quorum_down first. Resolves
   * once every script started by this service has finished.
   */
  async shutdown(): Promise<DesiredServiceState> {
    if (this.phase === 'running' && this.options.omega === true) {
      for (const real of this.reals) {
        if (!real.alive) continue;
        this.runScript(real.options.notifyDown, {
          kind: 'notify_down',
          service: this.options.name,
          real: real.key,
        });
      }
      if (this.quorumUp) {
        this.runScript(this.options.quorumDown, {
          kind: 'quorum_down',
          service: this.options.name,
        });
      }
    }
    this.phase = 'stopped';
    this.quorumUp = false;
    this.setState(freezeState({ reals: [], quorumUp: false }));
    await this.scriptsSettled();
    return this.state;
  }

  /** Resolves when scripts started so far have finished. */
  async scriptsSettled(): Promise<void> {
    while (this.scriptRuns.size > 0) await Promise.all([...this.scriptRuns]);
  }

  private updateQuorum(): void {
    const live = this.liveWeight();
    const up = nextQuorumUp(this.quorumUp, live, this.quorum, this.hysteresis);
    if (up === this.quorumUp) return;
    this.quorumUp = up;
    const bound = up ? this.quorum + this.hysteresis : this.quorum - this.hysteresis;
    if (up) {
      this.logger.info({ live, quorum: this.quorum }, `gained quorum: ${live} >= ${bound}`);
      this.runScript(this.options.quorumUp, { kind: 'quorum_up', service: this.options.name });
    } else {
      this.logger.warn({ live, quorum: this.quorum }, `lost quorum: ${live} < ${bound}`);
      this.runScript(this.options.quorumDown, { kind: 'quorum_down', service: this.options.name });
    }
  }

  private liveWeight(): number {
    let sum = 0;
    for (const real of this.reals) if (real.alive) sum += effectiveWeight(real);
    return sum;
  }

  private publish(): boolean {
    return this.setState(this.computeState());
  }

  private setState(next: DesiredServiceState): boolean {
    if (sameState(next, this.state)) return false;
    this.state = next;
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.logger.error({ err }, 'desired state listener threw');
      }
    }
    return true;
  }

  private computeState(): DesiredServiceState {
    const sorry = this.options.sorryServer;
    const sorryActive = sorry !== undefined && !this.quorumUp;
    const reals: DesiredReal[] = [];
    for (const real of this.reals) {
      const { address, port, forwarding } = real.options;
      // With the sorry server in charge every real is out, as if it had failed.
      const serving = real.alive && !sorryActive;
      if (serving) reals.push({ address, port, forwarding, weight: effectiveWeight(real) });
      else if (real.inhibit) reals.push({ address, port, forwarding, weight: 0 });
    }
    let sorryReal: DesiredReal | undefined;
    if (sorry !== undefined && (sorryActive || sorry.inhibit === true)) {
      sorryReal = {
        address: sorry.address,
        port: sorry.port,
        forwarding: sorry.forwarding,
        weight: sorryActive ? SORRY_SERVER_WEIGHT : 0,
      };
    }
    return freezeState({
      reals,
      quorumUp: this.quorumUp,
      ...(sorryReal !== undefined ? { sorry: sorryReal } : {}),
    });
  }

  private runScript(script: ScriptOptions | undefined, event: ScriptEvent): void {
    if (script === undefined) return;
    const run = this.scripts.run(script, event).finally(() => this.scriptRuns.delete(run));
    this.scriptRuns.add(run);
  }
}

function allUp(real: RealEntry): boolean {
  for (const verdict of real.checks.values()) if (!verdict.up) return false;
  return true;
}

/** The configured weight moved by each dynamic weight a check reported. */
function effectiveWeight(real: RealEntry): number {
  let weight = real.weight;
  for (const verdict of real.checks.values()) {
    if (verdict.weight !== undefined) weight += verdict.weight - real.weight;
  }
  return Math.max(0, weight);
}

function nonNegativeInteger(service: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new HealthConfigError(
      `Cannot configure virtual server ${service}: ${name} ${value} must be an integer >= 0`,
    );
  }
  return value;
}

function endpoint(service: string, what: string, address: string, port: number): string {
  if (net.isIP(address) === 0) {
    throw new HealthConfigError(
      `Cannot configure virtual server ${service}: ${what} address "${address}" is not an IP address`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new HealthConfigError(
      `Cannot configure virtual server ${service}: ${what} port ${port} is not a port (0-65535)`,
    );
  }
  return formatEndpoint(address, port);
}
