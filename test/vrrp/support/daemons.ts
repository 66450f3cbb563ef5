import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nsenterArgs } from '../../../src/netns/exec.js';
import { lbctlCommand } from '../../support/cli.js';
import { SLOWDOWN } from '../../support/slowdown.js';

export type ObservedState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** A line of output with the time (Date.now()) it was read. */
export interface LogLine {
  readonly at: number;
  readonly text: string;
}

interface Waiter {
  readonly match: (line: LogLine) => boolean;
  readonly resolve: (line: LogLine) => void;
}

/**
 * A VRRP daemon (lbctl or keepalived) running in a namespace, watched through
 * its log: every line is kept, and the current state of each instance is
 * followed from the transition lines.
 */
export abstract class VrrpDaemon {
  readonly lines: LogLine[] = [];
  readonly states = new Map<string, ObservedState>();
  protected child: ChildProcess | undefined;
  private waiters = new Set<Waiter>();
  private exitPromise: Promise<void> = Promise.resolve();
  readonly dir: string;

  constructor(
    readonly label: string,
    readonly namespace: string,
    dir: string,
  ) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Parses one output line into an instance state change, if it is one. */
  protected abstract transition(
    text: string,
  ): { instance: string; state: ObservedState } | undefined;
  protected abstract command(configPath: string): string[];

  start(config: string): void {
    if (this.running) throw new Error(`${this.label} is already running`);
    const configPath = join(this.dir, 'vrrp.conf');
    writeFileSync(configPath, config);
    this.states.clear();
    const [file = '', ...args] = this.command(configPath);
    const child = spawn('nsenter', [...nsenterArgs(this.namespace), file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exitPromise = new Promise((resolve) => child.once('exit', () => resolve()));
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (text) => this.onLine(text));
    }
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  state(instance: string): ObservedState | undefined {
    return this.states.get(instance);
  }

  /** Resolves with the first line (already seen or future) matching `match`. */
  waitForLine(
    what: string,
    match: (line: LogLine) => boolean,
    timeoutMs: number,
    since = 0,
  ): Promise<LogLine> {
    const seen = this.lines.find((line) => line.at >= since && match(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match: (line) => line.at >= since && match(line),
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(
          new Error(
            `${this.label}: timed out after ${timeoutMs} ms waiting for ${what}\n` +
              this.lines
                .slice(-15)
                .map((l) => l.text)
                .join('\n'),
          ),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Waits until `instance` enters `state` (after `since`, a Date.now() value); resolves with the time. */
  async waitForState(
    instance: string,
    state: ObservedState,
    timeoutMs: number,
    since = 0,
  ): Promise<number> {
    const line = await this.waitForLine(
      `${instance} to enter ${state}`,
      (l) => {
        const t = this.transition(l.text);
        return t?.instance === instance && t.state === state;
      },
      timeoutMs,
      since,
    );
    return line.at;
  }

  /** Sends `signal` and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    if (!this.running) return;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    try {
      await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Delivers `signal` to the daemon's processes. */
  protected signal(signal: NodeJS.Signals): void {
    // nsenter execs the program: the child pid is the daemon itself.
    this.child?.kill(signal);
  }

  private onLine(text: string): void {
    const line = { at: Date.now(), text };
    this.lines.push(line);
    const t = this.transition(text);
    if (t !== undefined) this.states.set(t.instance, t.state);
    for (const waiter of [...this.waiters]) {
      if (waiter.match(line)) {
        this.waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }
}

/**
 * How long `lbctl up` may take to say it is up: loading Node and lbctl is CPU
 * work that a loaded 2-core machine stretches to seconds, unlike the VRRP
 * timers that the bounds after it measure.
 */
export const LBCTL_START_BOUND_MS = 20_000 * SLOWDOWN;

/** `lbctl up` in a namespace; its JSON log says `entering <STATE> state` per instance. */
export class LbctlDaemon extends VrrpDaemon {
  /** Waits for "lbctl is up" (after `since`, a Date.now() value). */
  async waitUntilUp(timeoutMs = LBCTL_START_BOUND_MS, since = 0): Promise<void> {
    await this.waitForLine(
      'lbctl to be up',
      (l) => parseJson(l.text)?.msg === 'lbctl is up',
      timeoutMs,
      since,
    );
  }

  protected command(configPath: string): string[] {
    return [
      process.execPath,
      ...lbctlCommand(),
      'up',
      configPath,
      '--run-dir',
      this.dir,
      '--log-format',
      'json',
    ];
  }

  protected transition(text: string): { instance: string; state: ObservedState } | undefined {
    const entry = parseJson(text);
    const match = /^entering (\w+) state$/.exec(String(entry?.msg ?? ''));
    if (match === null || typeof entry?.instance !== 'string') return undefined;
    return { instance: entry.instance, state: match[1] as ObservedState };
  }

  /** Log entries (pino JSON objects) whose message is `msg`. */
  entries(msg: string): Record<string, unknown>[] {
    return this.lines
      .map((l) => parseJson(l.text))
      .filter((e): e is Record<string, unknown> => e?.msg === msg);
  }
}

/** Real keepalived (VRRP subsystem only, foreground, console log) in a namespace. */
export class KeepalivedDaemon extends VrrpDaemon {
  protected command(configPath: string): string[] {
    return [
      '/usr/sbin/keepalived',
      '--dont-fork',
      '--log-console',
      '--log-detail',
      '--no-syslog',
      '--vrrp',
      '--dont-respawn',
      '--use-file',
      configPath,
      '--pid',
      join(this.dir, 'keepalived.pid'),
      '--vrrp_pid',
      join(this.dir, 'vrrp.pid'),
    ];
  }

  protected transition(text: string): { instance: string; state: ObservedState } | undefined {
    const match = /\((\S+)\) Entering (\w+) STATE/.exec(text);
    if (match === null) return undefined;
    return { instance: match[1] ?? '', state: match[2] as ObservedState };
  }

  /**
   * SIGKILL goes to the VRRP child (the process that owns the VIPs), so it dies
   * without its shutdown; the parent (run with --dont-respawn) reaps it and exits.
   */
  protected override signal(signal: NodeJS.Signals): void {
    const vrrpPid = signal === 'SIGKILL' ? readPid(join(this.dir, 'vrrp.pid')) : undefined;
    if (vrrpPid === undefined || !this.running) {
      super.signal(signal);
      return;
    }
    try {
      process.kill(vrrpPid, 'SIGKILL');
    } catch {
      super.signal(signal);
    }
  }

  /** Also makes sure the VRRP child is gone: no keepalived may outlive a test. */
  override async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
    const vrrpPid = readPid(join(this.dir, 'vrrp.pid'));
    await super.stop(signal, timeoutMs);
    if (vrrpPid !== undefined && isKeepalived(vrrpPid)) process.kill(vrrpPid, 'SIGKILL');
  }
}

function isKeepalived(pid: number): boolean {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^Name:\s+keepalived$/m.test(status) && !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
