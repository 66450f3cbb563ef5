/**
 * Reload: read and validate the whole new configuration, ask every service
 * whether it can take it (each answers with a plan, or every reason it
 * cannot), and only when all agree apply the plans in start order. A refused
 * reload changes nothing: the daemon keeps running the old configuration.
 */

import { ConfigError, formatIssue } from '../config/errors.js';
import type { Config } from '../config/model.js';
import { LbctlError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Service } from '../service.js';
import { ReloadRefusedError } from './reload-refused.js';

/** A service that can take a new configuration without restarting. */
export interface Reloadable {
  /**
   * Checks `next` and returns the step that applies it; throws (or rejects
   * with) ReloadRefusedError otherwise. A plan over thousands of items may
   * be asynchronous so that it yields to VRRP's timers.
   */
  planReload(
    next: Config,
  ):
    | { summary: string; apply: () => Promise<void> }
    | Promise<{ summary: string; apply: () => Promise<void> }>;
}

export function isReloadable(service: Service): service is Service & Reloadable {
  return typeof (service as Partial<Reloadable>).planReload === 'function';
}

export interface ReloadOutcome {
  /** One line per service saying what changed. */
  readonly summary: readonly string[];
  readonly warnings: readonly string[];
}

export async function reloadServices(
  services: readonly Service[],
  load: () => Promise<{ config: Config; warnings: readonly string[] }>,
  logger: Logger,
): Promise<ReloadOutcome> {
  let loaded: { config: Config; warnings: readonly string[] };
  try {
    loaded = await load();
  } catch (err) {
    if (err instanceof ConfigError) {
      const details = err.issues.map(formatIssue);
      for (const line of details) logger.error(`reload refused: ${line}`);
      throw new ReloadRefusedError(details);
    }
    logger.error({ err }, `reload refused: ${(err as Error).message}`);
    throw new ReloadRefusedError([(err as Error).message]);
  }
  for (const w of loaded.warnings) logger.warn(w);
  const plans: { name: string; summary: string; apply: () => Promise<void> }[] = [];
  const problems: string[] = [];
  for (const service of services) {
    if (!isReloadable(service)) continue;
    try {
      plans.push({ name: service.name, ...(await service.planReload(loaded.config)) });
    } catch (err) {
      if (err instanceof ReloadRefusedError) problems.push(...err.details);
      else problems.push(`${service.name}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) logger.error(`reload refused: ${p}`);
    throw new ReloadRefusedError(problems);
  }
  for (const plan of plans) {
    try {
      await plan.apply();
    } catch (err) {
      // Plans check everything they can first; a data-plane write failing here is retried by the reconciler.
      logger.error(
        { err, service: plan.name },
        `reload of ${plan.name} failed part way: ${(err as Error).message}`,
      );
      throw new LbctlError(
        'RELOAD_FAILED',
        `Cannot finish the reload of ${plan.name}: ${(err as Error).message}`,
      );
    }
    logger.info(`reloaded: ${plan.summary}`);
  }
  return { summary: plans.map((p) => p.summary), warnings: loaded.warnings };
}
