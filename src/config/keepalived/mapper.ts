import { familyOf } from '../address.js';
import type { IssueList } from '../errors.js';
import type { Token } from './lexer.js';
import { type DocPath, LocationTable, pathKey } from './location-table.js';
import type { Statement } from './parser.js';

export type { DocPath, Located } from './location-table.js';
export { pathKey } from './location-table.js';

type Obj = Record<string, unknown>;

export interface BlockComments {
  readonly before?: readonly string[];
  readonly after?: string;
}

export interface MappedDocument {
  /** The configuration in the YAML document shape, still unvalidated. */
  readonly document: Obj;
  /** Where each value came from; only when asked for (see createKeepalivedMapper). */
  readonly locations: LocationTable | undefined;
  readonly comments: ReadonlyMap<string, BlockComments>;
}

/** The object at obj[key], created empty when missing. */
function child(obj: Obj, key: string): Obj {
  const existing = obj[key];
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing))
    return existing as Obj;
  const created: Obj = {};
  obj[key] = created;
  return created;
}

/** Keywords keepalived knows that lbctl accepts and ignores (with a warning). */
const IGNORED: ReadonlySet<string> = new Set([
  'vrrp_strict',
  'vrrp_skip_check_adv_addr',
  'vrrp_iptables',
  'vrrp_ipsets',
  'vrrp_no_swap',
  'checker_no_swap',
  'lvs_sync_daemon',
  'lvs_flush',
  'lvs_flush_on_stop',
  'default_interface',
  'dynamic_interfaces',
  'max_auto_priority',
  'vrrp_priority',
  'checker_priority',
  'bfd_priority',
  'snmp_socket',
  'enable_traps',
  'enable_snmp_vrrp',
  'enable_snmp_checker',
  'enable_snmp_rfc',
  'enable_dbus',
  'vrrp_garp_lower_prio_delay',
  'vrrp_garp_lower_prio_repeat',
  'vrrp_min_garp',
  'vrrp_lower_prio_no_advert',
  'vrrp_higher_prio_send_advert',
  'vrrp_check_unicast_src',
  'no_email_faults',
  'smtp_helo_name',
  'checker_log_all_failures',
  'vrrp_garp_extra_if',
  'use_vmac',
  'vmac_xmit_base',
  'dont_track_primary',
  'track_src_ip',
  'check_unicast_src',
  'unicast_fault_no_peer',
  'unicast_ttl',
  'old_unicast_checksum',
  'garp_lower_prio_delay',
  'garp_lower_prio_repeat',
  'garp_extra_if',
  'down_timer_adverts',
  'lower_prio_no_advert',
  'higher_prio_send_advert',
  'skip_check_adv_addr',
  'strict_mode',
  'debug',
  'promote_secondaries',
  'notify_master_rx_lower_pri',
  'notify_priority_changes',
  'kernel_rx_buf_size',
  'linkbeat_use_polling',
  'native_ipv6',
  'vrf',
  'mcast_dst_ip',
  'track_process',
  'track_bfd',
  'virtual_rules',
  'snmp_name',
  'ops',
  'flag-1',
  'flag-2',
  'flag-3',
  'sh-port',
  'sh-fallback',
  'mh-port',
  'mh-fallback',
  'persistence_engine',
  'sorry_server_inhibit',
  'uthreshold',
  'lthreshold',
  'bind_if',
  'bind_port',
  'fwmark',
  'log_all_failures',
  'fast_recovery',
  'init_file',
  'global_tracking',
  'lvs_sync_daemon_interface',
  'notify_deleted',
  'notification_email_from_name',
  'process_names',
  'script_security',
]);

const DEPRECATED: Readonly<Record<string, string>> = {
  lb_algo: 'lvs_sched',
  lb_kind: 'lvs_method',
  nb_get_retry: 'retry',
  vrrp_track_file: 'track_file',
  lvs_timeouts_tcp: 'lvs_timeouts',
};

/** Builds the configuration document from top-level statements, fed one at a time. */
export interface KeepalivedMapper {
  /** Maps one top-level statement into the document. */
  map(stmt: Statement): void;
  /** The document so far. */
  result(): MappedDocument;
}

/**
 * Maps keepalived statements to the configuration document (YAML shape),
 * remembering (when `recordLocations`) where every value came from so
 * validation errors point at keepalived lines. Unknown keywords are warned
 * and skipped (errors when strict), as keepalived itself does.
 */
export function createKeepalivedMapper(
  issues: IssueList,
  strict: boolean,
  recordLocations = false,
): KeepalivedMapper {
  // Recording is most of the mapping's cost on large files and positions are
  // needed only for problems, so the loader maps again with it when it must.
  const locations = recordLocations ? new LocationTable() : undefined;
  const comments = new Map<string, BlockComments>();
  const doc: Obj = {};

  /** Records where the value at `path` + `key` came from. */
  const locateIn = (path: DocPath, key: string | number, tok: Token, keyword: string) => {
    locations?.add(path, key, tok, keyword);
  };
  const remember = (path: DocPath, stmt: Statement) => {
    locations?.add(path, undefined, stmt.keyword, stmt.keyword.text);
    noteComments(path, undefined, stmt);
  };
  const noteComments = (path: DocPath, key: string | undefined, stmt: Statement) => {
    const before = stmt.keyword.commentsBefore;
    const after = stmt.keyword.commentAfter;
    if ((before && before.length > 0) || after !== undefined) {
      comments.set(pathKey(key === undefined ? path : [...path, key]), {
        ...(before && before.length > 0 ? { before } : {}),
        ...(after !== undefined ? { after } : {}),
      });
    }
  };
  const list = (key: string): Obj[] => {
    const existing = doc[key];
    if (Array.isArray(existing)) return existing as Obj[];
    const created: Obj[] = [];
    doc[key] = created;
    return created;
  };

  const unknown = (stmt: Statement, where: string) => {
    const kw = stmt.keyword.text;
    if (IGNORED.has(kw)) {
      issues.warn(stmt.keyword, `'${kw}' is not supported by lbctl; ignored`);
    } else if (strict) {
      issues.error(stmt.keyword, `unknown keyword '${kw}' in ${where}`);
    } else {
      issues.warn(stmt.keyword, `unknown keyword '${kw}' in ${where}; ignored`);
    }
  };
  const deprecated = (stmt: Statement) => {
    const replacement = DEPRECATED[stmt.keyword.text];
    if (replacement)
      issues.warn(stmt.keyword, `'${stmt.keyword.text}' is deprecated; use '${replacement}'`);
  };
  const needArgs = (stmt: Statement, count: number, what: string): boolean => {
    if (stmt.args.length >= count) return true;
    issues.error(stmt.keyword, `'${stmt.keyword.text}' needs ${what}`);
    return false;
  };
  const noBlock = (stmt: Statement): boolean => {
    if (!stmt.block) return true;
    issues.error(stmt.keyword, `'${stmt.keyword.text}' does not take a block`);
    return false;
  };
  const needBlock = (stmt: Statement): readonly Statement[] | undefined => {
    if (stmt.block) return stmt.block;
    issues.error(stmt.keyword, `'${stmt.keyword.text}' needs a { ... } block`);
    return undefined;
  };

  /** Integers stay numbers; anything else is kept as text so validation reports it in place. */
  const num = (tok: Token): number | string =>
    /^[-+]?\d+$/.test(tok.text) ? Number(tok.text) : tok.text;
  /** keepalived timers are (fractional) seconds; the document uses milliseconds. */
  const secs = (tok: Token): number | string =>
    /^\d+(\.\d+)?$/.test(tok.text) ? Math.round(Number(tok.text) * 1000) : tok.text;
  const boolArg = (stmt: Statement): boolean | undefined => {
    const arg = stmt.args[0];
    if (arg === undefined) return true;
    const t = arg.text.toLowerCase();
    if (t === 'on' || t === 'true' || t === 'yes') return true;
    if (t === 'off' || t === 'false' || t === 'no') return false;
    issues.error(arg, `'${stmt.keyword.text}' expects on|off|true|false|yes|no`);
    return undefined;
  };

  /** Sets obj[key] from the statement's first argument converted by `conv`. */
  const scalar = (
    obj: Obj,
    key: string,
    path: DocPath,
    stmt: Statement,
    conv: (tok: Token) => unknown = (t) => t.text,
  ) => {
    if (!noBlock(stmt) || !needArgs(stmt, 1, 'a value')) return;
    const arg = stmt.args[0] as Token;
    obj[key] = conv(arg);
    locateIn(path, key, arg, stmt.keyword.text);
    noteComments(path, key, stmt);
    if (stmt.args.length > 1) {
      issues.warn(
        stmt.args[1] as Token,
        `extra arguments after '${stmt.keyword.text} ${arg.text}' ignored`,
      );
    }
  };
  const flag = (obj: Obj, key: string, path: DocPath, stmt: Statement, value = true) => {
    if (!noBlock(stmt)) return;
    const b = stmt.args.length > 0 ? boolArg(stmt) : true;
    if (b === undefined) return;
    obj[key] = b === value;
    locateIn(path, key, stmt.keyword, stmt.keyword.text);
    noteComments(path, key, stmt);
  };

  /**
   * `script [user [group]]`: a quoted command may be followed by user and group.
   * Unquoted words are read as one command line (older keepalived behaviour);
   * keepalived 2 reads them as user/group, so this is warned about.
   */
  const command = (obj: Obj, key: string, path: DocPath, stmt: Statement) => {
    if (!noBlock(stmt) || !needArgs(stmt, 1, 'a script')) return;
    const [first, ...rest] = stmt.args as Token[];
    const value: Obj = {};
    if ((first as Token).quoted) {
      value.command = (first as Token).text;
      if (rest[0]) value.user = rest[0].text;
      if (rest[1]) value.group = rest[1].text;
    } else {
      value.command = stmt.args.map((t) => t.text).join(' ');
      if (rest.length > 0) {
        issues.warn(
          stmt.keyword,
          `'${stmt.keyword.text}' with unquoted arguments is read as one command line; quote it ("...") and put any user/group after the quotes`,
        );
      }
    }
    obj[key] = value;
    locateIn(path, key, first as Token, stmt.keyword.text);
    noteComments(path, key, stmt);
    locateIn([...path, key], 'command', first as Token, stmt.keyword.text);
  };

  /** `weight N [reverse|noreverse|no_reverse]` trailing options of track entries. */
  const trackList = (stmt: Statement, path: DocPath, start = 0): Obj[] => {
    const out: Obj[] = [];
    (needBlock(stmt) ?? []).forEach((entry) => {
      const i = start + out.length;
      const item: Obj = { name: entry.keyword.text };
      remember([...path, i], entry);
      locateIn([...path, i], 'name', entry.keyword, stmt.keyword.text);
      const args = [...entry.args];
      while (args.length > 0) {
        const opt = args.shift() as Token;
        if (opt.text === 'weight' && args[0]) {
          const w = args.shift() as Token;
          item.weight = num(w);
          locateIn([...path, i], 'weight', w, 'weight');
        } else if (opt.text === 'reverse') item.reverse = true;
        else if (opt.text === 'noreverse' || opt.text === 'no_reverse') item.reverse = false;
        else
          issues.error(
            opt,
            `unexpected '${opt.text}' in ${stmt.keyword.text}; expected weight <n> [reverse]`,
          );
      }
      out.push(item);
    });
    return out;
  };

  /** keepalived accumulates repeated list blocks (two virtual_ipaddress blocks add up). */
  /** Appends a block's entries to obj[key] (the keyword may repeat) and records where it stands. */
  const appendList = (
    obj: Obj,
    path: DocPath,
    key: string,
    stmt: Statement,
    entries: (stmt: Statement, path: DocPath, start: number) => Obj[],
  ) => {
    const listPath = [...path, key];
    const existing = (obj[key] as Obj[] | undefined) ?? [];
    obj[key] = [...existing, ...entries(stmt, listPath, existing.length)];
    remember(listPath, stmt);
  };

  const notifyKeys: Readonly<Record<string, string>> = {
    notify_master: 'master',
    notify_backup: 'backup',
    notify_fault: 'fault',
    notify_stop: 'stop',
    notify: 'any',
  };

  // ---- global_defs ---------------------------------------------------------
  const mapGlobal = (stmt: Statement) => {
    const g = child(doc, 'global');
    const path = ['global'];
    remember(path, stmt);
    const garp = (): Obj => child(g, 'garp');
    for (const s of needBlock(stmt) ?? []) {
      const kw = s.keyword.text;
      switch (kw) {
        case 'router_id':
          scalar(g, 'routerId', path, s);
          break;
        case 'notification_email': {
          const emails = (needBlock(s) ?? []).map((e) => e.keyword.text);
          g.notificationEmail = emails;
          remember([...path, 'notificationEmail'], s);
          break;
        }
        case 'notification_email_from':
          scalar(g, 'notificationEmailFrom', path, s);
          break;
        case 'smtp_server': {
          if (!needArgs(s, 1, 'a host')) break;
          const server: Obj = { host: (s.args[0] as Token).text };
          if (s.args[1]) server.port = num(s.args[1]);
          g.smtpServer = server;
          remember([...path, 'smtpServer'], s);
          if (s.args[1]) locateIn([...path, 'smtpServer'], 'port', s.args[1], kw);
          break;
        }
        case 'smtp_connect_timeout':
          scalar(g, 'smtpConnectTimeoutMs', path, s, secs);
          break;
        case 'smtp_alert':
        case 'smtp_alert_vrrp':
        case 'smtp_alert_checker':
          flag(g, 'smtpAlert', path, s);
          break;
        case 'enable_script_security':
          flag(g, 'enableScriptSecurity', path, s);
          break;
        case 'script_user':
          if (!needArgs(s, 1, 'a user name')) break;
          scalar(g, 'scriptUser', path, { keyword: s.keyword, args: s.args.slice(0, 1) });
          if (s.args[1]) {
            g.scriptGroup = s.args[1].text;
            locateIn(path, 'scriptGroup', s.args[1], kw);
          }
          break;
        case 'vrrp_garp_master_delay':
          scalar(garp(), 'masterDelayMs', [...path, 'garp'], s, secs);
          break;
        case 'vrrp_garp_master_repeat':
          scalar(garp(), 'masterRepeat', [...path, 'garp'], s, num);
          break;
        case 'vrrp_garp_master_refresh':
          scalar(garp(), 'masterRefreshMs', [...path, 'garp'], s, secs);
          break;
        case 'vrrp_garp_master_refresh_repeat':
          scalar(garp(), 'masterRefreshRepeat', [...path, 'garp'], s, num);
          break;
        case 'vrrp_garp_interval':
          scalar(garp(), 'intervalMs', [...path, 'garp'], s, secs);
          break;
        case 'vrrp_gna_interval':
          scalar(garp(), 'naIntervalMs', [...path, 'garp'], s, secs);
          break;
        case 'vrrp_version':
          scalar(g, 'vrrpVersion', path, s, num);
          break;
        case 'vrrp_mcast_group4':
          scalar(g, 'mcastGroup4', path, s);
          break;
        case 'vrrp_mcast_group6':
          scalar(g, 'mcastGroup6', path, s);
          break;
        case 'lvs_timeouts': {
          const t = child(g, 'connectionTimeouts');
          const names: Record<string, string> = { tcp: 'tcpMs', tcpfin: 'tcpFinMs', udp: 'udpMs' };
          for (let i = 0; i < s.args.length; i += 2) {
            const name = s.args[i] as Token;
            const value = s.args[i + 1];
            const key = names[name.text];
            if (!key || !value) {
              issues.error(name, `lvs_timeouts expects [tcp SECS] [tcpfin SECS] [udp SECS]`);
              break;
            }
            t[key] = secs(value);
            locateIn([...path, 'connectionTimeouts'], key, value, kw);
          }
          break;
        }
        // lbctl's own settings, so a keepalived.conf can choose the data plane too.
        case 'lbctl_data_plane':
          scalar(g, 'dataPlane', path, s);
          break;
        case 'lbctl_xdp_mode':
          scalar(g, 'xdpMode', path, s);
          break;
        case 'lbctl_pin_dir':
          scalar(g, 'pinDir', path, s);
          break;
        case 'lbctl_instance_name':
          scalar(g, 'instanceName', path, s);
          break;
        case 'lbctl_metrics_listen':
          scalar(g, 'metricsListen', path, s);
          break;
        default:
          unknown(s, 'global_defs');
      }
    }
  };

  // ---- vrrp_script / track_file -----------------------------------------
  const mapVrrpScript = (stmt: Statement) => {
    if (!needArgs(stmt, 1, 'a name')) return;
    const scripts = list('vrrpScripts');
    const path = ['vrrpScripts', scripts.length];
    const obj: Obj = { name: (stmt.args[0] as Token).text };
    remember(path, stmt);
    locateIn(path, 'name', stmt.args[0] as Token, stmt.keyword.text);
    for (const s of needBlock(stmt) ?? []) {
      switch (s.keyword.text) {
        case 'script':
          if (!needArgs(s, 1, 'a command')) break;
          obj.script = s.args.map((t) => t.text).join(' ');
          locateIn(path, 'script', s.args[0] as Token, 'script');
          break;
        case 'interval':
          scalar(obj, 'intervalMs', path, s, secs);
          break;
        case 'timeout':
          scalar(obj, 'timeoutMs', path, s, secs);
          break;
        case 'weight':
          scalar(obj, 'weight', path, { keyword: s.keyword, args: s.args.slice(0, 1) }, num);
          if (s.args[1]?.text === 'reverse') obj.weightReverse = true;
          else if (s.args[1]) issues.error(s.args[1], `expected 'reverse' after the weight`);
          break;
        case 'fall':
          scalar(obj, 'fall', path, s, num);
          break;
        case 'rise':
          scalar(obj, 'rise', path, s, num);
          break;
        case 'user':
          if (!needArgs(s, 1, 'a user name')) break;
          obj.user = (s.args[0] as Token).text;
          locateIn(path, 'user', s.args[0] as Token, 'user');
          if (s.args[1]) obj.group = s.args[1].text;
          break;
        case 'init_fail':
          flag(obj, 'initFail', path, s);
          break;
        default:
          unknown(s, `vrrp_script ${obj.name}`);
      }
    }
    scripts.push(obj);
    if (obj.script === undefined)
      issues.error(stmt.keyword, `vrrp_script ${obj.name} needs a 'script'`);
  };

  const mapTrackFile = (stmt: Statement) => {
    deprecated(stmt);
    if (!needArgs(stmt, 1, 'a name')) return;
    const files = list('trackFiles');
    const path = ['trackFiles', files.length];
    const obj: Obj = { name: (stmt.args[0] as Token).text };
    remember(path, stmt);
    for (const s of needBlock(stmt) ?? []) {
      switch (s.keyword.text) {
        case 'file':
          scalar(obj, 'file', path, s);
          break;
        case 'weight':
          scalar(obj, 'weight', path, { keyword: s.keyword, args: s.args.slice(0, 1) }, num);
          if (s.args[1]?.text === 'reverse') obj.weightReverse = true;
          break;
        default:
          unknown(s, `track_file ${obj.name}`);
      }
    }
    files.push(obj);
    if (obj.file === undefined) issues.error(stmt.keyword, `track_file ${obj.name} needs a 'file'`);
  };

  // ---- vrrp_instance ------------------------------------------------------
  const ipEntries = (stmt: Statement, path: DocPath, start = 0): Obj[] => {
    const out: Obj[] = [];
    for (const entry of needBlock(stmt) ?? []) {
      const i = start + out.length;
      const item: Obj = { address: entry.keyword.text };
      remember([...path, i], entry);
      locateIn([...path, i], 'address', entry.keyword, stmt.keyword.text);
      const args = [...entry.args];
      while (args.length > 0) {
        const opt = args.shift() as Token;
        const valued: Record<string, string> = {
          dev: 'dev',
          label: 'label',
          scope: 'scope',
          brd: 'broadcast',
          broadcast: 'broadcast',
        };
        const key = valued[opt.text];
        if (key !== undefined) {
          const value = args.shift();
          if (!value) {
            issues.error(opt, `'${opt.text}' needs a value`);
            break;
          }
          item[key] = value.text;
          locateIn([...path, i], key, value, opt.text);
        } else if (
          opt.text === 'peer' ||
          opt.text === 'preferred_lft' ||
          opt.text === 'track_group'
        ) {
          args.shift();
          issues.warn(opt, `'${opt.text}' on a virtual address is not supported by lbctl; ignored`);
        } else if (
          [
            'home',
            '-nodad',
            'nodad',
            'mngtmpaddr',
            'noprefixroute',
            'autojoin',
            'no_track',
            'use_vmac',
          ].includes(opt.text)
        ) {
          issues.warn(opt, `'${opt.text}' on a virtual address is not supported by lbctl; ignored`);
        } else {
          issues.error(opt, `unexpected '${opt.text}' after virtual address ${entry.keyword.text}`);
        }
      }
      out.push(item);
    }
    return out;
  };

  const routeEntries = (stmt: Statement, path: DocPath, start = 0): Obj[] => {
    const out: Obj[] = [];
    for (const entry of needBlock(stmt) ?? []) {
      const i = start + out.length;
      const item: Obj = {};
      remember([...path, i], entry);
      const words = [entry.keyword, ...entry.args];
      while (words.length > 0) {
        const w = words.shift() as Token;
        const take = (key: string, conv: (t: Token) => unknown = (t) => t.text) => {
          const v = words.shift();
          if (!v) issues.error(w, `'${w.text}' needs a value`);
          else {
            item[key] = conv(v);
            locateIn([...path, i], key, v, w.text);
          }
        };
        switch (w.text) {
          case 'src':
            take('src');
            break;
          case 'to':
            take('destination');
            break;
          case 'via':
          case 'gw':
            take('via');
            break;
          case 'or':
            words.shift();
            issues.warn(
              w,
              "multipath 'or' routes are not supported by lbctl; only the first gateway is used",
            );
            break;
          case 'dev':
            take('dev');
            break;
          case 'scope':
            take('scope');
            break;
          case 'table':
            take('table', num);
            break;
          case 'metric':
            take('metric', num);
            break;
          case 'blackhole':
          case 'unreachable':
          case 'prohibit':
            item.type = w.text;
            break;
          case 'no_track':
            issues.warn(w, "'no_track' is not supported by lbctl; ignored");
            break;
          default:
            if (item.destination === undefined && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(w.text)) {
              item.destination = w.text;
              locateIn([...path, i], 'destination', w, 'virtual_routes');
            } else {
              issues.error(w, `unexpected '${w.text}' in virtual_routes`);
            }
        }
      }
      if (item.destination === undefined)
        issues.error(entry.keyword, 'a virtual route needs a destination');
      out.push(item);
    }
    return out;
  };

  const mapInstance = (stmt: Statement) => {
    if (!needArgs(stmt, 1, 'a name')) return;
    const instances = list('vrrpInstances');
    const path = ['vrrpInstances', instances.length];
    const obj: Obj = { name: (stmt.args[0] as Token).text };
    remember(path, stmt);
    locateIn(path, 'name', stmt.args[0] as Token, stmt.keyword.text);
    const notify = (): Obj => child(obj, 'notify');
    const garp = (): Obj => child(obj, 'garp');
    for (const s of needBlock(stmt) ?? []) {
      const kw = s.keyword.text;
      switch (kw) {
        case 'state':
          scalar(obj, 'state', path, s, (t) => t.text.toUpperCase());
          break;
        case 'interface':
          scalar(obj, 'interface', path, s);
          break;
        case 'virtual_router_id':
          scalar(obj, 'virtualRouterId', path, s, num);
          break;
        case 'priority':
          scalar(obj, 'priority', path, s, num);
          break;
        case 'advert_int':
          scalar(obj, 'advertIntervalMs', path, s, secs);
          break;
        case 'version':
          scalar(obj, 'version', path, s, num);
          break;
        case 'nopreempt':
          flag(obj, 'preempt', path, s, false);
          break;
        case 'preempt':
          issues.warn(s.keyword, "'preempt' is the default and kept only for compatibility");
          flag(obj, 'preempt', path, s);
          break;
        case 'preempt_delay':
          scalar(obj, 'preemptDelayMs', path, s, secs);
          break;
        case 'unicast_src_ip':
          scalar(obj, 'unicastSrcIp', path, s);
          break;
        case 'mcast_src_ip':
          scalar(obj, 'mcastSrcIp', path, s);
          break;
        case 'unicast_peer': {
          const peers: Obj[] = [];
          const startPeers = ((obj.unicastPeers as Obj[] | undefined) ?? []).length;
          for (const p of needBlock(s) ?? []) {
            const i = startPeers + peers.length;
            const peer: Obj = { address: p.keyword.text };
            remember([...path, 'unicastPeers', i], p);
            locateIn([...path, 'unicastPeers', i], 'address', p.keyword, kw);
            for (let a = 0; a < p.args.length; a += 2) {
              const opt = p.args[a] as Token;
              const value = p.args[a + 1];
              const key =
                opt.text === 'min_ttl' ? 'minTtl' : opt.text === 'max_ttl' ? 'maxTtl' : undefined;
              if (!key || !value) {
                issues.error(
                  opt,
                  `unexpected '${opt.text}' after unicast peer; expected min_ttl <n> or max_ttl <n>`,
                );
                break;
              }
              peer[key] = num(value);
              locateIn([...path, 'unicastPeers', i], key, value, opt.text);
            }
            peers.push(peer);
          }
          obj.unicastPeers = [...((obj.unicastPeers as Obj[] | undefined) ?? []), ...peers];
          remember([...path, 'unicastPeers'], s);
          break;
        }
        case 'authentication': {
          const auth: Obj = {};
          remember([...path, 'authentication'], s);
          for (const a of needBlock(s) ?? []) {
            if (a.keyword.text === 'auth_type') {
              scalar(auth, 'type', [...path, 'authentication'], a, (t) => t.text.toUpperCase());
            } else if (a.keyword.text === 'auth_pass') {
              // Locate the secret without ever echoing it.
              scalar(auth, 'password', [...path, 'authentication'], a);
            } else {
              unknown(a, 'authentication');
            }
          }
          obj.authentication = auth;
          break;
        }
        case 'virtual_ipaddress':
          appendList(obj, path, 'virtualIpAddresses', s, ipEntries);
          break;
        case 'virtual_ipaddress_excluded':
          appendList(obj, path, 'excludedVirtualIpAddresses', s, ipEntries);
          break;
        case 'virtual_routes':
          appendList(obj, path, 'virtualRoutes', s, routeEntries);
          break;
        case 'track_interface':
          appendList(obj, path, 'trackInterfaces', s, trackList);
          break;
        case 'track_script':
          appendList(obj, path, 'trackScripts', s, trackList);
          break;
        case 'track_file':
          appendList(obj, path, 'trackFiles', s, trackList);
          break;
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify':
          command(notify(), notifyKeys[kw] as string, [...path, 'notify'], s);
          break;
        case 'smtp_alert':
          flag(obj, 'smtpAlert', path, s);
          break;
        case 'garp_master_delay':
          scalar(garp(), 'masterDelayMs', [...path, 'garp'], s, secs);
          break;
        case 'garp_master_repeat':
          scalar(garp(), 'masterRepeat', [...path, 'garp'], s, num);
          break;
        case 'garp_master_refresh':
          scalar(garp(), 'masterRefreshMs', [...path, 'garp'], s, secs);
          break;
        case 'garp_master_refresh_repeat':
          scalar(garp(), 'masterRefreshRepeat', [...path, 'garp'], s, num);
          break;
        case 'accept':
          flag(obj, 'accept', path, s);
          break;
        case 'no_accept':
          flag(obj, 'accept', path, s, false);
          break;
        default:
          unknown(s, `vrrp_instance ${obj.name}`);
      }
    }
    instances.push(obj);
  };

  const mapSyncGroup = (stmt: Statement) => {
    if (!needArgs(stmt, 1, 'a name')) return;
    const groups = list('vrrpSyncGroups');
    const path = ['vrrpSyncGroups', groups.length];
    const obj: Obj = { name: (stmt.args[0] as Token).text };
    remember(path, stmt);
    const notify = (): Obj => child(obj, 'notify');
    for (const s of needBlock(stmt) ?? []) {
      const kw = s.keyword.text;
      switch (kw) {
        case 'group': {
          const members = needBlock(s) ?? [];
          obj.instances = members.map((m, i) => {
            locateIn([...path, 'instances'], i, m.keyword, 'group');
            return m.keyword.text;
          });
          remember([...path, 'instances'], s);
          break;
        }
        case 'track_interface':
          obj.trackInterfaces = trackList(s, [...path, 'trackInterfaces']);
          break;
        case 'track_script':
          obj.trackScripts = trackList(s, [...path, 'trackScripts']);
          break;
        case 'track_file':
          obj.trackFiles = trackList(s, [...path, 'trackFiles']);
          break;
        case 'notify_master':
        case 'notify_backup':
        case 'notify_fault':
        case 'notify_stop':
        case 'notify':
          command(notify(), notifyKeys[kw] as string, [...path, 'notify'], s);
          break;
        case 'smtp_alert':
          flag(obj, 'smtpAlert', path, s);
          break;
        default:
          unknown(s, `vrrp_sync_group ${obj.name}`);
      }
    }
    groups.push(obj);
  };

  // ---- LVS ------------------------------------------------------------------
  const lvsMethod = (obj: Obj, key: string, path: DocPath, s: Statement) => {
    deprecated(s);
    scalar(obj, key, path, { keyword: s.keyword, args: s.args.slice(0, 1) }, (t) =>
      t.text.toUpperCase(),
    );
    if (s.args.length > 1)
      issues.warn(
        s.args[1] as Token,
        'TUN tunnel options are not supported by lbctl; IPIP is used',
      );
  };

  /** Options shared by virtual server, real server and checkers. */
  const timing = (obj: Obj, path: DocPath, s: Statement): boolean => {
    switch (s.keyword.text) {
      case 'connect_timeout':
        scalar(obj, 'connectTimeoutMs', path, s, secs);
        return true;
      case 'retry':
      case 'nb_get_retry':
        deprecated(s);
        scalar(obj, 'retry', path, s, num);
        return true;
      case 'delay_before_retry':
        scalar(obj, 'delayBeforeRetryMs', path, s, secs);
        return true;
      case 'warmup':
        scalar(obj, 'warmupMs', path, s, secs);
        return true;
      case 'delay_loop':
        scalar(obj, 'delayLoopMs', path, s, secs);
        return true;
      default:
        return false;
    }
  };

  const CHECKERS = new Set([
    'TCP_CHECK',
    'HTTP_GET',
    'SSL_GET',
    'MISC_CHECK',
    'DNS_CHECK',
    'SMTP_CHECK',
    'UDP_CHECK',
    'PING_CHECK',
  ]);

  const mapChecker = (stmt: Statement, path: DocPath): Obj => {
    const type = stmt.keyword.text;
    const obj: Obj = { type };
    remember(path, stmt);
    const urls: Obj[] = [];
    for (const s of needBlock(stmt) ?? []) {
      const kw = s.keyword.text;
      if (type !== 'MISC_CHECK') {
        if (kw === 'connect_ip') {
          scalar(obj, 'connectIp', path, s);
          continue;
        }
        if (kw === 'connect_port') {
          scalar(obj, 'connectPort', path, s, num);
          continue;
        }
        if (kw === 'bindto') {
          scalar(obj, 'bindTo', path, s);
          continue;
        }
      } else if (kw === 'connect_timeout') {
        unknown(s, type);
        continue;
      }
      if (timing(obj, path, s)) continue;
      if ((type === 'HTTP_GET' || type === 'SSL_GET') && kw === 'url') {
        const i = urls.length;
        const url: Obj = {};
        const urlPath = [...path, 'urls', i];
        remember(urlPath, s);
        for (const u of needBlock(s) ?? []) {
          switch (u.keyword.text) {
            case 'path':
              scalar(url, 'path', urlPath, u);
              break;
            case 'digest':
              scalar(url, 'digest', urlPath, u);
              break;
            case 'virtualhost':
              scalar(url, 'virtualhost', urlPath, u);
              break;
            case 'status_code':
              if (!needArgs(u, 1, 'one or more codes or ranges')) break;
              url.statusCodes = u.args.map((t, j) => {
                locateIn([...urlPath, 'statusCodes'], j, t, 'status_code');
                return /^\d+$/.test(t.text) ? Number(t.text) : t.text;
              });
              locateIn(urlPath, 'statusCodes', u.args[0] as Token, 'status_code');
              break;
            default:
              unknown(u, 'url');
          }
        }
        if (url.path === undefined) issues.error(s.keyword, "url needs a 'path'");
        urls.push(url);
        continue;
      }
      switch (`${type}:${kw}`) {
        case 'HTTP_GET:virtualhost':
        case 'SSL_GET:virtualhost':
          scalar(obj, 'virtualhost', path, s);
          break;
        case 'HTTP_GET:http_protocol':
        case 'SSL_GET:http_protocol':
          scalar(obj, 'httpProtocol', path, s);
          break;
        case 'SSL_GET:enable_sni':
          flag(obj, 'enableSni', path, s);
          break;
        case 'MISC_CHECK:misc_path':
          if (!needArgs(s, 1, 'a command')) break;
          obj.path = s.args.map((t) => t.text).join(' ');
          locateIn(path, 'path', s.args[0] as Token, kw);
          break;
        case 'MISC_CHECK:misc_timeout':
          scalar(obj, 'timeoutMs', path, s, secs);
          break;
        case 'MISC_CHECK:misc_dynamic':
          flag(obj, 'dynamic', path, s);
          break;
        case 'MISC_CHECK:user':
          if (!needArgs(s, 1, 'a user name')) break;
          obj.user = (s.args[0] as Token).text;
          if (s.args[1]) obj.group = s.args[1].text;
          break;
        case 'DNS_CHECK:type':
          scalar(obj, 'queryType', path, s, (t) => t.text.toUpperCase());
          break;
        case 'DNS_CHECK:name':
          scalar(obj, 'name', path, s);
          break;
        case 'SMTP_CHECK:helo_name':
          scalar(obj, 'heloName', path, s);
          break;
        case 'UDP_CHECK:payload':
          obj.payload = s.args.map((t) => t.text).join(' ');
          locateIn(path, 'payload', s.keyword, kw);
          break;
        case 'UDP_CHECK:require_reply':
          obj.requireReply = true;
          if (s.args.length > 0) obj.replyPattern = s.args.map((t) => t.text).join(' ');
          locateIn(path, 'replyPattern', s.keyword, kw);
          break;
        case 'UDP_CHECK:min_reply_length':
          scalar(obj, 'minReplyLength', path, s, num);
          break;
        case 'UDP_CHECK:max_reply_length':
          scalar(obj, 'maxReplyLength', path, s, num);
          break;
        default:
          unknown(s, type);
      }
    }
    if (type === 'HTTP_GET' || type === 'SSL_GET') {
      obj.urls = urls;
      if (urls.length === 0)
        issues.error(stmt.keyword, `${type} needs at least one url { path ... }`);
    }
    if (type === 'MISC_CHECK' && obj.path === undefined) {
      issues.error(stmt.keyword, "MISC_CHECK needs a 'misc_path'");
    }
    return obj;
  };

  const mapRealServer = (stmt: Statement, path: DocPath): Obj | undefined => {
    if (!needArgs(stmt, 1, 'an address and port')) return undefined;
    const obj: Obj = { address: (stmt.args[0] as Token).text };
    remember(path, stmt);
    locateIn(path, 'address', stmt.args[0] as Token, stmt.keyword.text);
    if (stmt.args[1]) {
      obj.port = num(stmt.args[1]);
      locateIn(path, 'port', stmt.args[1], stmt.keyword.text);
    }
    const checkers: Obj[] = [];
    for (const s of stmt.block ?? []) {
      const kw = s.keyword.text;
      if (CHECKERS.has(kw)) {
        checkers.push(mapChecker(s, [...path, 'checkers', checkers.length]));
        continue;
      }
      if (timing(obj, path, s)) continue;
      switch (kw) {
        case 'weight':
          scalar(obj, 'weight', path, s, num);
          break;
        case 'lvs_method':
        case 'lb_kind':
          lvsMethod(obj, 'lbKind', path, s);
          break;
        case 'notify_up':
          command(obj, 'notifyUp', path, s);
          break;
        case 'notify_down':
          command(obj, 'notifyDown', path, s);
          break;
        case 'inhibit_on_failure':
          flag(obj, 'inhibitOnFailure', path, s);
          break;
        case 'virtualhost':
          scalar(obj, 'virtualhost', path, s);
          break;
        case 'smtp_alert':
        case 'alpha':
          issues.warn(
            s.keyword,
            `'${kw}' per real server is not supported by lbctl; set it on the virtual server`,
          );
          break;
        default:
          unknown(s, `real_server ${obj.address}`);
      }
    }
    obj.checkers = checkers;
    return obj;
  };

  const mapVirtualServer = (stmt: Statement) => {
    const servers = list('virtualServers');
    const path = ['virtualServers', servers.length];
    const obj: Obj = {};
    remember(path, stmt);
    const [a0, a1] = stmt.args;
    if (!a0) {
      issues.error(
        stmt.keyword,
        "'virtual_server' needs <address> <port>, fwmark <n> or group <name>",
      );
    } else if (a0.text === 'fwmark' || a0.text === 'group') {
      if (!a1) issues.error(a0, `'${a0.text}' needs a value`);
      else {
        const key = a0.text;
        obj[key] = key === 'fwmark' ? num(a1) : a1.text;
        locateIn(path, key, a1, `virtual_server ${key}`);
      }
    } else {
      obj.address = a0.text;
      locateIn(path, 'address', a0, 'virtual_server');
      if (a1) {
        obj.port = num(a1);
        locateIn(path, 'port', a1, 'virtual_server');
      }
    }
    const reals: Obj[] = [];
    for (const s of needBlock(stmt) ?? []) {
      const kw = s.keyword.text;
      if (kw === 'real_server') {
        const rs = mapRealServer(s, [...path, 'realServers', reals.length]);
        if (rs) reals.push(rs);
        continue;
      }
      if (kw !== 'delay_loop' && timing(obj, path, s)) continue;
      switch (kw) {
        case 'delay_loop':
          scalar(obj, 'delayLoopMs', path, s, secs);
          break;
        case 'lb_algo':
        case 'lvs_sched':
          deprecated(s);
          scalar(obj, 'scheduler', path, s, (t) => t.text.toLowerCase());
          break;
        case 'lb_kind':
        case 'lvs_method':
          lvsMethod(obj, 'lbKind', path, s);
          break;
        case 'protocol':
          scalar(obj, 'protocol', path, s, (t) => t.text.toUpperCase());
          break;
        case 'persistence_timeout':
          // A bare persistence_timeout means keepalived's default of 6 minutes.
          if (s.args.length === 0) {
            obj.persistenceTimeoutMs = 360_000;
            locateIn(path, 'persistenceTimeoutMs', s.keyword, kw);
          } else scalar(obj, 'persistenceTimeoutMs', path, s, secs);
          break;
        case 'persistence_granularity':
          scalar(obj, 'persistenceGranularity', path, s);
          break;
        case 'virtualhost':
          scalar(obj, 'virtualhost', path, s);
          break;
        case 'sorry_server': {
          if (!needArgs(s, 1, 'an address [port]')) break;
          const sorry = child(obj, 'sorryServer');
          sorry.address = (s.args[0] as Token).text;
          remember([...path, 'sorryServer'], s);
          locateIn([...path, 'sorryServer'], 'address', s.args[0] as Token, kw);
          if (s.args[1]) {
            sorry.port = num(s.args[1]);
            locateIn([...path, 'sorryServer'], 'port', s.args[1], kw);
          }
          break;
        }
        case 'sorry_server_lvs_method':
          lvsMethod(child(obj, 'sorryServer'), 'lbKind', [...path, 'sorryServer'], s);
          break;
        case 'quorum':
          scalar(obj, 'quorum', path, s, num);
          break;
        case 'hysteresis':
          scalar(obj, 'hysteresis', path, s, num);
          break;
        case 'quorum_up':
          command(obj, 'quorumUp', path, s);
          break;
        case 'quorum_down':
          command(obj, 'quorumDown', path, s);
          break;
        case 'alpha':
          flag(obj, 'alpha', path, s);
          break;
        case 'omega':
          flag(obj, 'omega', path, s);
          break;
        case 'inhibit_on_failure':
          flag(obj, 'inhibitOnFailure', path, s);
          break;
        case 'ha_suspend':
          flag(obj, 'haSuspend', path, s);
          break;
        case 'smtp_alert':
          flag(obj, 'smtpAlert', path, s);
          break;
        case 'ip_family':
          scalar(obj, 'family', path, s, (t) =>
            t.text === 'inet6' ? 'ipv6' : t.text === 'inet' ? 'ipv4' : t.text,
          );
          break;
        case 'nat_mask':
          issues.warn(s.keyword, "'nat_mask' is obsolete and has no effect; ignored");
          break;
        default:
          unknown(s, 'virtual_server');
      }
    }
    obj.realServers = reals;
    servers.push(obj);
  };

  const mapServerGroup = (stmt: Statement) => {
    if (!needArgs(stmt, 1, 'a name')) return;
    const groups = list('virtualServerGroups');
    const path = ['virtualServerGroups', groups.length];
    const obj: Obj = { name: (stmt.args[0] as Token).text };
    remember(path, stmt);
    const entries: Obj[] = [];
    for (const e of needBlock(stmt) ?? []) {
      const i = entries.length;
      const at = [...path, 'entries', i];
      remember(at, e);
      const first = e.keyword.text;
      const [x, y] = e.args;
      if (first === 'fwmark') {
        if (!x) {
          issues.error(e.keyword, "'fwmark' needs a value");
          continue;
        }
        const entry: Obj = { fwmark: num(x) };
        locateIn(at, 'fwmark', x, 'fwmark');
        if (y) entry.family = y.text === 'inet6' ? 'ipv6' : y.text === 'inet' ? 'ipv4' : y.text;
        entries.push(entry);
        continue;
      }
      let entry: Obj;
      if (first.includes('/')) {
        const range = cidrToRange(first);
        if (range === undefined) {
          issues.error(e.keyword, `'${first}' is not a valid IPv4 CIDR range`);
          continue;
        }
        entry = { range };
        locateIn(at, 'range', e.keyword, 'virtual_server_group');
      } else if (first.includes('-')) {
        entry = { range: first };
        locateIn(at, 'range', e.keyword, 'virtual_server_group');
      } else {
        entry = { address: first };
        locateIn(at, 'address', e.keyword, 'virtual_server_group');
      }
      if (x) {
        entry.port = num(x);
        locateIn(at, 'port', x, 'virtual_server_group');
      }
      entries.push(entry);
    }
    obj.entries = entries;
    groups.push(obj);
  };

  const mapSsl = (stmt: Statement) => {
    const ssl: Obj = {};
    remember(['ssl'], stmt);
    for (const s of needBlock(stmt) ?? []) {
      const key = (
        { password: 'password', ca: 'ca', certificate: 'certificate', key: 'key' } as Record<
          string,
          string
        >
      )[s.keyword.text];
      if (key) scalar(ssl, key, ['ssl'], s);
      else unknown(s, 'SSL');
    }
    doc.ssl = ssl;
  };

  const map = (stmt: Statement) => {
    switch (stmt.keyword.text) {
      case 'global_defs':
        mapGlobal(stmt);
        break;
      case 'vrrp_script':
        mapVrrpScript(stmt);
        break;
      case 'track_file':
      case 'vrrp_track_file':
        mapTrackFile(stmt);
        break;
      case 'vrrp_sync_group':
        mapSyncGroup(stmt);
        break;
      case 'vrrp_instance':
        mapInstance(stmt);
        break;
      case 'virtual_server_group':
        mapServerGroup(stmt);
        break;
      case 'virtual_server':
        mapVirtualServer(stmt);
        break;
      case 'SSL':
        mapSsl(stmt);
        break;
      default:
        unknown(stmt, 'the top level');
    }
  };
  return { map, result: () => ({ document: doc, locations, comments }) };
}

/** "10.0.0.8/29" → "10.0.0.8-10.0.0.15" (IPv4 only). */
function cidrToRange(cidr: string): string | undefined {
  const [addr = '', lenText = ''] = cidr.split('/');
  const len = Number(lenText);
  if (familyOf(addr) !== 'ipv4' || !/^\d+$/.test(lenText) || len > 32) return undefined;
  const value = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - len);
  const first = Math.floor(value / size) * size;
  const toText = (v: number) => [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
  return `${toText(first)}-${toText(first + size - 1)}`;
}
