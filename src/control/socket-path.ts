import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRunDir } from '../paths.js';

/** The control socket of an instance: <runDir>/<instance>.sock. */
export function controlSocketPath(instance: string, runDir = defaultRunDir): string {
  return join(runDir, `${instance}.sock`);
}

/**
 * The instance a client command talks to: the one given, else the only one
 * with a socket in runDir, else "default" (as `lbctl up` names it).
 */
export function resolveInstance(given: string | undefined, runDir = defaultRunDir): string {
  if (given !== undefined) return given;
  let names: string[] = [];
  try {
    names = readdirSync(runDir)
      .filter((f) => f.endsWith('.sock'))
      .map((f) => f.slice(0, -'.sock'.length));
  } catch {
    // No run directory: nothing runs.
  }
  return names.length === 1 ? names[0]! : 'default';
}
