import type { Logger } from '../log.js';
import type { Clock } from '../time/clock.js';
import { type CommandResult, type CommandSpec, runCommand } from './command.js';
import { type SmtpSettings, sendMail } from './smtp.js';
import type { VrrpState } from './state.js';

/** keepalived's notify_master / notify_backup / notify_fault / notify_stop / notify. */
export interface NotifyCommands {
  readonly master?: CommandSpec;
  readonly backup?: CommandSpec;
  readonly fault?: CommandSpec;
  /** Instances only. */
  readonly stop?: CommandSpec;
  /** Run on every change with `INSTANCE|GROUP name STATE priority` appended. */
  readonly generic?: CommandSpec;
  /** Send mail through the engine's SMTP settings on every change. */
  readonly smtpAlert?: boolean;
}

export type CommandRunner = (
  spec: CommandSpec,
  extraArgs: readonly string[],
) => Promise<CommandResult>;

export interface NotifierOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Notify scripts running longer are killed with their process group (default 30 s). */
  readonly timeoutMs?: number;
  readonly smtp?: SmtpSettings;
  /** Shown in mail subjects (keepalived router_id). */
  readonly routerId?: string;
  /** Replaces process spawning (tests that only look at argument lists). */
  readonly runner?: CommandRunner;
}

type Announced = Exclude<VrrpState, 'INIT'>;

/**
 * Tells operators about state changes. Everything runs in the background;
 * a failing script or mail server is logged and never affects VRRP.
 */
export class Notifier {
  private options: NotifierOptions;
  private readonly pending = new Set<Promise<void>>();

  constructor(options: NotifierOptions) {
    this.options = options;
  }

  /** A reload changed the SMTP settings or router id (absent ones are cleared). */
  update(settings: Pick<NotifierOptions, 'smtp' | 'routerId'>): void {
    const { smtp: _smtp, routerId: _routerId, ...rest } = this.options;
    this.options = { ...rest, ...settings };
  }

  instanceChanged(
    name: string,
    state: Announced,
    priority: number,
    commands: NotifyCommands,
  ): Promise<void> {
    return this.announce('INSTANCE', name, state, priority, commands);
  }

  /** Sync group changes: keepalived reports priority 0 for groups. */
  groupChanged(name: string, state: Announced, commands: NotifyCommands): Promise<void> {
    return this.announce('GROUP', name, state, 0, commands);
  }

  /** Waits for every notification still running. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private announce(
    kind: 'INSTANCE' | 'GROUP',
    name: string,
    state: Announced,
    priority: number,
    commands: NotifyCommands,
  ): Promise<void> {
    const jobs: Promise<void>[] = [];
    const specific = specificCommand(commands, state);
    if (specific) jobs.push(this.run(specific, [], name));
    if (commands.generic) {
      jobs.push(this.run(commands.generic, [kind, name, state, String(priority)], name));
    }
    if (commands.smtpAlert && this.options.smtp) jobs.push(this.mail(kind, name, state));
    const all = Promise.all(jobs).then(() => undefined);
    this.pending.add(all);
    void all.finally(() => this.pending.delete(all));
    return all;
  }

  private async run(spec: CommandSpec, extraArgs: readonly string[], name: string): Promise<void> {
    const runner: CommandRunner =
      this.options.runner ??
      ((s, args) =>
        runCommand(s, {
          clock: this.options.clock,
          timeoutMs: this.options.timeoutMs ?? 30_000,
          extraArgs: args,
        }));
    try {
      const result = await runner(spec, extraArgs);
      if (result.timedOut) {
        this.options.logger.warn(
          { instance: name, command: spec.command },
          'notify script timed out',
        );
      } else if (result.exitCode !== 0) {
        this.options.logger.warn(
          {
            instance: name,
            command: spec.command,
            exitCode: result.exitCode,
            signal: result.signal,
          },
          'notify script failed',
        );
      }
    } catch (err) {
      this.options.logger.warn(
        { instance: name, command: spec.command, err },
        'cannot run notify script',
      );
    }
  }

  private async mail(kind: 'INSTANCE' | 'GROUP', name: string, state: Announced): Promise<void> {
    const smtp = this.options.smtp;
    if (!smtp) return;
    const what = kind === 'INSTANCE' ? 'VRRP Instance' : 'VRRP Group';
    const prefix = this.options.routerId === undefined ? '' : `[${this.options.routerId}] `;
    const subject = `${prefix}${what} ${name} - Entering ${state} state`;
    const body =
      state === 'MASTER'
        ? `=> ${what} is now owning its virtual addresses <=`
        : state === 'STOP'
          ? `=> ${what} stopped <=`
          : `=> ${what} is no longer owning its virtual addresses <=`;
    try {
      await sendMail(smtp, { subject, body });
    } catch (err) {
      this.options.logger.warn({ instance: name, err }, 'cannot send smtp alert');
    }
  }
}

function specificCommand(commands: NotifyCommands, state: Announced): CommandSpec | undefined {
  switch (state) {
    case 'MASTER':
      return commands.master;
    case 'BACKUP':
      return commands.backup;
    case 'FAULT':
      return commands.fault;
    case 'STOP':
      return commands.stop;
  }
}
