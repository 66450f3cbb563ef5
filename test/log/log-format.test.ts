import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { LbctlError } from '../../src/errors.js';
import { createLogger, parseLogLevel } from '../../src/log.js';
import { lbctlCommand } from '../support/cli.js';

function capture(options: Parameters<typeof createLogger>[0]) {
  const lines: string[] = [];
  const logger = createLogger({ ...options, destination: { write: (line) => lines.push(line) } });
  return { logger, lines };
}

describe('journal log lines', () => {
  it('prefixes each event with its syslog priority and writes fields as key=value', () => {
    const { logger, lines } = capture({ format: 'journal', level: 'debug' });
    logger.debug({ instance: 'VI_1' }, 'timer');
    logger.info({ instance: 'VI_1', priority: 150, master: true }, 'entering MASTER state');
    logger.warn({ file: '/etc/x y.conf', line: 3 }, 'unknown keyword');
    logger.error(
      { err: new LbctlError('METRICS_LISTEN', 'Cannot bind: in use\nsecond line') },
      'failed',
    );
    logger.fatal({ reals: ['a:1', 'b:2'], where: { a: 1 } }, 'dead');
    assert.deepEqual(lines, [
      '<7>timer instance=VI_1\n',
      '<6>entering MASTER state instance=VI_1 priority=150 master=true\n',
      '<4>unknown keyword file="/etc/x y.conf" line=3\n',
      '<3>failed err="Cannot bind: in use\\nsecond line [METRICS_LISTEN]"\n',
      '<2>dead reals=["a:1","b:2"] where={"a":1}\n',
    ]);
  });

  it('keeps a multi-line message on one line', () => {
    const { logger, lines } = capture({ format: 'journal' });
    logger.info('one\ntwo');
    assert.deepEqual(lines, ['<6>one\\ntwo\n']);
  });

  it('writes pino JSON with --log-format json', () => {
    const { logger, lines } = capture({ format: 'json' });
    logger.info({ instance: 'VI_1' }, 'up');
    const event = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(event.level, 30);
    assert.equal(event.msg, 'up');
    assert.equal(event.instance, 'VI_1');
  });
});

describe('log levels', () => {
  it('accepts keepalived/syslog names and pino names', () => {
    assert.equal(parseLogLevel('warning', 'test'), 'warn');
    assert.equal(parseLogLevel('err', 'test'), 'error');
    assert.equal(parseLogLevel('notice', 'test'), 'info');
    assert.equal(parseLogLevel('emerg', 'test'), 'fatal');
    assert.equal(parseLogLevel('DEBUG', 'test'), 'debug');
    assert.equal(parseLogLevel('warn', 'test'), 'warn');
  });

  it('filters by the level: warning hides info', () => {
    const { logger, lines } = capture({ format: 'journal', level: 'warning' });
    logger.info('hidden');
    logger.warn('shown');
    assert.deepEqual(lines, ['<4>shown\n']);
  });

  it('reads LBCTL_LOG_LEVEL; --log-level wins over it', (t) => {
    const saved = process.env.LBCTL_LOG_LEVEL;
    t.after(() => {
      if (saved === undefined) delete process.env.LBCTL_LOG_LEVEL;
      else process.env.LBCTL_LOG_LEVEL = saved;
    });
    process.env.LBCTL_LOG_LEVEL = 'err';
    assert.equal(capture({ format: 'json' }).logger.level, 'error');
    assert.equal(capture({ format: 'json', level: 'debug' }).logger.level, 'debug');
  });

  it('rejects an unknown name, saying where it came from and what is accepted', () => {
    assert.throws(
      () => parseLogLevel('verbose', 'LBCTL_LOG_LEVEL'),
      (err: unknown) =>
        err instanceof LbctlError &&
        err.code === 'LOG_LEVEL_UNKNOWN' &&
        err.message ===
          "Cannot use log level 'verbose' (LBCTL_LOG_LEVEL): expected one of emerg, alert, crit, fatal, err, error, warning, warn, notice, info, debug, trace, silent",
    );
  });

  it('lbctl up: LBCTL_LOG_LEVEL=warning runs, an unknown level is a clear error', () => {
    const run = (env: Record<string, string>, args: string[] = []) =>
      spawnSync(process.execPath, [...lbctlCommand(), 'up', '/nonexistent/lbctl.yaml', ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
    const warning = run({ LBCTL_LOG_LEVEL: 'warning' });
    assert.equal(warning.status, 1);
    assert.match(warning.stderr, /nonexistent\/lbctl\.yaml/, 'got as far as reading the file');
    const unknown = run({ LBCTL_LOG_LEVEL: 'loud' });
    assert.equal(unknown.status, 1);
    assert.match(
      unknown.stderr,
      /^lbctl: Cannot use log level 'loud' \(LBCTL_LOG_LEVEL\): expected one of .* \[LOG_LEVEL_UNKNOWN\]\n$/,
    );
    const flag = run({}, ['--log-level', 'chatty']);
    assert.match(flag.stderr, /Cannot use log level 'chatty' \(--log-level\)/);
  });
});
