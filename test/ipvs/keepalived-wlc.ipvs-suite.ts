/**
 * keepalived's most common configuration, `lb_algo wlc` (and its default,
 * no lb_algo at all, which ipvsadm and keepalived both take as wlc), and a
 * `virtual_server fwmark 7`, under `lbctl up` with `dataPlane: auto`: XDP
 * cannot run wlc nor read marks, so the services go to kernel IPVS, which
 * forwards real HTTP requests in DR mode between network namespaces; `lbctl
 * status` then prints what `ipvsadm` prints. Runs in the VM tier
 * (test/kernels/ipvs.vm.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from '../../src/cli/commands/control-client.js';
import type { Protocol } from '../../src/dataplane/dataplane.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import {
  connectionLine,
  connectionsHeader,
  formatServices,
  formatTimeouts,
} from '../../src/status/ipvsadm-format.js';
import type { StatusReport } from '../../src/status/status-report.js';
import { labForSuite } from '../support/lab-hooks.js';
import { waitFor } from '../support/wait.js';
import { ipvsadmTable } from './support.js';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-e2e-'));
const stateDir = join(scratch, 'lab');
const PREFIX = 'lbipv';
/** Where the lab runs each director's lbctl up --run-dir: its state directory, under its prefix. */
const runDir = join(stateDir, PREFIX);
const FWMARK_PORT = 82;

function service(a: LabAddresses, port: number, algo: string, realExtra = ''): string {
  const reals = a.reals
    .map(
      (r) => `    real_server ${r} ${port} {
        weight 1
${realExtra}        TCP_CHECK {
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

/** The virtual_server blocks lbctl up runs, and keepalived 2.2.7 after it. */
const virtualServers = (a: LabAddresses) =>
  [
    service(a, 80, '    lb_algo wlc\n'),
    service(a, 81, '', '        inhibit_on_failure\n'),
    service(a, FWMARK_PORT, '    lb_algo rr\n').replace(`${a.vip} ${FWMARK_PORT}`, 'fwmark 7'),
  ].join('\n');

describe('keepalived.conf with lb_algo wlc under lbctl up (auto: kernel IPVS, DR)', () => {
  const lab = new Lab({
    prefix: PREFIX,
    subnet: '10.79.0',
    reals: 2,
    directors: 1,
    vrrp: false,
    httpPorts: [80, 81, FWMARK_PORT],
    dataPlane: 'auto',
    // Everything in the VM runs emulated (TCG): starting node there takes seconds.
    timeScale: 6,
    virtualServers,
    stateDir,
  });

  /**
   * What `lbctl status` asks the director's control socket, in-process: the
   * CLI only formats this with the same functions, and a node start costs
   * tens of seconds under emulation.
   */
  const statusReport = async (args: Record<string, unknown> = {}) =>
    (await request({ runDir }, 'status', args)) as StatusReport;
  const connectionRows = async () => {
    const rows: string[] = [];
    await request({ runDir }, 'connections', {}, (more) => {
      for (const [protocol, expiresS, state, source, virtual, destination] of more as [
        Protocol,
        number,
        string,
        string,
        string,
        string,
      ][]) {
        rows.push(connectionLine({ protocol, expiresS, state, source, virtual, destination }));
      }
    });
    return `${connectionsHeader()}${rows.join('')}`;
  };
  const ipvsadmIn = async (...args: string[]) =>
    (await lab.exec('director1', 'ipvsadm', args)).stdout;

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

  it('forwards what netfilter marks 7 to the fwmark service, alternating rr between both reals', async () => {
    const vip = lab.addresses.vip;
    // Packets for the VIP's port 82 get mark 7 as they arrive on the director (tc, before IPVS).
    const tc = (...args: string[]) => lab.exec('director1', 'tc', args);
    await tc('qdisc', 'add', 'dev', 'eth0', 'clsact');
    await tc(
      ...['filter', 'add', 'dev', 'eth0', 'ingress', 'protocol', 'ip', 'u32'],
      ...['match', 'ip', 'dst', `${vip}/32`, 'match', 'ip', 'dport', String(FWMARK_PORT), '0xffff'],
      ...['action', 'skbedit', 'mark', '7'],
    );
    const answers = await lab.requests(4, FWMARK_PORT, 3);
    assert.ok(
      answers.every((a) => a === 'rs1' || a === 'rs2'),
      `fwmark: ${answers.join(',')}`,
    );
    assert.equal(new Set(answers).size, 2, `fwmark: ${answers.join(',')}`);
    const table = (await ipvsadmIn('-Ln')).split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    assert.ok(table.includes('FWM 7 rr'), table.join('\n'));
    // DR reals of a mark service get port 0, as keepalived gives them to IPVS (checked below).
    assert.ok(
      table.some((l) => l.startsWith(`-> ${lab.addresses.reals[0]}:0 Route 1 `)),
      table.join('\n'),
    );
  });

  it('keeps its ownership record in the run directory lbctl up was given', () => {
    const record = JSON.parse(
      readFileSync(join(runDir, `${lab.instance('director1')}.ipvs.json`), 'utf8'),
    ) as { services: unknown[] };
    assert.equal(record.services.length, 3, JSON.stringify(record));
    assert.ok(
      record.services.some((k) => (k as { fwmark?: number }).fwmark === 7),
      JSON.stringify(record),
    );
  });

  it('lbctl status prints what ipvsadm prints: -Ln, --stats, --timeout, --rate and -Lnc rows', async () => {
    // Fresh connections first: IPVS forgets closed ones after its FIN timeout.
    await lab.requests(2, 80, 3);
    // Expiry ticks between the two reads: compare the rest of each row.
    const rows = (text: string) =>
      text
        .trim()
        .split('\n')
        .slice(2)
        .map((l) => l.trim().split(/\s+/))
        .map(([pro, , ...rest]) => [pro, ...rest].join(' '))
        .sort();
    const ours = rows(await connectionRows());
    assert.ok(ours.length > 0, 'the requests left connections in the table');
    assert.deepEqual(ours, rows(await ipvsadmIn('-Lnc')));
    // The kernel folds its per-CPU counters into the totals that both ipvsadm and lbctl read
    // only in its 2 s estimation timer: wait until the totals hold still (and count the
    // fwmark requests) before comparing the two reads.
    let previous = '';
    await waitFor(
      () => `IPVS counters to settle; last read:\n${previous}`,
      async () => {
        const now = await ipvsadmIn('-Ln', '--stats');
        const settled = now === previous;
        previous = now;
        return settled;
      },
      { timeoutMs: 30_000, intervalMs: 2_500 },
    );
    const report = await statusReport();
    assert.equal(formatServices(report), await ipvsadmIn('-Ln'));
    assert.equal(formatServices(report, 'stats'), await ipvsadmIn('-Ln', '--stats'));
    assert.equal(formatTimeouts(report), await ipvsadmIn('-Ln', '--timeout'));
    const fwm = report.services.find((s) => s.fwmark === 7);
    assert.ok(fwm !== undefined && fwm.stats.connections >= 4, JSON.stringify(report.services));
    // --rate: the kernel's estimator, as ipvsadm --rate shows it (it moves: compare the layout).
    const rate = formatServices(await statusReport({ rate: true }), 'rate').split('\n');
    const theirs = (await ipvsadmIn('-Ln', '--rate')).split('\n');
    assert.deepEqual(
      rate.map((l) => l.split(/\s+/)[0]),
      theirs.map((l) => l.split(/\s+/)[0]),
    );
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

  /** rs1 fails: it leaves :80, stays at weight 0 on :81 (inhibit_on_failure), rs2 answers; then it returns. */
  const failAndReturn = async () => {
    const [rs1, rs2] = lab.addresses.reals;
    const table = async () =>
      (await ipvsadmIn('-Ln')).split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    const real = (lines: string[], port: number, r: string) =>
      lines.find((l) => l.startsWith(`-> ${r}:${port} `));
    await lab.stop('rs1');
    await waitFor(
      'rs1 out of :80 and inhibited (weight 0) on :81',
      async () => {
        const t = await table();
        return (
          real(t, 80, rs1!) === undefined && real(t, 81, rs1!)?.startsWith(`-> ${rs1}:81 Route 0 `)
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const answers = await lab.requests(3, 81, 3);
    assert.deepEqual(answers, ['rs2', 'rs2', 'rs2'], `only rs2 answers: ${answers.join(',')}`);
    assert.ok(real(await table(), 80, rs2!), 'rs2 stays');
    await lab.start('rs1');
    await waitFor(
      'rs1 back on :80 and :81 at weight 1',
      async () => {
        const t = await table();
        return (
          real(t, 80, rs1!)?.startsWith(`-> ${rs1}:80 Route 1 `) &&
          real(t, 81, rs1!)?.startsWith(`-> ${rs1}:81 Route 1 `)
        );
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  };
  /** rr on the fwmark service: answers alternate between the two reals. */
  const alternates = async () => {
    const answers = await lab.requests(4, FWMARK_PORT, 3);
    assert.ok(
      answers.every((a, i) => (a === 'rs1' || a === 'rs2') && a !== answers[i + 1]),
      `rr alternates: ${answers.join(',')}`,
    );
  };
  /** ipvsadm -Ln without the connection counts, which depend on traffic. */
  const tableShape = async () =>
    (await ipvsadmIn('-Ln'))
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map((f) => (f[0] === '->' ? f.slice(0, 4) : f).join(' '))
      .join('\n');
  let underLbctl = '';

  it('a failed real leaves the service, stays at weight 0 with inhibit_on_failure, and returns', async () => {
    await failAndReturn();
    await alternates();
    underLbctl = await tableShape();
  });

  it('keepalived 2.2.7 given the same virtual servers builds the same IPVS table and behaves the same', async () => {
    assert.ok(underLbctl !== '', 'the lbctl run came first');
    // lbctl stops and removes what it created; keepalived takes over in the same namespace.
    await lab.stop('director1');
    assert.ok(!(await ipvsadmIn('-Ln')).includes('Route'), 'lbctl removed its services');
    const conf = join(scratch, 'keepalived.conf');
    const pid = join(scratch, 'keepalived.pid');
    const checkersPid = join(scratch, 'checkers.pid');
    writeFileSync(conf, `${virtualServers(lab.addresses)}\n`);
    await lab.exec('director1', 'keepalived', ['-C', '-f', conf, '-p', pid, '-c', checkersPid]);
    try {
      let seen = '';
      await waitFor(
        () => `keepalived's table to equal lbctl's:\n${underLbctl}\n--- keepalived:\n${seen}`,
        async () => {
          seen = await tableShape();
          return seen === underLbctl;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      await alternates();
      await failAndReturn();
    } finally {
      await lab.exec('director1', 'sh', ['-c', `kill $(cat ${pid}) 2>/dev/null; true`]);
    }
  });
});
