/**
 * Whether the running kernel's verifier accepts the data-plane program, and
 * at what cost. The program is loaded exactly as `lbctl up` loads it (same
 * object, same rodata knobs), but neither pinned nor attached, then unloaded.
 */
import { release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { BpfError } from '../../bpf/errors.js';
import { XdpDataPlane, type XdpDataPlaneOptions } from './xdp-dataplane.js';

/** The settings that change what the verifier sees (rodata knobs, table masks). */
export type ProgramSettings = Pick<
  XdpDataPlaneOptions,
  | 'malformed'
  | 'fragments'
  | 'sloppyTcp'
  | 'connectionSync'
  | 'kernelHz'
  | 'maxServices'
  | 'maxReals'
  | 'connections'
  | 'persistenceEntries'
>;

export interface ProgramVariant {
  readonly name: string;
  readonly settings: ProgramSettings;
}

export interface ProgramLoad {
  readonly variant: string;
  /** uname -r of the kernel that verified it. */
  readonly kernel: string;
  readonly accepted: boolean;
  /** Wall time of the load (verification plus map creation), in milliseconds. */
  readonly loadMs: number;
  /** Instructions after the verifier's rewrites (accepted only). */
  readonly insns?: number;
  /** Instructions the verifier processed (accepted only; 0 before Linux 5.16). */
  readonly verifiedInsns?: number;
  /** Why it was refused (refused only). */
  readonly error?: string;
  /** The verifier's complete log (refused only, when the kernel wrote one). */
  readonly verifierLog?: string;
}

/** The program as `lbctl up` loads it unless configured otherwise. */
export const DEFAULT_VARIANT: ProgramVariant = { name: 'defaults', settings: {} };

/**
 * Every combination of the knobs that change the verified code (the
 * malformed and fragment verdicts; the clock: jiffies with HZ 250, or
 * bpf_ktime_get_coarse_ns when HZ is unknown), then sloppy_tcp and
 * connection sync (with either clock), then the program as `lbctl up`
 * loads it by default. The knob variants leave the table sizes to the
 * caller (unset, they are the defaults): sizes change only the table masks,
 * which the verifier treats alike, and the last variant keeps the default
 * sizes covered. The tests verify the knob variants at the sizes their
 * data planes use, so one verified load serves both.
 */
export const PROGRAM_VARIANTS: readonly ProgramVariant[] = [
  ...(['pass', 'drop'] as const).flatMap((malformed) =>
    (['pass', 'drop'] as const).flatMap((fragments) =>
      (
        [
          ['jiffies', 250],
          ['ktime', 0],
        ] as const
      ).map(([clock, kernelHz]) => ({
        name: `malformed=${malformed} fragments=${fragments} clock=${clock}`,
        settings: { malformed, fragments, kernelHz },
      })),
    ),
  ),
  { name: 'sloppy_tcp', settings: { sloppyTcp: true } },
  { name: 'connection sync', settings: { connectionSync: true } },
  { name: 'connection sync, clock=ktime', settings: { connectionSync: true, kernelHz: 0 } },
  DEFAULT_VARIANT,
];

/**
 * Loads the program with `settings`, reports the verdict, and unloads it.
 * `loadSkeleton` replaces libbpf's load (tests lend a program verified once).
 */
export async function checkProgramLoad(
  variant: ProgramVariant,
  objectPath?: string,
  loadSkeleton?: XdpDataPlaneOptions['loadSkeleton'],
): Promise<ProgramLoad> {
  const kernel = release();
  const start = performance.now();
  try {
    const plane = await XdpDataPlane.open({
      ...variant.settings,
      instance: 'load-check',
      pin: false,
      ...(objectPath === undefined ? {} : { objectPath }),
      ...(loadSkeleton === undefined ? {} : { loadSkeleton }),
    });
    const loadMs = performance.now() - start;
    const { insns, verifiedInsns } = plane.program.info;
    await plane.destroy();
    return { variant: variant.name, kernel, accepted: true, loadMs, insns, verifiedInsns };
  } catch (err) {
    const loadMs = performance.now() - start;
    const error = err instanceof Error ? err.message : String(err);
    const verifierLog = err instanceof BpfError ? err.verifierLog : undefined;
    return {
      variant: variant.name,
      kernel,
      accepted: false,
      loadMs,
      error,
      ...(verifierLog ? { verifierLog } : {}),
    };
  }
}
