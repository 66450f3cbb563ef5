import { z } from 'zod';
import { ipFamily } from '../net/address.js';
import {
  ADDRESS_SCOPES,
  DATA_PLANES,
  DEFAULT_CONNECTION_TABLE_SIZE,
  DEFAULT_REAL_WEIGHT,
  DNS_QUERY_TYPES,
  LB_KINDS,
  MAX_CONNECTION_TABLE_SIZE,
  MIN_CONNECTION_TABLE_SIZE,
  type Protocol,
  SCHEDULERS,
  TUNNEL_CHECKSUMS,
  TUNNEL_TYPES,
  XDP_MODES,
} from './model.js';
import { realServerFastPath } from './real-server-fast-path.js';

/** How configuration files spell each protocol (keepalived's `protocol TCP`). */
export const PROTOCOL_KEYWORDS = {
  TCP: 'tcp',
  UDP: 'udp',
  SCTP: 'sctp',
} as const satisfies Record<string, Protocol>;
const protocolKeyword = z.enum(Object.keys(PROTOCOL_KEYWORDS) as [keyof typeof PROTOCOL_KEYWORDS]);

/**
 * The configuration document: the YAML format, and what keepalived.conf is
 * mapped into before validation. One zod schema is the single source of truth
 * for validation, static defaults and the published JSON Schema; values that
 * are inherited (virtual server → real server → checker, global → instance)
 * stay optional here and are filled in by `resolve`.
 */

/** An integer in [min, max]; `_what` documents the field at the call site. */
const int = (_what: string, min: number, max: number, unit = '') => {
  const error = `must be an integer from ${min} to ${max}${unit}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

/** Non-negative integer milliseconds (keepalived.conf values are seconds, converted on reading). */
const ms = (what: string, max = 86_400_000) => int(what, 0, max, ' milliseconds');

const text = (what: string) =>
  z.string({ error: `${what} must be a string` }).min(1, { error: `${what} must not be empty` });

export const ipAddress = z
  .string({ error: 'expected an IPv4 or IPv6 address' })
  .refine((s) => ipFamily(s) !== undefined, { error: 'expected an IPv4 or IPv6 address' })
  .meta({ description: 'IPv4 or IPv6 address' });

function isPrefix(s: string): boolean {
  const [addr, len, extra] = s.split('/');
  if (addr === undefined || extra !== undefined) return false;
  const family = ipFamily(addr);
  if (family === undefined) return false;
  if (len === undefined) return true;
  if (!/^\d{1,3}$/.test(len)) return false;
  return Number(len) <= (family === 4 ? 32 : 128);
}

export const addressWithPrefix = z
  .string({ error: 'expected an address with optional /prefix' })
  .refine(isPrefix, { error: 'expected an IPv4 or IPv6 address with an optional /prefix length' })
  .meta({ description: 'Address with optional prefix length, e.g. 10.0.0.3/24' });

const port = int('port', 0, 65535);
const trackWeight = int('weight', -253, 253);

const scriptCommand = z
  .strictObject({
    command: text('command'),
    user: text('user').optional(),
    group: text('group').optional(),
  })
  .meta({ description: 'Script to run, optionally as another user and group' });

const trackReference = (weight: z.ZodType<number>) =>
  z.strictObject({
    name: text('name'),
    weight: weight.optional(),
    reverse: z.boolean().default(false),
  });

const notify = z
  .strictObject({
    master: scriptCommand.optional(),
    backup: scriptCommand.optional(),
    fault: scriptCommand.optional(),
    stop: scriptCommand.optional(),
    any: scriptCommand.optional(),
  })
  .prefault({});

const garpFields = {
  masterDelayMs: ms('garp masterDelayMs'),
  masterRepeat: int('garp masterRepeat', 0, 1000),
  masterRefreshMs: ms('garp masterRefreshMs'),
  masterRefreshRepeat: int('garp masterRefreshRepeat', 0, 1000),
  intervalMs: ms('garp intervalMs', 60_000),
  naIntervalMs: ms('garp naIntervalMs', 60_000),
};

const globalSchema = z
  .strictObject({
    routerId: text('routerId').optional(),
    notificationEmail: z.array(text('notification email')).default([]),
    notificationEmailFrom: text('notificationEmailFrom').optional(),
    smtpServer: z
      .strictObject({ host: text('smtp host'), port: int('smtp port', 1, 65535).default(25) })
      .optional(),
    smtpConnectTimeoutMs: ms('smtpConnectTimeoutMs').default(30_000),
    smtpAlert: z.boolean().default(false),
    enableScriptSecurity: z.boolean().default(false),
    scriptUser: text('scriptUser').optional(),
    scriptGroup: text('scriptGroup').optional(),
    garp: z
      .strictObject({
        masterDelayMs: garpFields.masterDelayMs.default(5000),
        masterRepeat: garpFields.masterRepeat.default(5),
        masterRefreshMs: garpFields.masterRefreshMs.default(0),
        masterRefreshRepeat: garpFields.masterRefreshRepeat.default(1),
        intervalMs: garpFields.intervalMs.default(0),
        naIntervalMs: garpFields.naIntervalMs.default(0),
      })
      .prefault({}),
    scheduling: z
      .strictObject({
        nice: int('scheduling.nice', -20, 19).optional(),
        realtimePriority: int('scheduling.realtimePriority', 1, 99).optional(),
        realtimeLimitUs: int('scheduling.realtimeLimitUs', 2, 4_294_967_295, ' microseconds')
          .optional()
          .meta({
            description:
              'RLIMIT_RTTIME under realtime scheduling (realtimePriority, or a maxAutoPriority raise); default 10000',
          }),
        cpuAffinity: z
          .array(int('scheduling.cpuAffinity', 0, 1023))
          .min(1, { error: 'must name at least one CPU' })
          .optional(),
        maxAutoPriority: int('scheduling.maxAutoPriority', 0, 99).optional().meta({
          description:
            'Raise the event loop to SCHED_RR, one priority at a time up to this one, each time it runs later than minAutoPriorityDelayUs; 0: never (the default)',
        }),
        minAutoPriorityDelayUs: int(
          'scheduling.minAutoPriorityDelayUs',
          1,
          10_000_000,
          ' microseconds',
        )
          .optional()
          .meta({ description: 'How late counts for maxAutoPriority; default 1000000' }),
        noSwap: z.boolean().default(false),
      })
      .prefault({})
      .meta({
        description:
          "Scheduling of the daemon's VRRP thread (the main thread without VRRP instances), as keepalived's vrrp_priority, vrrp_rt_priority, vrrp_rlimit_rttime, vrrp_cpu_affinity, max_auto_priority, min_auto_priority_delay, vrrp_no_swap apply to its VRRP process (docs/operations.md#scheduling)",
      }),
    vrrpVersion: z.union([z.literal(2), z.literal(3)]).default(2),
    mcastGroup4: ipAddress.default('224.0.0.18'),
    mcastGroup6: ipAddress.default('ff02::12'),
    dataPlane: z.enum(DATA_PLANES).default('auto'),
    xdpMode: z.enum(XDP_MODES).default('auto'),
    pinDir: text('pinDir').default('/sys/fs/bpf/lbctl'),
    instanceName: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, {
        error: 'instanceName must be 1-64 letters, digits, "_", "." or "-"',
      })
      .default('default'),
    metricsListen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):\d{1,5}$/, {
        error: 'metricsListen must be host:port, e.g. 127.0.0.1:9477 or [::1]:9477',
      })
      .optional(),
    bgp: z
      .strictObject({
        table: z
          .int({
            error: (issue) =>
              issue.input === undefined
                ? 'is required to announce over BGP: the routing table the BGP daemon learns the VIPs from'
                : 'must be an integer from 1 to 4294967295',
          })
          .min(1, { error: 'must be an integer from 1 to 4294967295' })
          .max(4294967295, { error: 'must be an integer from 1 to 4294967295' })
          .refine((t) => t !== 253 && t !== 254 && t !== 255, {
            error: 'must not be a table the kernel uses itself (253 default, 254 main, 255 local)',
          }),
        withdrawDelayMs: ms('bgp.withdrawDelayMs', 60_000).default(1000),
      })
      .optional()
      .meta({
        description:
          'Announce virtual servers over BGP: lbctl writes a route per VIP it can serve into this kernel table; the BGP daemon (BIRD) learns and announces them (docs/scale-out.md)',
      }),
    connectionTimeouts: z
      .strictObject({
        tcpMs: ms('connectionTimeouts.tcpMs').optional(),
        tcpFinMs: ms('connectionTimeouts.tcpFinMs').optional(),
        udpMs: ms('connectionTimeouts.udpMs').optional(),
      })
      .prefault({}),
    /** Entries of the XDP connection table (rounded up to a power of two of sets). */
    connectionTableSize: int(
      'connectionTableSize',
      MIN_CONNECTION_TABLE_SIZE,
      MAX_CONNECTION_TABLE_SIZE,
    ).default(DEFAULT_CONNECTION_TABLE_SIZE),
    connectionSync: z
      .strictObject({
        interface: text('connectionSync.interface'),
        vrrpInstance: text('connectionSync.vrrpInstance'),
        syncId: int('connectionSync.syncId', 0, 255).optional(),
        maxLength: int('connectionSync.maxLength', 1, 65507).optional(),
        port: int('connectionSync.port', 1, 65535).default(8848),
        ttl: int('connectionSync.ttl', 1, 255).default(1),
        group: ipAddress
          .refine((a) => isMulticast(a), { error: 'must be a multicast address' })
          .optional(),
      })
      .optional(),
  })
  .prefault({});

/** IPv4 224.0.0.0/4 or IPv6 ff00::/8. */
function isMulticast(address: string): boolean {
  if (address.includes(':')) return /^ff/i.test(address);
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

const vrrpScript = z.strictObject({
  name: text('name'),
  script: text('script'),
  intervalMs: ms('intervalMs').min(1, { error: 'must be at least 1 millisecond' }).default(1000),
  timeoutMs: ms('timeoutMs').optional(),
  weight: trackWeight.default(0),
  weightReverse: z.boolean().default(false),
  fall: int('fall', 1, 1_000_000).default(1),
  rise: int('rise', 1, 1_000_000).default(1),
  user: text('user').optional(),
  group: text('group').optional(),
  initFail: z.boolean().default(false),
});

const trackFile = z.strictObject({
  name: text('name'),
  file: text('file'),
  weight: int('weight', -2147483647, 2147483647).default(1),
  weightReverse: z.boolean().default(false),
});

const virtualIp = z.strictObject({
  address: addressWithPrefix,
  dev: text('dev').optional(),
  label: text('label').optional(),
  scope: z.enum(ADDRESS_SCOPES).optional(),
  broadcast: ipAddress.optional(),
});

const virtualRoute = z.strictObject({
  destination: addressWithPrefix,
  type: z.enum(['unicast', 'blackhole', 'unreachable', 'prohibit']).default('unicast'),
  src: ipAddress.optional(),
  via: ipAddress.optional(),
  dev: text('dev').optional(),
  scope: z.enum(ADDRESS_SCOPES).optional(),
  table: int('table', 0, 4294967295).optional(),
  metric: int('metric', 0, 4294967295).optional(),
});

const vrrpInstance = z.strictObject({
  name: text('name'),
  state: z.enum(['MASTER', 'BACKUP']).default('BACKUP'),
  interface: text('interface').optional(),
  virtualRouterId: int('virtualRouterId', 1, 255),
  priority: int('priority', 1, 255).default(100),
  advertIntervalMs: int('advertIntervalMs', 10, 255_000).default(1000),
  version: z.union([z.literal(2), z.literal(3)]).optional(),
  preempt: z.boolean().default(true),
  /** The instance's own interface down puts it in FAULT (keepalived's default; dont_track_primary: false). */
  trackPrimary: z.boolean().default(true),
  preemptDelayMs: ms('preemptDelayMs', 1_000_000).default(0),
  unicastSrcIp: ipAddress.optional(),
  unicastPeers: z
    .array(
      z.strictObject({
        address: ipAddress,
        minTtl: int('minTtl', 0, 255).optional(),
        maxTtl: int('maxTtl', 0, 255).optional(),
      }),
    )
    .default([]),
  mcastSrcIp: ipAddress.optional(),
  authentication: z
    .strictObject({
      type: z.enum(['PASS', 'AH']),
      password: text('password'),
    })
    .optional(),
  virtualIpAddresses: z.array(virtualIp).default([]),
  excludedVirtualIpAddresses: z.array(virtualIp).default([]),
  virtualRoutes: z.array(virtualRoute).default([]),
  trackInterfaces: z.array(trackReference(trackWeight)).default([]),
  trackScripts: z.array(trackReference(trackWeight)).default([]),
  trackFiles: z.array(trackReference(int('weight', -254, 254))).default([]),
  notify,
  smtpAlert: z.boolean().optional(),
  garp: z.strictObject(garpFields).partial().optional(),
  accept: z.boolean().default(true),
});

const vrrpSyncGroup = z.strictObject({
  name: text('name'),
  instances: z.array(text('instance name')).min(1, { error: 'a sync group needs instances' }),
  trackInterfaces: z.array(trackReference(trackWeight)).default([]),
  trackScripts: z.array(trackReference(trackWeight)).default([]),
  trackFiles: z.array(trackReference(int('weight', -254, 254))).default([]),
  notify,
  smtpAlert: z.boolean().optional(),
});

const family = z.enum(['ipv4', 'ipv6']);

const groupEntry = z.union([
  z.strictObject({ address: ipAddress, port: port.optional() }),
  z.strictObject({
    range: z.string().regex(/^[0-9a-fA-F:.]+-[0-9a-fA-F:.]+$/, {
      error: 'range must look like 192.168.200.1-10 or 192.168.200.250-192.168.201.10',
    }),
    port: port.optional(),
  }),
  z.strictObject({ fwmark: int('fwmark', 1, 4294967295), family: family.optional() }),
]);

const virtualServerGroup = z.strictObject({
  name: text('name'),
  entries: z.array(groupEntry).min(1, { error: 'a virtual server group needs entries' }),
});

/** Checker timing shared by all checker kinds; unset values are inherited. */
const checkerTiming = {
  retry: int('retry', 0, 1_000_000).optional(),
  delayBeforeRetryMs: ms('delayBeforeRetryMs').optional(),
  warmupMs: ms('warmupMs').optional(),
  delayLoopMs: ms('delayLoopMs').min(1, { error: 'must be at least 1 millisecond' }).optional(),
};

const checkerConnection = {
  connectIp: ipAddress.optional(),
  connectPort: port.optional(),
  bindTo: ipAddress.optional(),
  connectTimeoutMs: ms('connectTimeoutMs').optional(),
  ...checkerTiming,
};

export const STATUS_CODE_PATTERN = /^(\d{3})(?:-(\d{3}))?$/;

const statusCode = z.union([z.int(), z.string()]).superRefine((value, ctx) => {
  const m = STATUS_CODE_PATTERN.exec(String(value));
  const min = m ? Number(m[1]) : Number.NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!m || min < 100 || max > 599) {
    ctx.addIssue({
      code: 'custom',
      message: `status code '${value}' must be a code from 100 to 599 or a range like 200-299`,
    });
  } else if (min > max) {
    ctx.addIssue({
      code: 'custom',
      message: `status code range '${value}' is empty (${min} > ${max})`,
    });
  }
});

const httpUrl = z.strictObject({
  path: text('path'),
  digest: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, { error: 'digest must be 32 hex digits (MD5, as genhash prints)' })
    .optional(),
  statusCodes: z.array(statusCode).min(1).optional(),
  virtualhost: text('virtualhost').optional(),
});

const httpChecker = (type: 'HTTP_GET' | 'SSL_GET') =>
  z.strictObject({
    type: z.literal(type),
    ...checkerConnection,
    urls: z.array(httpUrl).min(1, { error: `${type} needs at least one url` }),
    virtualhost: text('virtualhost').optional(),
    httpProtocol: z.enum(['1.0', '1.0C', '1.1']).default('1.0'),
    enableSni: z.boolean().default(false),
  });

export const checker = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('TCP_CHECK'), ...checkerConnection }),
  httpChecker('HTTP_GET'),
  httpChecker('SSL_GET'),
  z.strictObject({
    type: z.literal('MISC_CHECK'),
    path: text('path'),
    timeoutMs: ms('timeoutMs').optional(),
    dynamic: z.boolean().default(false),
    user: text('user').optional(),
    group: text('group').optional(),
    ...checkerTiming,
  }),
  z.strictObject({
    type: z.literal('DNS_CHECK'),
    ...checkerConnection,
    queryType: z.enum(DNS_QUERY_TYPES).default('SOA'),
    name: text('name').default('.'),
  }),
  z.strictObject({
    type: z.literal('SMTP_CHECK'),
    ...checkerConnection,
    heloName: text('heloName').optional(),
  }),
  z.strictObject({
    type: z.literal('UDP_CHECK'),
    ...checkerConnection,
    payload: z
      .string()
      .regex(/^[0-9a-fA-F ]+$/, { error: 'payload must be hex digits' })
      .optional(),
    requireReply: z.boolean().default(false),
    replyPattern: z
      .string()
      .regex(/^[0-9a-fA-FxX ]+$/, { error: 'replyPattern must be hex digits or x' })
      .optional(),
    minReplyLength: int('minReplyLength', 0, 65535).default(0),
    maxReplyLength: int('maxReplyLength', 0, 65535).default(255),
  }),
  z.strictObject({ type: z.literal('PING_CHECK'), ...checkerConnection }),
]);

/** A TUN real's encapsulation (keepalived `lvs_method TUN type gue port N csum`). */
const tunnel = z.strictObject({
  type: z.enum(TUNNEL_TYPES).default('ipip'),
  /** GUE's UDP port. */
  port: int('port', 1, 65535).optional(),
  checksum: z.enum(TUNNEL_CHECKSUMS).default('nocsum'),
});

/** A real server as zod alone parses it (`realServer` adds the fast path). */
export const realServerSchema = z.strictObject({
  address: ipAddress,
  port: port.optional(),
  weight: int('weight', 0, 65535).default(DEFAULT_REAL_WEIGHT),
  lbKind: z.enum(LB_KINDS).optional(),
  tunnel: tunnel.optional(),
  inhibitOnFailure: z.boolean().optional(),
  upperThreshold: int('upperThreshold', 0, 4294967295).optional(),
  lowerThreshold: int('lowerThreshold', 0, 4294967295).optional(),
  notifyUp: scriptCommand.optional(),
  notifyDown: scriptCommand.optional(),
  virtualhost: text('virtualhost').optional(),
  connectTimeoutMs: ms('connectTimeoutMs').optional(),
  ...checkerTiming,
  checkers: z.array(checker).default([]),
});

/**
 * Real servers are most of a large configuration: they take a hand-written
 * path when it can tell they are valid, and this schema decides otherwise
 * (real-server-fast-path.ts; a test compares both).
 */
const realServer = z.withParser(realServerSchema, realServerFastPath(realServerSchema, checker));

const virtualServer = z
  .strictObject({
    address: ipAddress.optional(),
    port: port.optional(),
    fwmark: int('fwmark', 1, 4294967295).optional(),
    group: text('group').optional(),
    family: family.optional(),
    protocol: protocolKeyword.default('TCP'),
    scheduler: z.enum(SCHEDULERS).default('wlc'),
    hashSourcePort: z.boolean().default(false),
    schedulerFallback: z.boolean().default(false),
    lbKind: z.enum(LB_KINDS).default('NAT'),
    tunnel: tunnel.optional(),
    delayLoopMs: ms('delayLoopMs')
      .min(1, { error: 'must be at least 1 millisecond' })
      .default(60_000),
    persistenceTimeoutMs: ms('persistenceTimeoutMs', 2_678_400_000).optional(),
    persistenceGranularity: ipAddress.optional(),
    virtualhost: text('virtualhost').optional(),
    sorryServer: z
      .strictObject({
        address: ipAddress,
        port: port.optional(),
        lbKind: z.enum(LB_KINDS).optional(),
        tunnel: tunnel.optional(),
        inhibit: z.boolean().default(false),
      })
      .optional(),
    quorum: int('quorum', 0, 4294967295).default(1),
    hysteresis: int('hysteresis', 0, 4294967295).default(0),
    quorumUp: scriptCommand.optional(),
    quorumDown: scriptCommand.optional(),
    alpha: z.boolean().default(false),
    omega: z.boolean().default(false),
    inhibitOnFailure: z.boolean().default(false),
    haSuspend: z.boolean().default(false),
    bgpAnnounce: z.boolean().default(true),
    smtpAlert: z.boolean().optional(),
    connectTimeoutMs: ms('connectTimeoutMs').optional(),
    retry: checkerTiming.retry,
    delayBeforeRetryMs: checkerTiming.delayBeforeRetryMs,
    warmupMs: checkerTiming.warmupMs,
    realServers: z.array(realServer).default([]),
  })
  .superRefine((vs, ctx) => {
    const targets = [vs.address, vs.fwmark, vs.group].filter((t) => t !== undefined).length;
    if (targets !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'a virtual server needs exactly one of address (with port), fwmark or group',
      });
    }
    if (vs.address === undefined && vs.port !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'port is only valid with address' });
    }
  });

export const configDocumentSchema = z
  .strictObject({
    global: globalSchema,
    ssl: z
      .strictObject({
        password: text('password').optional(),
        ca: text('ca').optional(),
        certificate: text('certificate').optional(),
        key: text('key').optional(),
      })
      .optional(),
    vrrpScripts: z.array(vrrpScript).default([]),
    trackFiles: z.array(trackFile).default([]),
    vrrpSyncGroups: z.array(vrrpSyncGroup).default([]),
    vrrpInstances: z.array(vrrpInstance).default([]),
    virtualServerGroups: z.array(virtualServerGroup).default([]),
    virtualServers: z.array(virtualServer).default([]),
  })
  .meta({
    title: 'lbctl configuration',
    description: 'Configuration of lbctl, a VRRP + layer-4 load balancer for Linux',
  });

/** The document after validation and static defaults, before inheritance. */
export type ConfigDocument = z.output<typeof configDocumentSchema>;
/** The document as written (every defaulted field optional). */
export type ConfigDocumentInput = z.input<typeof configDocumentSchema>;
export type DocumentChecker =
  ConfigDocument['virtualServers'][number]['realServers'][number]['checkers'][number];
