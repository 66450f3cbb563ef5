import { resolveCredentials } from '../checkers/system-user.js';
import type { Config } from './model.js';
import { configuredScripts } from './script-audit.js';

/** keepalived's default script user, used when it exists and no script_user is set. */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';

async function userExists(name: string): Promise<boolean> {
  try {
    await resolveCredentials({ user: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * keepalived 2.2.7's script_user default: without `script_user`, scripts
 * that name no user of their own run as `keepalived_script` when that user
 * exists (with its primary group); otherwise as root, with a warning. Applied
 * to the configuration `up` and reload run, so every script runner, the
 * script audit and the dumps see the same user.
 */
export async function withDefaultScriptUser(
  config: Config,
  exists: (user: string) => Promise<boolean> = userExists,
): Promise<{ config: Config; warning?: string }> {
  if (config.global.scriptUser !== undefined) return { config };
  const scripts = configuredScripts(config);
  if (!scripts.some((s) => s.user === undefined)) return { config };
  if (await exists(DEFAULT_SCRIPT_USER)) {
    return { config: { ...config, global: { ...config.global, scriptUser: DEFAULT_SCRIPT_USER } } };
  }
  return {
    config,
    warning: `no script_user is set and user ${DEFAULT_SCRIPT_USER} does not exist: scripts without a user of their own run as root (as keepalived does); create ${DEFAULT_SCRIPT_USER} or set script_user`,
  };
}
