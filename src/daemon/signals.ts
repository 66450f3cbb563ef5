import type { Logger } from '../log.js';
import { native } from '../native/addon.js';

/** What the daemon does for the signals that have a meaning (keepalived's). */
export interface SignalActions {
  /** SIGTERM, SIGINT, SIGQUIT: clean shutdown (VIPs released, XDP detached, pins and pid file removed). */
  stop(signal: NodeJS.Signals): void;
  /** SIGHUP: reload the configuration (keepalived, and every systemd ExecReload for it). */
  reload(): void;
  /** SIGUSR1: write the data dump (keepalived: /tmp/keepalived.data). */
  dumpData(): void;
  /** SIGUSR2: write the statistics dump (keepalived: /tmp/keepalived.stats). */
  dumpStats(): void;
}

export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/**
 * Catchable signals whose default action would end (or stop) the daemon
 * without its shutdown, leaving VIPs, XDP and pins behind; lbctl gives them no
 * meaning, so it logs and ignores them. Stop signals from a terminal (TSTP,
 * TTIN, TTOU) are among them: a stopped master still holds its VIP but no
 * longer advertises, so the backup would take the VIP too.
 * SIGXCPU is replaced by the addon's own handler once the event loop runs
 * realtime (`vrrp_rt_priority`, or a `max_auto_priority` raise): there it
 * means the event loop ran past `vrrp_rlimit_rttime`
 * (src/daemon/scheduling-service.ts).
 * Not listed: SIGPIPE and SIGXFSZ (Node already ignores them: writes fail
 * with EPIPE/EFBIG instead), SIGCHLD, SIGCONT, SIGURG, SIGWINCH (ignored by
 * default), the fault signals SEGV, BUS, FPE, ILL, ABRT, TRAP, SYS (a crash:
 * default action, see docs/operations.md), SIGKILL and SIGSTOP (uncatchable).
 */
export const IGNORED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGXCPU',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
];

/**
 * Routes every catchable signal to its action, or logs and ignores it.
 * Real-time signals, which Node cannot name, are set to SIG_IGN through the
 * addon (their default action is to terminate). Returns a function removing
 * the listeners; the SIGUSR1 listener bin/lbctl installs first stays, so the
 * inspector can never be opened by SIGUSR1 (see docs/operations.md).
 */
export function installSignalHandlers(logger: Logger, actions: SignalActions): () => void {
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const signal of STOP_SIGNALS) listeners.set(signal, () => actions.stop(signal));
  listeners.set('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'received SIGHUP: reloading the configuration');
    actions.reload();
  });
  listeners.set('SIGUSR1', () => actions.dumpData());
  listeners.set('SIGUSR2', () => actions.dumpStats());
  for (const signal of IGNORED_SIGNALS) {
    listeners.set(signal, () =>
      logger.warn({ signal }, 'ignoring %s: it has no meaning to lbctl', signal),
    );
  }
  for (const [signal, listener] of listeners) process.on(signal, listener);
  ignoreRealtimeSignals();
  return () => {
    for (const [signal, listener] of listeners) process.removeListener(signal, listener);
  };
}

function ignoreRealtimeSignals(): void {
  const addon = native();
  const { min, max } = addon.realtimeSignalRange();
  for (let signo = min; signo <= max; signo++) addon.ignoreSignal(signo);
}
