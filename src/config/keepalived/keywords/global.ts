import { pathTo } from '../../doc-path.js';
import {
  type BlockSpec,
  flag,
  ignored,
  inChild,
  type Keyword,
  type KeywordTable,
  refused,
  renamed,
  scalar,
  unsupported,
} from '../keyword-table.js';
import type { Token } from '../lexer.js';
import { child, num, secs } from '../map-context.js';

const garp = (field: string, conv: (tok: Token) => unknown) => inChild('garp', scalar(field, conv));
const scheduling = (field: string, inner: Keyword = scalar(field, num)) =>
  inChild('scheduling', inner);

/** Why the checker and BFD process settings do nothing: lbctl has no such processes. */
const NO_CHECKER_PROCESS =
  "has no process of its own in lbctl: checkers run on the main thread with the process's scheduling (vrrp_priority, vrrp_rt_priority and vrrp_cpu_affinity set the VRRP thread's)";

/** `vrrp_cpu_affinity CPU...`: the CPUs the event loop may run on. */
function cpuAffinity(): Keyword {
  return {
    sets: ['cpuAffinity'],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'a CPU number')) return;
      b.obj.cpuAffinity = s.args.map(num);
      ctx.remember(pathTo(b.path, 'cpuAffinity'), s);
      s.args.forEach((tok, i) => {
        ctx.locate(pathTo(b.path, 'cpuAffinity'), i, tok, s.keyword.text);
      });
    },
  };
}

/**
 * `max_auto_priority [N]`, as keepalived 2.2.7 reads it: bare means the
 * highest realtime priority (99); 0 and -1 mean never (-1 also silences
 * keepalived's start-up notice, which lbctl does not print).
 */
function maxAutoPriority(): Keyword {
  return {
    sets: ['maxAutoPriority'],
    handle: (ctx, b, s) => {
      if (!ctx.noBlock(s)) return;
      const arg = s.args[0];
      if (arg !== undefined && arg.text === '-1') {
        delete b.obj.maxAutoPriority;
        return;
      }
      if (arg === undefined) {
        b.obj.maxAutoPriority = 99;
        ctx.locate(b.path, 'maxAutoPriority', s.keyword, s.keyword.text);
        return;
      }
      ctx.scalar(b.obj, 'maxAutoPriority', b.path, s, num);
    },
  };
}

/** Why lbctl refuses keepalived's event FIFOs rather than ignoring them. */
const NO_FIFO =
  'lbctl does not write keepalived event FIFOs; use notify scripts or the Prometheus metrics (lbctl_metrics_listen)';

/**
 * `lvs_sync_daemon INTERFACE [inst] VRRP_INSTANCE [id SYNC_ID] [maxlen LEN]
 * [port PORT] [ttl TTL] [group ADDRESS]` (keepalived 2.2.7's lvs_syncd_handler;
 * the old positional SYNC_ID after the instance is read with a warning, as there).
 * Values stay as written so the schema reports them in place.
 */
function lvsSyncDaemon(): Keyword {
  const options: Record<string, string> = {
    id: 'syncId',
    maxlen: 'maxLength',
    port: 'port',
    ttl: 'ttl',
    group: 'group',
  };
  return {
    sets: [
      'connectionSync.interface',
      'connectionSync.vrrpInstance',
      ...Object.values(options).map((f) => `connectionSync.${f}`),
    ],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'an interface')) return;
      const at = pathTo(b.path, 'connectionSync');
      if (b.obj.connectionSync !== undefined) {
        ctx.issues.error(s.keyword, 'lvs_sync_daemon is given more than once');
        return;
      }
      const sync = child(b.obj, 'connectionSync');
      ctx.remember(at, s);
      const set = (field: string, tok: Token, value: unknown) => {
        sync[field] = value;
        ctx.locate(at, field, tok, s.keyword.text);
      };
      const args = s.args as Token[];
      set('interface', args[0] as Token, (args[0] as Token).text);
      for (let i = 1; i < args.length; i++) {
        const word = args[i] as Token;
        const value = args[i + 1];
        if (word.text === 'inst' || Object.hasOwn(options, word.text)) {
          if (value === undefined) {
            ctx.issues.error(word, `lvs_sync_daemon ${word.text} needs a value`);
            return;
          }
          if (word.text === 'inst') set('vrrpInstance', value, value.text);
          else {
            const field = options[word.text] as string;
            set(field, value, field === 'group' ? value.text : num(value));
          }
          i++;
        } else if (i === 1) {
          set('vrrpInstance', word, word.text);
        } else if (i === 2) {
          ctx.issues.warn(word, 'please use keyword "id" before lvs_sync_daemon SYNCID');
          set('syncId', word, num(word));
        } else {
          ctx.issues.error(word, `unknown option '${word.text}' for lvs_sync_daemon`);
        }
      }
      if (sync.vrrpInstance === undefined) {
        ctx.issues.error(
          s.keyword,
          'lvs_sync_daemon needs the VRRP instance whose state it follows',
        );
        delete b.obj.connectionSync;
      }
    },
  };
}

/** global_defs (keepalived's global_parser.c). */
export const GLOBAL_KEYWORDS: KeywordTable = {
  router_id: scalar('routerId'),
  notification_email: {
    sets: ['notificationEmail'],
    handle: (ctx, b, s) => {
      b.obj.notificationEmail = (ctx.needBlock(s) ?? []).map((e) => e.keyword.text);
      ctx.remember(pathTo(b.path, 'notificationEmail'), s);
    },
  },
  notification_email_from: scalar('notificationEmailFrom'),
  smtp_server: {
    sets: ['smtpServer.host', 'smtpServer.port'],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'a host')) return;
      const host = s.args[0] as Token;
      const server: Record<string, unknown> = { host: host.text };
      const at = pathTo(b.path, 'smtpServer');
      ctx.remember(at, s);
      ctx.locate(at, 'host', host, s.keyword.text);
      if (s.args[1]) {
        server.port = num(s.args[1]);
        ctx.locate(at, 'port', s.args[1], s.keyword.text);
      }
      b.obj.smtpServer = server;
    },
  },
  smtp_connect_timeout: scalar('smtpConnectTimeoutMs', secs),
  smtp_alert: flag('smtpAlert'),
  smtp_alert_vrrp: flag('smtpAlert'),
  smtp_alert_checker: flag('smtpAlert'),
  enable_script_security: flag('enableScriptSecurity'),
  script_user: {
    sets: ['scriptUser', 'scriptGroup'],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'a user name')) return;
      ctx.scalar(b.obj, 'scriptUser', b.path, { keyword: s.keyword, args: s.args.slice(0, 1) });
      if (s.args[1]) {
        b.obj.scriptGroup = s.args[1].text;
        ctx.locate(b.path, 'scriptGroup', s.args[1], s.keyword.text);
      }
    },
  },
  vrrp_garp_master_delay: garp('masterDelayMs', secs),
  vrrp_garp_master_repeat: garp('masterRepeat', num),
  vrrp_garp_master_refresh: garp('masterRefreshMs', secs),
  vrrp_garp_master_refresh_repeat: garp('masterRefreshRepeat', num),
  vrrp_garp_interval: garp('intervalMs', secs),
  vrrp_gna_interval: garp('naIntervalMs', secs),
  vrrp_version: scalar('vrrpVersion', num),
  vrrp_mcast_group4: scalar('mcastGroup4'),
  vrrp_mcast_group6: scalar('mcastGroup6'),
  lvs_timeouts: {
    sets: ['connectionTimeouts.tcpMs', 'connectionTimeouts.tcpFinMs', 'connectionTimeouts.udpMs'],
    handle: (ctx, b, s) => {
      const t = child(b.obj, 'connectionTimeouts');
      const names: Record<string, string> = { tcp: 'tcpMs', tcpfin: 'tcpFinMs', udp: 'udpMs' };
      for (let i = 0; i < s.args.length; i += 2) {
        const name = s.args[i] as Token;
        const value = s.args[i + 1];
        const key = Object.hasOwn(names, name.text) ? names[name.text] : undefined;
        if (!key || !value) {
          ctx.issues.error(name, 'lvs_timeouts expects [tcp SECS] [tcpfin SECS] [udp SECS]');
          return;
        }
        t[key] = secs(value);
        ctx.locate(pathTo(b.path, 'connectionTimeouts'), key, value, s.keyword.text);
      }
    },
  },
  // lbctl's own settings, so a keepalived.conf can choose the data plane too.
  lbctl_data_plane: scalar('dataPlane'),
  lbctl_xdp_mode: scalar('xdpMode'),
  lbctl_pin_dir: scalar('pinDir'),
  lbctl_instance_name: scalar('instanceName'),
  lbctl_metrics_listen: scalar('metricsListen'),
  lbctl_connection_table_size: scalar('connectionTableSize', num),
  // BGP announcement (docs/scale-out.md): the table enables it.
  lbctl_bgp_table: inChild('bgp', scalar('table', num)),
  lbctl_bgp_withdraw_delay: inChild('bgp', scalar('withdrawDelayMs', secs)),
  // Scheduling of the event loop (keepalived's VRRP process: docs/operations.md#scheduling).
  vrrp_priority: scheduling('nice'),
  vrrp_rt_priority: scheduling('realtimePriority'),
  vrrp_rlimit_rttime: scheduling('realtimeLimitUs'),
  // keepalived's spelling before 2.1 (deprecated there, still read).
  vrrp_rlimit_rtime: renamed('vrrp_rlimit_rttime', scheduling('realtimeLimitUs')),
  vrrp_cpu_affinity: scheduling('cpuAffinity', cpuAffinity()),
  vrrp_no_swap: scheduling('noSwap', flag('noSwap')),
  max_auto_priority: scheduling('maxAutoPriority', maxAutoPriority()),
  min_auto_priority_delay: scheduling('minAutoPriorityDelayUs'),
  checker_priority: ignored(NO_CHECKER_PROCESS),
  checker_rt_priority: ignored(NO_CHECKER_PROCESS),
  checker_rlimit_rttime: ignored(NO_CHECKER_PROCESS),
  checker_cpu_affinity: ignored(NO_CHECKER_PROCESS),
  checker_no_swap: ignored(NO_CHECKER_PROCESS),
  bfd_priority: ignored(NO_CHECKER_PROCESS),
  bfd_rt_priority: ignored(NO_CHECKER_PROCESS),
  bfd_rlimit_rttime: ignored(NO_CHECKER_PROCESS),
  bfd_cpu_affinity: ignored(NO_CHECKER_PROCESS),
  bfd_no_swap: ignored(NO_CHECKER_PROCESS),
  // Refused: each changes what keepalived would do in a way an operator relies on.
  vrrp_strict: refused(
    'RFC-strict mode (no unicast, no authentication, VIPs not answered, iptables rules) is not implemented; remove it and keep the configuration RFC-conformant by hand',
  ),
  notify_fifo: refused(NO_FIFO),
  vrrp_notify_fifo: refused(NO_FIFO),
  lvs_notify_fifo: refused(NO_FIFO),
  notify_fifo_script: refused(NO_FIFO),
  vrrp_notify_fifo_script: refused(NO_FIFO),
  lvs_notify_fifo_script: refused(NO_FIFO),
  // Accepted and ignored: tuning or integrations with no effect on what lbctl forwards or advertises.
  vrrp_skip_check_adv_addr: unsupported,
  vrrp_iptables: unsupported,
  vrrp_ipsets: unsupported,
  lvs_sync_daemon: lvsSyncDaemon(),
  lvs_flush: unsupported,
  lvs_flush_on_stop: unsupported,
  default_interface: unsupported,
  dynamic_interfaces: unsupported,
  snmp_socket: unsupported,
  enable_traps: unsupported,
  enable_snmp_vrrp: unsupported,
  enable_snmp_checker: unsupported,
  enable_snmp_rfc: unsupported,
  enable_dbus: unsupported,
  vrrp_garp_lower_prio_delay: unsupported,
  vrrp_garp_lower_prio_repeat: unsupported,
  vrrp_min_garp: unsupported,
  vrrp_lower_prio_no_advert: unsupported,
  vrrp_higher_prio_send_advert: unsupported,
  vrrp_check_unicast_src: unsupported,
  no_email_faults: unsupported,
  smtp_helo_name: unsupported,
  checker_log_all_failures: unsupported,
  vrrp_garp_extra_if: unsupported,
  notification_email_from_name: unsupported,
  process_names: unsupported,
  script_security: unsupported,
  linkbeat_use_polling: unsupported,
};

export const GLOBAL_DEFS: BlockSpec = {
  keyword: 'global_defs',
  header: [],
  table: GLOBAL_KEYWORDS,
};
