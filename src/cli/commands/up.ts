import { type Command, Option } from 'commander';
import { withDefaultScriptUser } from '../../config/default-script-user.js';
import { loadConfig } from '../../config/load.js';
import { auditScripts } from '../../config/script-audit.js';
import { buildServices } from '../../daemon/build.js';
import { Daemon } from '../../daemon/daemon.js';
import { InstanceLock } from '../../daemon/instance-lock.js';
import { loadHostConfig } from '../../daemon/load-host-config.js';
import type { ReloadOutcome } from '../../daemon/reload.js';
import { DumpWriter, dataDump, dumpPaths, statsDump } from '../../daemon/runtime-dump.js';
import { installSignalHandlers } from '../../daemon/signals.js';
import { SystemdNotifier } from '../../daemon/systemd-notify.js';
import { LbctlError } from '../../errors.js';
import { createLogger, LOG_FORMATS, type LogFormat, resolveLoggerOptions } from '../../log.js';
import { RouteNetlink } from '../../netlink/rtnetlink.js';
import { systemClock } from '../../time/clock.js';
import { DEFAULT_CONFIG_PATHS, resolveConfigPath } from '../default-config.js';

interface UpOptions {
  strict?: boolean;
  runDir: string;
  logLevel?: string;
  logFormat?: LogFormat;
}

/**
 * `lbctl up [FILE]`: runs in the foreground until SIGTERM, SIGINT or SIGQUIT
 * (signals: docs/operations.md). The whole configuration is validated before
 * anything is changed. Under systemd (Type=notify) it reports READY=1 once
 * VIPs and the data plane are up, RELOADING=1 around reloads, STOPPING=1.
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run lbctl in the foreground with this configuration (YAML or keepalived.conf)')
    .argument('[file]', `configuration file (default: ${DEFAULT_CONFIG_PATHS.join(', else ')})`)
    .option('--strict', 'reject unknown keepalived keywords instead of warning')
    .option(
      '--run-dir <dir>',
      'where the pid file, control socket and signal dumps live',
      '/run/lbctl',
    )
    .option(
      '--log-level <level>',
      'emerg, alert, crit, err, warning, notice, info, debug, trace (default: LBCTL_LOG_LEVEL, else info)',
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'journal: one line per event with a syslog priority prefix; json: pino JSON; pretty: for a terminal (default: pretty on a terminal, else journal)',
      ).choices(LOG_FORMATS),
    )
    .action(async (file: string | undefined, options: UpOptions) => {
      const logOptions = {
        ...(options.logLevel !== undefined && { level: options.logLevel }),
        ...(options.logFormat !== undefined && { format: options.logFormat }),
      };
      const logger = createLogger(logOptions);
      const notifier = SystemdNotifier.fromEnvironment(logger);
      const path = resolveConfigPath(file);
      // Interfaces are checked here, not at validate: they belong to this host.
      const netlink = new RouteNetlink();
      const links = await netlink.listLinks().finally(() => netlink.close());
      const loaded = loadConfig(path, {
        strict: options.strict === true,
        existingInterfaces: links.map((link) => link.name),
        requireWork: true,
      });
      for (const w of loaded.warnings) logger.warn({ file: w.file, line: w.line }, w.message);
      const { config, warning: scriptUserWarning } = await withDefaultScriptUser(loaded.config);
      if (scriptUserWarning !== undefined) logger.warn(scriptUserWarning);
      // Scripts are checked against this host's files before anything changes.
      const scripts = await auditScripts(config);
      for (const w of scripts.warnings) logger.warn(w);
      if (scripts.errors.length > 0) {
        throw new LbctlError(
          'SCRIPT_INSECURE',
          `Cannot start: ${scripts.errors.length} script(s) refused\n  ${scripts.errors.join('\n  ')}`,
        );
      }
      const instance = config.global.instanceName;
      const lock = InstanceLock.acquire(instance, options.runDir);
      const control = {
        runDir: options.runDir,
        reload: (): Promise<ReloadOutcome> => daemon.reload(),
      };
      // Signals (and a failed VRRP thread) are routed before starting: one that
      // arrives during start still shuts down cleanly (after start finishes or
      // rolls back).
      let stop: (signal: string) => void = () => undefined;
      const stopped = new Promise<string>((resolve) => {
        stop = resolve;
      });
      let stopping = false;
      // Why the daemon stops on its own (its VRRP thread failed), if it does.
      let failure: Error | undefined;
      const { services, stopOrder, sources } = buildServices({
        config,
        logger,
        clock: systemClock,
        control,
        vrrpThread: {
          log: resolveLoggerOptions(logOptions),
          onFailure: (err) => {
            failure ??= err;
            stopping = true;
            stop('VRRP thread failure');
          },
        },
      });
      const daemon: Daemon = new Daemon(services, logger, {
        stopOrder,
        readConfig: () => loadHostConfig(path, options.strict === true),
        lifecycle: {
          reloading: () => notifier.reloading(),
          reloaded: () => notifier.ready(`running instance ${instance}`),
        },
      });
      const dumps = dumpPaths(options.runDir, instance);
      const dumpWriter = new DumpWriter(logger);
      const removeSignalHandlers = installSignalHandlers(logger, {
        stop: (signal) => {
          if (stopping) logger.warn({ signal }, 'already shutting down; %s ignored', signal);
          stopping = true;
          stop(signal);
        },
        reload: () => {
          daemon.reload().then(
            () => logger.info('configuration reloaded'),
            (err: unknown) => logger.error({ err }, 'reload failed; still running as before'),
          );
        },
        dumpData: () =>
          dumpWriter.request('data dump', dumps.data, () => dataDump(sources, instance)),
        dumpStats: () =>
          dumpWriter.request('statistics', dumps.stats, () => statsDump(sources, instance)),
      });
      try {
        await daemon.start();
      } catch (err) {
        removeSignalHandlers();
        lock.release();
        throw err;
      }
      logger.info({ instance, file: path }, 'lbctl is up');
      notifier.ready(`running instance ${instance}`);
      // Runs until a signal whatever its services hold open (without this, a
      // daemon with no socket or timer of its own would exit 13 here).
      const keepAlive = setInterval(() => {}, 2 ** 30);
      logger.info({ signal: await stopped }, 'shutting down');
      clearInterval(keepAlive);
      notifier.stopping();
      await daemon.close();
      lock.release();
      logger.info('lbctl stopped');
      logger.flush();
      removeSignalHandlers();
      if (failure !== undefined) throw failure;
    });
}
