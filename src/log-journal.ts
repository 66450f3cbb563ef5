/**
 * pino's JSON event → one journald line: `<PRI>message key=value ...`.
 * journald (and syslog readers of sd-daemon(3) prefixes) take `<N>` as the
 * entry's priority; time, pid and host are dropped because the journal
 * records them itself. The line never contains a newline, so one event is
 * one journal entry.
 */

/** pino level numbers → syslog priorities (sd-daemon.h SD_ERR, SD_WARNING, ...). */
function syslogPriority(level: number): number {
  if (level >= 60) return 2; // fatal → crit
  if (level >= 50) return 3; // error → err
  if (level >= 40) return 4; // warn → warning
  if (level >= 30) return 6; // info
  return 7; // debug, trace
}

const DROPPED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

export function journalLine(json: string): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return `<6>${oneLine(json.trim())}`;
  }
  const priority = syslogPriority(typeof event.level === 'number' ? event.level : 30);
  const parts = [oneLine(String(event.msg ?? ''))];
  for (const [key, value] of Object.entries(event)) {
    if (DROPPED.has(key) || value === undefined) continue;
    parts.push(`${key}=${fieldValue(key, value)}`);
  }
  return `<${priority}>${parts.join(' ')}`;
}

function fieldValue(key: string, value: unknown): string {
  // Errors: the message (and code) an operator acts on; the stack only at debug via json.
  if (key === 'err' && typeof value === 'object' && value !== null) {
    const err = value as { message?: unknown; code?: unknown };
    const code = typeof err.code === 'string' ? ` [${err.code}]` : '';
    return quote(`${String(err.message ?? '')}${code}`);
  }
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Objects and arrays as compact JSON, quoted only when they hold spaces.
  return quote(JSON.stringify(value) ?? 'null', /^[^\s]+$/);
}

/** Bare when it needs no quoting (logfmt style), else a JSON string (escapes newlines). */
function quote(text: string, bare = /^[^\s"=\\]+$/): string {
  return bare.test(text) ? text : JSON.stringify(text);
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}
