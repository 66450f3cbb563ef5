import { REDACTED } from './redact.js';

/** Keys whose values are secrets wherever they appear in a configuration document. */
const SECRET_KEYS = new Set(['password']);

/**
 * The secret values of a configuration document (before validation, either
 * format's shape): VRRP and SSL passwords. Walked iteratively, since the
 * document may be as deep as the nesting limit allows. `tree` says no node
 * appears twice (no YAML aliases): then nodes are not remembered, which for
 * ~100,000 containers cost more than the walk.
 */
export function secretsOf(document: unknown, tree = false): string[] {
  const secrets = new Set<string>();
  const pending: unknown[] = [document];
  // YAML aliases make one node appear in several places: walk each once.
  const seen = tree ? undefined : new Set<object>();
  // Containers only, without per-entry pairs: large documents hold ~100,000 of them.
  while (pending.length > 0) {
    const node = pending.pop();
    if (node === null || typeof node !== 'object') continue;
    if (seen !== undefined) {
      if (seen.has(node)) continue;
      seen.add(node);
    }
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object') pending.push(item);
    } else {
      const fields = node as Record<string, unknown>;
      for (const key in fields) {
        const value = fields[key];
        if (SECRET_KEYS.has(key) && typeof value === 'string' && value !== '') secrets.add(value);
        else if (typeof value === 'object') pending.push(value);
      }
    }
  }
  return [...secrets];
}

/**
 * `message` with every secret replaced by REDACTED: whatever a check reports
 * (a stray argument after auth_pass, a value too long) must never put a
 * password into a terminal or a log.
 */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let scrubbed = message;
  for (const secret of secrets) {
    if (scrubbed.includes(secret)) scrubbed = scrubbed.split(secret).join(REDACTED);
  }
  return scrubbed;
}
