import type { Logger } from '../log.js';
import { sendUnixDatagram } from '../net/unix-datagram.js';

/**
 * sd_notify(3) for `Type=notify`: state changes sent as one datagram each to
 * $NOTIFY_SOCKET. Without that variable (not started by systemd) every call
 * does nothing. A failed send is logged, never fatal: systemd then times the
 * start out, which is the right outcome for a daemon it cannot hear.
 */
export class SystemdNotifier {
  private constructor(
    private readonly socketPath: string | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads $NOTIFY_SOCKET and removes it from the environment, as
   * sd_notify(unset_environment=1) does, so notify scripts lbctl runs
   * cannot speak for it.
   */
  static fromEnvironment(logger: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier {
    const path = env.NOTIFY_SOCKET;
    delete env.NOTIFY_SOCKET;
    return new SystemdNotifier(path === '' ? undefined : path, logger);
  }

  get enabled(): boolean {
    return this.socketPath !== undefined;
  }

  ready(status: string): void {
    this.send(['READY=1', `STATUS=${status}`, `MAINPID=${process.pid}`]);
  }

  /** MONOTONIC_USEC lets systemd ≥ 253 (Type=notify-reload) match the reload; older ones ignore it. */
  reloading(): void {
    const usec = process.hrtime.bigint() / 1000n; // CLOCK_MONOTONIC, as systemd wants
    this.send(['RELOADING=1', `MONOTONIC_USEC=${usec}`, 'STATUS=reloading']);
  }

  stopping(): void {
    this.send(['STOPPING=1', 'STATUS=stopping']);
  }

  status(text: string): void {
    this.send([`STATUS=${text}`]);
  }

  private send(assignments: readonly string[]): void {
    if (this.socketPath === undefined) return;
    const text = assignments.map((a) => a.replace(/\n/g, ' ')).join('\n');
    try {
      sendUnixDatagram(this.socketPath, Buffer.from(text));
    } catch (err) {
      this.logger.warn({ err, socket: this.socketPath }, 'Cannot notify systemd');
    }
  }
}
