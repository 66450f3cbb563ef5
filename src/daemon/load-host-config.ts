import { withDefaultScriptUser } from '../config/default-script-user.js';
import { formatIssue } from '../config/errors.js';
import { loadConfigOffThread } from '../config/load-off-thread.js';
import type { Config } from '../config/model.js';
import { auditScripts } from '../config/script-audit.js';
import { LbctlError } from '../errors.js';
import { RouteNetlink } from '../netlink/rtnetlink.js';

/**
 * Reads the configuration again for a reload, with every check `lbctl up`
 * makes at start: the file validated whole, the interfaces it names checked
 * against the host's, and the scripts it names audited.
 */
export async function loadHostConfig(
  file: string,
  strict: boolean,
): Promise<{ config: Config; warnings: string[] }> {
  const netlink = new RouteNetlink();
  const links = await netlink.listLinks().finally(() => netlink.close());
  // In a worker thread: a large file would otherwise hold the main loop (health checks) for a second.
  const loaded = await loadConfigOffThread(file, {
    strict,
    existingInterfaces: links.map((link) => link.name),
    requireWork: true,
  });
  const { config, warning } = await withDefaultScriptUser(loaded.config);
  const scripts = await auditScripts(config);
  if (scripts.errors.length > 0) {
    throw new LbctlError(
      'SCRIPT_INSECURE',
      `Cannot reload: ${scripts.errors.length} script(s) refused: ${scripts.errors.join('; ')}`,
    );
  }
  return {
    config,
    warnings: [
      ...loaded.warnings.map(formatIssue),
      ...(warning === undefined ? [] : [warning]),
      ...scripts.warnings,
    ],
  };
}
