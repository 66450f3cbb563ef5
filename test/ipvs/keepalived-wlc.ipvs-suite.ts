/**
 * keepalived's most common configuration, `lb_algo wlc` (and its default,
 * no lb_algo at all, which ipvsadm and keepalived both take as wlc), under
 * `lbctl up` with `dataPlane: auto`: XDP cannot run wlc, so the service
 * goes to kernel IPVS, which forwards a real HTTP request in DR mode between
 * network namespaces. Runs in the VM tier (test/kernels/ipvs.vm.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { labForSuite } from '../support/lab-hooks.js';
import { ipvsadmTable } from './support.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-e2e-'));

function service(a: LabAddresses, port: number, algo: string): string {
  const reals = a.reals
    .map(
      (r) => `    real_server ${r} ${port} {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }`,
    )
    .join('\n');
  return `virtual_server ${a.vip} ${port} {
    delay_loop 2
${algo}    lb_kind DR
    protocol TCP
${reals}
}`;
}

describe('keepalived.conf with lb_algo wlc under lbctl up (auto: kernel IPVS, DR)', () => {
  const lab = new Lab({
    prefix: 'lbipv',
    subnet: '10.79.0',
    reals: 2,
    directors: 1,
    vrrp: false,
    httpPorts: [80, 81],
    dataPlane: 'auto',
    // Everything in the VM runs emulated (TCG): starting node there takes seconds.
    timeScale: 6,
    virtualServers: (a) => [service(a, 80, '    lb_algo wlc\n'), service(a, 81, '')].join('\n'),
    stateDir: join(scratch, 'lab'),
  });

  labForSuite(lab, scratch);

  it('logs that each service runs on IPVS', () => {
    const log = lab.directorLog('director1');
    for (const port of [80, 81]) {
      const line = log
        .split('\n')
        .find(
          (l) =>
            l.includes('runs on the kernel IPVS data plane') &&
            l.includes(`TCP 10.79.0.100:${port}"`),
        );
      assert.ok(line, `no "runs on the kernel IPVS data plane" line for port ${port}:\n${log}`);
    }
  });

  it('forwards HTTP requests to both reals through IPVS (wlc and the default)', async () => {
    for (const port of [80, 81]) {
      const answers = await lab.requests(6, port, 3);
      assert.ok(
        answers.every((a) => a === 'rs1' || a === 'rs2'),
        `port ${port}: ${answers.join(',')}`,
      );
      assert.equal(new Set(answers).size, 2, `port ${port}: ${answers.join(',')}`);
    }
  });

  it('shows the services in the director namespace exactly as ipvsadm -Ln reads them', async () => {
    const { stdout } = await lab.exec('director1', 'ipvsadm', ['-Ln']);
    const lines = stdout.split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    const vip = lab.addresses.vip;
    assert.ok(lines.includes(`TCP ${vip}:80 wlc`), stdout);
    assert.ok(lines.includes(`TCP ${vip}:81 wlc`), stdout);
    for (const r of lab.addresses.reals) {
      assert.ok(
        lines.some((l) => l.startsWith(`-> ${r}:80 Route 1 `)),
        stdout,
      );
    }
    // The host's own namespace (where ipvsadmTable runs) has none of it: IPVS is per namespace.
    assert.deepEqual(
      (await ipvsadmTable()).filter((l) => l.includes(vip)),
      [],
    );
  });
});
