/**
 * Turns a kernel's refusal of the data-plane program into an error an
 * operator can act on: which kernel, and what its verifier said.
 */
import { release } from 'node:os';
import { BpfError } from '../../bpf/errors.js';

/**
 * The lines of a verifier log that say why: its trace ends with the failing
 * instruction, the reason, and a "processed N insns" summary. Returns the
 * last `lines` lines before that summary (the reason last).
 */
export function verifierReason(log: string, lines = 6): string[] {
  const all = log.split('\n').filter((l) => l.trim() !== '');
  const summary = all.findLastIndex((l) => l.startsWith('processed '));
  const end = summary === -1 ? all.length : summary;
  return all.slice(Math.max(0, end - lines), end);
}

/**
 * A load failure with the verifier's log becomes "kernel X's verifier
 * refused ...: <reason>" followed by the trace's last lines; the log stays on
 * the error. Other errors pass through unchanged.
 */
export function explainLoadFailure(err: unknown, what: string, kernel = release()): unknown {
  if (!(err instanceof BpfError) || !err.verifierLog) return err;
  const trace = verifierReason(err.verifierLog);
  const reason = trace.at(-1) ?? 'no reason given';
  // libbpf's own log names the program the kernel refused.
  const program = /prog '([^']+)': BPF program load failed/.exec(err.libbpfLog ?? '')?.[1];
  const refused = program === undefined ? 'a program' : `program ${program}`;
  const message =
    `Cannot load ${what}: the verifier of kernel ${kernel} refused ${refused}: ${reason}\n` +
    trace.map((l) => `    ${l}`).join('\n');
  return new BpfError(message, err.code, err.errno, err.operation, {
    verifierLog: err.verifierLog,
    ...(err.libbpfLog !== undefined ? { libbpfLog: err.libbpfLog } : {}),
  });
}

/** True when `err` is the kernel's verifier refusing the program (not a missing file or privilege). */
export function isVerifierRefusal(err: unknown): err is BpfError {
  return err instanceof BpfError && err.code === 'BPF_LOAD_FAILED' && err.verifierLog !== undefined;
}
