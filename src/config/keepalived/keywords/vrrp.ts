import { pathTo } from '../../doc-path.js';
import {
  flag,
  inChild,
  type Keyword,
  type KeywordTable,
  mapStatements,
  namedBlockSpec,
  refused,
  scalar,
  tables,
  unsupported,
  userAndGroup,
  warned,
} from '../keyword-table.js';
import type { Token } from '../lexer.js';
import { num, secs, upper } from '../map-context.js';
import { NOTIFY_KEYWORDS, TRACK_KEYWORDS } from './tracking.js';
import { addressEntries, type EntryReader, peerEntries, routeEntries } from './vrrp-addresses.js';

const garp = (field: string, conv: (tok: Token) => unknown) => inChild('garp', scalar(field, conv));

/** `keyword { lines }` appended to the list `field`, each line read by `entries`. */
const listBlock = (field: string, entries: EntryReader): Keyword => ({
  sets: [field],
  handle: (ctx, b, s) =>
    ctx.appendList(b.obj, b.path, field, s, (st, path, start) => entries(ctx, st, path, start)),
});

/** `weight N [reverse]` of vrrp_script and track_file. */
const weightWithReverse: Keyword = {
  sets: ['weight', 'weightReverse'],
  handle: (ctx, b, s) => {
    ctx.scalar(b.obj, 'weight', b.path, { keyword: s.keyword, args: s.args.slice(0, 1) }, num);
    if (s.args[1]?.text === 'reverse') b.obj.weightReverse = true;
    else if (s.args[1]) ctx.issues.error(s.args[1], "expected 'reverse' after the weight");
  },
};

const AUTHENTICATION_KEYWORDS: KeywordTable = {
  auth_type: scalar('type', upper),
  // Located like any value, never echoed in a message.
  auth_pass: scalar('password'),
};

const NO_VMAC =
  "VIPs live on the instance's interface and a takeover announces them with gratuitous ARP / unsolicited NA; remove it";
const NO_TRACK_PROCESS =
  'process tracking is not implemented; track the process with a vrrp_script (e.g. "pidof NAME") instead';

/** vrrp_instance (keepalived's vrrp_parser.c). */
export const INSTANCE_KEYWORDS: KeywordTable = tables(TRACK_KEYWORDS, NOTIFY_KEYWORDS, {
  state: scalar('state', upper),
  interface: scalar('interface'),
  virtual_router_id: scalar('virtualRouterId', num),
  priority: scalar('priority', num),
  advert_int: scalar('advertIntervalMs', secs),
  version: scalar('version', num),
  nopreempt: flag('preempt', false),
  preempt: warned("'preempt' is the default and kept only for compatibility", flag('preempt')),
  preempt_delay: scalar('preemptDelayMs', secs),
  unicast_src_ip: scalar('unicastSrcIp'),
  mcast_src_ip: scalar('mcastSrcIp'),
  unicast_peer: listBlock('unicastPeers', peerEntries),
  authentication: {
    sets: ['authentication.type', 'authentication.password'],
    handle: (ctx, b, s) => {
      const auth = {};
      const path = pathTo(b.path, 'authentication');
      ctx.remember(path, s);
      ctx.open(auth, s);
      mapStatements(
        ctx,
        AUTHENTICATION_KEYWORDS,
        { obj: auth, path, name: 'authentication' },
        ctx.needBlock(s) ?? [],
      );
      b.obj.authentication = auth;
    },
  },
  virtual_ipaddress: listBlock('virtualIpAddresses', addressEntries),
  virtual_ipaddress_excluded: listBlock('excludedVirtualIpAddresses', addressEntries),
  virtual_routes: listBlock('virtualRoutes', routeEntries),
  smtp_alert: flag('smtpAlert'),
  garp_master_delay: garp('masterDelayMs', secs),
  garp_master_repeat: garp('masterRepeat', num),
  garp_master_refresh: garp('masterRefreshMs', secs),
  garp_master_refresh_repeat: garp('masterRefreshRepeat', num),
  garp_interval: garp('intervalMs', secs),
  gna_interval: garp('naIntervalMs', secs),
  accept: flag('accept'),
  no_accept: flag('accept', false),
  use_vmac: refused(NO_VMAC),
  vmac_xmit_base: refused(NO_VMAC),
  track_process: refused(NO_TRACK_PROCESS),
  strict_mode: refused('RFC-strict mode is not implemented (see vrrp_strict)'),
  notify_fifo: refused('lbctl does not write keepalived event FIFOs'),
  dont_track_primary: flag('trackPrimary', false),
  track_src_ip: unsupported,
  check_unicast_src: unsupported,
  unicast_fault_no_peer: unsupported,
  unicast_ttl: unsupported,
  old_unicast_checksum: unsupported,
  garp_lower_prio_delay: unsupported,
  garp_lower_prio_repeat: unsupported,
  garp_extra_if: unsupported,
  down_timer_adverts: unsupported,
  lower_prio_no_advert: unsupported,
  higher_prio_send_advert: unsupported,
  skip_check_adv_addr: unsupported,
  debug: unsupported,
  promote_secondaries: unsupported,
  notify_master_rx_lower_pri: unsupported,
  notify_priority_changes: unsupported,
  kernel_rx_buf_size: unsupported,
  linkbeat_use_polling: unsupported,
  native_ipv6: unsupported,
  vrf: unsupported,
  mcast_dst_ip: unsupported,
  track_bfd: unsupported,
  virtual_rules: unsupported,
  snmp_name: unsupported,
  lvs_sync_daemon_interface: unsupported,
  notify_deleted: unsupported,
});

/** vrrp_sync_group: the same tracking and notify entries as an instance, plus its members. */
export const SYNC_GROUP_KEYWORDS: KeywordTable = tables(TRACK_KEYWORDS, NOTIFY_KEYWORDS, {
  group: {
    sets: ['instances'],
    handle: (ctx, b, s) => {
      const members = ctx.needBlock(s) ?? [];
      b.obj.instances = members.map((m, i) => {
        ctx.locate(pathTo(b.path, 'instances'), i, m.keyword, 'group');
        return m.keyword.text;
      });
      ctx.remember(pathTo(b.path, 'instances'), s);
    },
  },
  smtp_alert: flag('smtpAlert'),
  notify_fifo: refused('lbctl does not write keepalived event FIFOs'),
  track_process: refused(NO_TRACK_PROCESS),
  global_tracking: unsupported,
});

/** vrrp_script. */
export const SCRIPT_KEYWORDS: KeywordTable = {
  script: {
    sets: ['script'],
    handle: (ctx, b, s) => {
      if (!ctx.needArgs(s, 1, 'a command')) return;
      b.obj.script = s.args.map((t) => t.text).join(' ');
      ctx.locate(b.path, 'script', s.args[0] as Token, 'script');
    },
  },
  interval: scalar('intervalMs', secs),
  timeout: scalar('timeoutMs', secs),
  weight: weightWithReverse,
  fall: scalar('fall', num),
  rise: scalar('rise', num),
  user: userAndGroup,
  init_fail: flag('initFail'),
};

/** track_file (vrrp_track_file). */
export const TRACK_FILE_KEYWORDS: KeywordTable = {
  file: scalar('file'),
  weight: weightWithReverse,
  init_file: unsupported,
};

export const VRRP_INSTANCE = namedBlockSpec('vrrp_instance', INSTANCE_KEYWORDS);
export const VRRP_SYNC_GROUP = namedBlockSpec('vrrp_sync_group', SYNC_GROUP_KEYWORDS);
export const VRRP_SCRIPT = namedBlockSpec('vrrp_script', SCRIPT_KEYWORDS);
export const TRACK_FILE = namedBlockSpec('track_file', TRACK_FILE_KEYWORDS);
