import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { auditScripts } from '../../config/script-audit.js';
import { buildServices } from '../../daemon/build.js';
import { Daemon } from '../../daemon/daemon.js';
import { InstanceLock } from '../../daemon/instance-lock.js';
import { loadHostConfig } from '../../daemon/load-host-config.js';
import type { ReloadOutcome } from '../../daemon/reload.js';
import { LbctlError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { RouteNetlink } from '../../netlink/rtnetlink.js';
import { systemClock } from '../../time/clock.js';

/**
 * `lbctl up FILE`: runs in the foreground until SIGTERM or SIGINT. The whole
 * configuration is validated before anything is changed.
 */
export function registerUpCommand(program: Command): void {
  program
    .command('up')
    .description('run lbctl in the foreground with this configuration (YAML or keepalived.conf)')
    .argument('<file>', 'configuration file')
    .option('--strict', 'reject unknown keepalived keywords instead of warning')
    .option('--run-dir <dir>', 'where the instance pid file and control socket live', '/run/lbctl')
    .action(async (file: string, options: { strict?: boolean; runDir: string }) => {
      const logger = createLogger();
      // Interfaces are checked here, not at validate: they belong to this host.
      const netlink = new RouteNetlink();
      const links = await netlink.listLinks().finally(() => netlink.close());
      const { config, warnings } = loadConfig(file, {
        strict: options.strict === true,
        existingInterfaces: links.map((link) => link.name),
        requireWork: true,
      });
      for (const w of warnings) logger.warn({ file: w.file, line: w.line }, w.message);
      // Scripts are checked against this host's files before anything changes.
      const scripts = await auditScripts(config);
      for (const w of scripts.warnings) logger.warn(w);
      if (scripts.errors.length > 0) {
        throw new LbctlError(
          'SCRIPT_INSECURE',
          `Cannot start: ${scripts.errors.length} script(s) refused\n  ${scripts.errors.join('\n  ')}`,
        );
      }
      const lock = InstanceLock.acquire(config.global.instanceName, options.runDir);
      // Listen for signals before starting, so one that arrives during start
      // still shuts down cleanly (after start finishes or rolls back).
      const stopped = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      const control = {
        runDir: options.runDir,
        reload: (): Promise<ReloadOutcome> => daemon.reload(),
      };
      const reread = () => loadHostConfig(file, options.strict === true);
      const daemon: Daemon = new Daemon(
        buildServices({ config, logger, clock: systemClock, control }),
        logger,
        { readConfig: reread },
      );
      try {
        await daemon.start();
      } catch (err) {
        lock.release();
        throw err;
      }
      logger.info({ instance: config.global.instanceName, file }, 'lbctl is up');
      // Runs until a signal whatever its services hold open (without this, a
      // daemon with no socket or timer of its own would exit 13 here).
      const keepAlive = setInterval(() => {}, 2 ** 30);
      logger.info({ signal: await stopped }, 'shutting down');
      clearInterval(keepAlive);
      await daemon.close();
      lock.release();
      logger.info('lbctl stopped');
      logger.flush();
    });
}
