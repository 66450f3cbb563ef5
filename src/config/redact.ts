import type { Config } from './model.js';

export const REDACTED = '<redacted>';

/**
 * A copy of `config` safe to log or print: VRRP authentication passwords and
 * the SSL password and key are replaced by REDACTED.
 */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    ...(config.ssl && {
      ssl: {
        ...config.ssl,
        ...(config.ssl.password !== undefined && { password: REDACTED }),
        ...(config.ssl.key !== undefined && { key: REDACTED }),
      },
    }),
    vrrpInstances: config.vrrpInstances.map((inst) =>
      inst.authentication
        ? { ...inst, authentication: { ...inst.authentication, password: REDACTED } }
        : inst,
    ),
  };
}
