import { parseCommandLine } from '../checkers/command-line.js';
import { checkScriptSecurity } from '../checkers/script-security.js';
import { type Credentials, resolveCredentials } from '../checkers/system-user.js';
import type { Config, ScriptCommand, VirtualServer, VrrpNotify } from './model.js';

/** What lbctl may run, checked against the host's files at `up`. */
export interface ScriptAudit {
  /** Scripts refused: `up` must not start. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

interface ConfiguredScript {
  /** Where the configuration names it, for messages: `vrrp_script chk_nginx`. */
  readonly where: string;
  readonly command: string;
  readonly user?: string;
  readonly group?: string;
}

const NOTIFY_KEYWORDS: Record<keyof VrrpNotify, string> = {
  master: 'notify_master',
  backup: 'notify_backup',
  fault: 'notify_fault',
  stop: 'notify_stop',
  any: 'notify',
};

function serviceName(vs: VirtualServer): string {
  const t = vs.target;
  if (t.kind === 'fwmark') return `virtual_server fwmark ${t.fwmark}`;
  if (t.kind === 'group') return `virtual_server group ${t.group}`;
  return `virtual_server ${t.family === 'ipv6' ? `[${t.address}]` : t.address}:${t.port}`;
}

/** Every program the configuration can make lbctl run, with the user it names. */
export function configuredScripts(config: Config): ConfiguredScript[] {
  const out: ConfiguredScript[] = [];
  const add = (where: string, command: ScriptCommand | undefined) => {
    if (command !== undefined) out.push({ where, ...command });
  };
  const notify = (where: string, n: VrrpNotify) => {
    for (const key of Object.keys(NOTIFY_KEYWORDS) as (keyof VrrpNotify)[])
      add(`${where} ${NOTIFY_KEYWORDS[key]}`, n[key]);
  };
  for (const s of config.vrrpScripts)
    add(`vrrp_script ${s.name}`, {
      command: s.script,
      ...(s.user !== undefined && { user: s.user }),
      ...(s.group !== undefined && { group: s.group }),
    });
  for (const i of config.vrrpInstances) notify(`vrrp_instance ${i.name}`, i.notify);
  for (const g of config.vrrpSyncGroups) notify(`vrrp_sync_group ${g.name}`, g.notify);
  for (const vs of config.virtualServers) {
    const name = serviceName(vs);
    add(`${name} quorum_up`, vs.quorumUp);
    add(`${name} quorum_down`, vs.quorumDown);
    for (const rs of vs.realServers) {
      // Most reals name no script: no description built for them (tens of thousands at reload).
      if (
        rs.notifyUp === undefined &&
        rs.notifyDown === undefined &&
        !rs.checkers.some((c) => c.type === 'MISC_CHECK')
      )
        continue;
      const real = `${name} real_server ${rs.address}:${rs.port}`;
      add(`${real} notify_up`, rs.notifyUp);
      add(`${real} notify_down`, rs.notifyDown);
      for (const c of rs.checkers) {
        if (c.type !== 'MISC_CHECK') continue;
        add(`${real} MISC_CHECK`, {
          command: c.path,
          ...(c.user !== undefined && { user: c.user }),
          ...(c.group !== undefined && { group: c.group }),
        });
      }
    }
  }
  return out;
}

/**
 * keepalived's script security, checked once before anything starts: each
 * script is split as it will be run, its user resolved (the script's own,
 * else global_defs script_user, else root) and its program checked with
 * checkScriptSecurity. An unsafe script is refused when
 * enable_script_security is set and warned about when it is not.
 */
export async function auditScripts(
  config: Config,
  resolve: (user: string, group?: string) => Promise<Credentials> = (user, group) =>
    resolveCredentials({ user, ...(group !== undefined && { group }) }),
): Promise<ScriptAudit> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const secure = config.global.enableScriptSecurity;
  for (const script of configuredScripts(config)) {
    const user = script.user ?? config.global.scriptUser;
    const group = script.user !== undefined ? script.group : config.global.scriptGroup;
    let program: string;
    try {
      program = parseCommandLine(script.command).file;
    } catch (err) {
      errors.push(`${script.where}: ${(err as Error).message}`);
      continue;
    }
    let runAs: Credentials = { uid: 0, gid: 0 };
    if (user !== undefined) {
      try {
        runAs = await resolve(user, group);
      } catch (err) {
        // A user NSS cannot resolve now: check as strictly as for root (running it will fail anyway).
        warnings.push(`${script.where}: ${(err as Error).message}; checked as if run by root`);
      }
    }
    const found = checkScriptSecurity(program, runAs);
    if (found.kind === 'not-found') {
      warnings.push(`${script.where}: cannot find '${program}' (${found.reason}); it will fail`);
    } else if (found.kind === 'unsafe') {
      const as = user === undefined ? 'root' : `'${user}'`;
      const problem = `${found.program} runs as ${as} but ${found.path} is ${found.reason}`;
      if (secure) errors.push(`${script.where}: refused by enable_script_security: ${problem}`);
      else
        warnings.push(
          `${script.where}: unsafe script: ${problem} (set enable_script_security to refuse it)`,
        );
    }
  }
  return { errors, warnings };
}
