import pino, { type Logger } from 'pino';
import { LbctlError } from './errors.js';
import { journalLine } from './log-journal.js';

export type { Logger };

/** How log events are written: see docs/operations.md, "Logs". */
export type LogFormat = 'journal' | 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['journal', 'json', 'pretty'];

/**
 * Level names accepted by --log-level and LBCTL_LOG_LEVEL: syslog's (as
 * keepalived and journald spell them) and pino's. lbctl logs at pino's six
 * levels, so syslog's finer ones map onto the nearest that shows at least as
 * much: notice shows info, crit/alert/emerg show fatal.
 */
const LEVEL_NAMES: Readonly<Record<string, pino.LevelWithSilent>> = {
  emerg: 'fatal',
  alert: 'fatal',
  crit: 'fatal',
  fatal: 'fatal',
  err: 'error',
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  silent: 'silent',
};

/** The pino level for a syslog or pino level name; `source` names where it came from for the error. */
export function parseLogLevel(name: string, source: string): pino.LevelWithSilent {
  const level = LEVEL_NAMES[name.trim().toLowerCase()];
  if (level === undefined) {
    throw new LbctlError(
      'LOG_LEVEL_UNKNOWN',
      `Cannot use log level '${name}' (${source}): expected one of ${Object.keys(LEVEL_NAMES).join(', ')}`,
    );
  }
  return level;
}

export function parseLogFormat(name: string, source: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(name)) {
    throw new LbctlError(
      'LOG_FORMAT_UNKNOWN',
      `Cannot use log format '${name}' (${source}): expected one of ${LOG_FORMATS.join(', ')}`,
    );
  }
  return name as LogFormat;
}

export interface LoggerOptions {
  /** A level name (syslog or pino); default LBCTL_LOG_LEVEL, else info. */
  readonly level?: string;
  /** Default: pretty on a terminal, journal otherwise. */
  readonly format?: LogFormat;
  readonly name?: string;
  /** Where lines go; default stderr (journald reads it under systemd). */
  readonly destination?: pino.DestinationStream;
}

/**
 * The process logger. On a terminal: colourised and human readable. Otherwise
 * (systemd, a pipe, a file) one line per event with a syslog priority prefix
 * (`<6>`) journald turns into the entry's priority; `json` keeps pino's JSON.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level, format } = resolveLoggerOptions(options);
  const base = { name: options.name ?? 'lbctl' };
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  switch (format) {
    case 'pretty':
      return pino({
        level,
        ...base,
        transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
      });
    case 'json':
      return pino({ level, ...base }, destination);
    case 'journal':
      return pino(
        { level, ...base },
        { write: (json: string) => destination.write(`${journalLine(json)}\n`) },
      );
  }
}

/**
 * The level and format `createLogger` uses for these options: the defaults
 * resolved (LBCTL_LOG_LEVEL, a terminal on stderr), so that a worker thread,
 * which has no terminal, logs as the main thread does.
 */
export function resolveLoggerOptions(options: LoggerOptions = {}): {
  level: pino.LevelWithSilent;
  format: LogFormat;
} {
  const fromEnv = process.env.LBCTL_LOG_LEVEL;
  const level =
    options.level !== undefined
      ? parseLogLevel(options.level, '--log-level')
      : fromEnv !== undefined && fromEnv !== ''
        ? parseLogLevel(fromEnv, 'LBCTL_LOG_LEVEL')
        : 'info';
  return { level, format: options.format ?? (process.stderr.isTTY ? 'pretty' : 'journal') };
}

/** A logger that discards everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
