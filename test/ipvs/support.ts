import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IpvsDataPlane } from '../../src/dataplane/ipvs/ipvs-dataplane.js';

const run = promisify(execFile);
const HEADERS = /^(IP Virtual Server|Prot LocalAddress|-> RemoteAddress)/;

/** An IPVS data plane with its own run directory, destroyed (and the directory removed) at cleanup. */
export async function ipvsPlane(
  cleanup: { after(fn: () => unknown): void },
  instance = 'test',
): Promise<IpvsDataPlane> {
  const runDir = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-'));
  const plane = await IpvsDataPlane.open({ instance, runDir });
  cleanup.after(async () => {
    await plane.destroy();
    rmSync(runDir, { recursive: true, force: true });
  });
  return plane;
}

/** ipvsadm's own view (the reference: it reads the same kernel table). */
export async function ipvsadm(...args: string[]): Promise<string> {
  const { stdout } = await run('ipvsadm', args, { timeout: 10_000 });
  return stdout;
}

/** `ipvsadm -Ln` without its headers, whitespace collapsed, one string per line. */
export async function ipvsadmTable(...args: string[]): Promise<string[]> {
  const out = await ipvsadm('-Ln', ...args);
  return out
    .split('\n')
    .map((line) => line.trim().replace(/\s+/g, ' '))
    .filter((line) => line !== '' && !HEADERS.test(line));
}
