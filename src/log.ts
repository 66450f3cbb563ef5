import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines (systemd/journald friendly), human readable
 * when stderr is a terminal. LBCTL_LOG_LEVEL overrides the level.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env.LBCTL_LOG_LEVEL ?? 'info';
  const base = { name: options.name ?? 'lbctl' };
  if (process.stderr.isTTY) {
    return pino({
      level,
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  return pino({ level, ...base }, pino.destination(2));
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
