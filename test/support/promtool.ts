import { spawn } from 'node:child_process';

/**
 * Runs Prometheus' promtool (Debian package `prometheus`, installed by
 * scripts/setup.sh) with `input` on stdin, killed after `timeoutMs`.
 */
export function promtool(
  args: readonly string[],
  input = '',
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run promtool (scripts/setup.sh installs it): ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
    child.stdin.end(input);
  });
}
