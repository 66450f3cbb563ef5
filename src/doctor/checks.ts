import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { BpfError } from '../bpf/errors.js';
import { BpfObject } from '../bpf/object.js';
import { bpfObjectPath } from '../bpf/paths.js';
import { libbpfVersion } from '../bpf/version.js';
import { checkProgramLoad, DEFAULT_VARIANT } from '../dataplane/xdp/load-check.js';

export type CheckStatus = 'ok' | 'missing' | 'skipped';

export interface DoctorFinding {
  name: string;
  status: CheckStatus;
  /** Whether lbctl cannot run without it. */
  required: boolean;
  detail: string;
}

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_BPF = 39;

/** Effective capabilities of this process, from /proc/self/status. */
function effectiveCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match?.[1] === undefined ? 0n : BigInt(`0x${match[1]}`);
}

export function checkPrivileges(): DoctorFinding {
  const caps = effectiveCapabilities();
  const has = (cap: number) => (caps & (1n << BigInt(cap))) !== 0n;
  const bpf = has(CAP_BPF) || has(CAP_SYS_ADMIN);
  const netAdmin = has(CAP_NET_ADMIN);
  const who = process.getuid?.() === 0 ? 'root' : `uid ${process.getuid?.()}`;
  if (bpf && netAdmin) {
    return {
      name: 'privileges',
      status: 'ok',
      required: true,
      detail: `${who} with CAP_BPF and CAP_NET_ADMIN`,
    };
  }
  const lacking = [
    bpf ? undefined : 'CAP_BPF (or CAP_SYS_ADMIN)',
    netAdmin ? undefined : 'CAP_NET_ADMIN',
  ]
    .filter((x) => x !== undefined)
    .join(' and ');
  return {
    name: 'privileges',
    status: 'missing',
    required: true,
    detail: `${who} lacks ${lacking}; run as root`,
  };
}

export function checkBpffs(mounts = readFileSync('/proc/mounts', 'utf8')): DoctorFinding {
  const mounted = mounts.split('\n').some((line) => {
    const [, dir, type] = line.split(' ');
    return dir === '/sys/fs/bpf' && type === 'bpf';
  });
  if (mounted)
    return { name: 'bpffs', status: 'ok', required: true, detail: 'mounted at /sys/fs/bpf' };
  return {
    name: 'bpffs',
    status: 'missing',
    required: true,
    detail: 'not mounted at /sys/fs/bpf; mount it with: mount -t bpf bpf /sys/fs/bpf',
  };
}

export function checkBtf(path = '/sys/kernel/btf/vmlinux'): DoctorFinding {
  if (existsSync(path))
    return { name: 'kernel BTF', status: 'ok', required: true, detail: `${path} present` };
  return {
    name: 'kernel BTF',
    status: 'missing',
    required: true,
    detail: `${path} absent; the kernel needs CONFIG_DEBUG_INFO_BTF=y`,
  };
}

export function checkLibbpf(): DoctorFinding {
  try {
    return {
      name: 'libbpf',
      status: 'ok',
      required: true,
      detail: `libbpf ${libbpfVersion()} (native addon loaded)`,
    };
  } catch (err) {
    return { name: 'libbpf', status: 'missing', required: true, detail: (err as Error).message };
  }
}

export function checkIpvs(kernelRelease = release()): DoctorFinding {
  if (existsSync('/proc/net/ip_vs')) {
    return {
      name: 'kernel IPVS',
      status: 'ok',
      required: false,
      detail: 'ip_vs loaded (/proc/net/ip_vs)',
    };
  }
  const moduleDir = `/lib/modules/${kernelRelease}/kernel/net/netfilter/ipvs`;
  if (existsSync(moduleDir) && readdirSync(moduleDir).some((f) => f.startsWith('ip_vs.ko'))) {
    return {
      name: 'kernel IPVS',
      status: 'ok',
      required: false,
      detail: `ip_vs available as a module (${moduleDir})`,
    };
  }
  return {
    name: 'kernel IPVS',
    status: 'missing',
    required: false,
    detail: `ip_vs is neither loaded nor installed for kernel ${kernelRelease}; the IPVS fallback data plane is unavailable (XDP is unaffected)`,
  };
}

/** Attaches and immediately detaches a pass-through program in native mode. */
export async function checkNativeXdp(ifname: string | undefined): Promise<DoctorFinding> {
  const name = 'native XDP';
  if (ifname === undefined) {
    return {
      name,
      status: 'skipped',
      required: false,
      detail: 'pass --interface NAME to try attaching in native mode',
    };
  }
  let object: BpfObject | undefined;
  try {
    object = BpfObject.open(bpfObjectPath('counter'));
    await object.load();
    const program = object.program('xdp_count');
    const link = program.attachXdp(ifname, { mode: 'native' });
    link.detach();
    link.close();
    program.close();
    return { name, status: 'ok', required: true, detail: `attached and detached on ${ifname}` };
  } catch (err) {
    const detail = err instanceof BpfError ? err.message : String(err);
    return { name, status: 'missing', required: true, detail };
  } finally {
    object?.close();
  }
}

/**
 * Loads the real data-plane program as `lbctl up` would (not attached, not
 * pinned): the kernel's verifier is the only judge of whether it runs here.
 */
export async function checkDataPlaneProgram(objectPath?: string): Promise<DoctorFinding> {
  const name = 'XDP data plane';
  const load = await checkProgramLoad(DEFAULT_VARIANT, objectPath);
  if (load.accepted) {
    return {
      name,
      status: 'ok',
      required: true,
      detail: `lb_xdp accepted by the verifier of kernel ${load.kernel} (${load.insns} instructions, ${load.verifiedInsns} verified)`,
    };
  }
  return { name, status: 'missing', required: true, detail: load.error ?? 'not loaded' };
}

export async function runChecks(options: { interface?: string }): Promise<DoctorFinding[]> {
  return [
    checkPrivileges(),
    checkBpffs(),
    checkBtf(),
    checkLibbpf(),
    await checkNativeXdp(options.interface),
    await checkDataPlaneProgram(),
    checkIpvs(),
  ];
}

/** True when every required check passed. */
export function healthy(results: readonly DoctorFinding[]): boolean {
  return results.every((r) => !r.required || r.status === 'ok');
}
