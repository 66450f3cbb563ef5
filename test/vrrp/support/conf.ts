/** One vrrp_instance for a test configuration (keepalived.conf syntax, read by lbctl and keepalived). */
export interface InstanceConf {
  readonly name: string;
  readonly vrid: number;
  readonly priority: number;
  readonly vips: readonly string[];
  /** virtual_ipaddress_excluded entries. */
  readonly excludedVips?: readonly string[];
  readonly version?: 2 | 3;
  /** Seconds; fractions only with version 3. */
  readonly advertInt?: number;
  readonly state?: 'MASTER' | 'BACKUP';
  readonly nopreempt?: boolean;
  readonly authPass?: string;
  readonly unicastSrc?: string;
  readonly unicastPeers?: readonly string[];
  readonly trackScripts?: readonly string[];
  readonly garpMasterDelay?: number;
  readonly interface?: string;
}

export interface ScriptConf {
  readonly name: string;
  readonly script: string;
  readonly interval: number;
  readonly weight: number;
  readonly fall?: number;
  readonly rise?: number;
}

/** A whole keepalived.conf with the given instances and scripts. */
export function keepalivedConf(
  routerId: string,
  instances: readonly InstanceConf[],
  scripts: readonly ScriptConf[] = [],
): string {
  const out: string[] = [
    'global_defs {',
    `  router_id ${routerId}`,
    '  vrrp_garp_master_delay 0',
    '}',
  ];
  for (const s of scripts) {
    out.push(
      `vrrp_script ${s.name} {`,
      `  script "${s.script}"`,
      `  interval ${s.interval}`,
      `  weight ${s.weight}`,
      `  fall ${s.fall ?? 1}`,
      `  rise ${s.rise ?? 1}`,
      '}',
    );
  }
  for (const i of instances) {
    out.push(
      `vrrp_instance ${i.name} {`,
      `  state ${i.state ?? 'BACKUP'}`,
      `  interface ${i.interface ?? 'eth0'}`,
      `  virtual_router_id ${i.vrid}`,
      `  priority ${i.priority}`,
      `  advert_int ${i.advertInt ?? 1}`,
      `  version ${i.version ?? 3}`,
    );
    if (i.nopreempt === true) out.push('  nopreempt');
    if (i.garpMasterDelay !== undefined) out.push(`  garp_master_delay ${i.garpMasterDelay}`);
    if (i.authPass !== undefined) {
      out.push('  authentication {', '    auth_type PASS', `    auth_pass ${i.authPass}`, '  }');
    }
    if (i.unicastSrc !== undefined) out.push(`  unicast_src_ip ${i.unicastSrc}`);
    if (i.unicastPeers !== undefined) {
      out.push('  unicast_peer {', ...i.unicastPeers.map((p) => `    ${p}`), '  }');
    }
    out.push('  virtual_ipaddress {', ...i.vips.map((v) => `    ${v}`), '  }');
    if (i.excludedVips !== undefined) {
      out.push('  virtual_ipaddress_excluded {', ...i.excludedVips.map((v) => `    ${v}`), '  }');
    }
    if (i.trackScripts !== undefined) {
      out.push('  track_script {', ...i.trackScripts.map((s) => `    ${s}`), '  }');
    }
    out.push('}');
  }
  return `${out.join('\n')}\n`;
}
