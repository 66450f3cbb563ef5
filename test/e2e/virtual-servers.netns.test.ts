/**
 * lbctl up on a director in the lab topology, driving XDP DR forwarding to
 * real HTTP servers in network namespaces, with health checks deciding.
 * One lab, several services (one per port) so each behaviour has its own
 * configuration; tests that stop servers run last.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { ANSWERED_WITHIN_S } from '../support/answered-within.js';
import { labForSuite } from '../support/lab-hooks.js';
import { promtool } from '../support/promtool.js';
import { waitFor } from '../support/wait.js';

const DELAY_LOOP_S = 1;
const RETRY = 1;
const DELAY_BEFORE_RETRY_S = 1;
/** keepalived: a real is declared down after the failed check and its retries. */
const DETECTION_MS = (DELAY_LOOP_S + RETRY * DELAY_BEFORE_RETRY_S) * 1000;
const MARGIN_MS = 700;

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-e2e-'));
// Random: two runs of the suite at once must not share namespaces.
const prefix = uniqueName('ve');
const quorumLog = join(scratch, 'quorum.log');
const quorumScript = join(scratch, 'quorum-down.sh');

function check(): string {
  return `TCP_CHECK {
            connect_timeout 1
            retry ${RETRY}
            delay_before_retry ${DELAY_BEFORE_RETRY_S}
            warmup 0
        }`;
}

function service(a: LabAddresses, port: number, settings: string, weights: number[]): string {
  const reals = a.reals
    .map(
      (r, i) =>
        `    real_server ${r} ${port} {\n        weight ${weights[i] ?? 1}\n        ${check()}\n    }`,
    )
    .join('\n');
  return `virtual_server ${a.vip} ${port} {
    delay_loop ${DELAY_LOOP_S}
    lvs_method DR
    protocol TCP
${settings}
${reals}
}`;
}

function virtualServers(a: LabAddresses): string {
  return [
    // The classic DR tutorial: rr, a sorry server on the director, and a script when quorum is lost.
    service(
      a,
      80,
      `    lvs_sched rr\n    sorry_server 127.0.0.1 80\n    quorum_down ${quorumScript}`,
      [1, 1],
    ),
    service(a, 81, '    lvs_sched wrr', [3, 1]),
    // persistence keeps a browser on one server.
    service(a, 82, '    lvs_sched rr\n    persistence_timeout 30', [1, 1]),
    service(a, 83, '    lvs_sched rr\n    inhibit_on_failure', [1, 1]),
  ].join('\n');
}

function count(answers: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[a] = (out[a] ?? 0) + 1;
  return out;
}

/** Reals of the director's data plane as bpftool prints them (BTF gives field names). */
function dataPlaneReals(instance: string): { weight: number; flags: number; port: number }[] {
  const json = execFileSync(
    'bpftool',
    ['-j', 'map', 'dump', 'pinned', join(pinRoot, instance, 'lb_reals')],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  type Real = { weight: number; flags: number; port: number };
  const entries = JSON.parse(json) as { formatted?: { value: Real } }[];
  return entries
    .map((e) => e.formatted?.value)
    .filter((v): v is Real => v !== undefined && v.flags !== 0)
    .map((v) => ({ ...v, port: ((v.port & 0xff) << 8) | (v.port >> 8) })); // network byte order
}

describe('virtual servers end to end (lbctl up, XDP DR, real HTTP servers)', () => {
  const lab = new Lab({
    prefix,
    subnet: '10.78.0',
    reals: 2,
    directors: 1,
    vrrp: false,
    httpPorts: [80, 81, 82, 83],
    virtualServers,
    stateDir: join(scratch, 'lab'),
  });
  const director = 'director1';

  labForSuite(lab, scratch, () => {
    writeFileSync(quorumScript, `#!/bin/sh\necho "quorum down" >> ${quorumLog}\n`);
    chmodSync(quorumScript, 0o755);
  });

  it('alternates new connections between RS1 and RS2 under rr', async () => {
    const answers = await lab.requests(8, 80, ANSWERED_WITHIN_S);
    assert.ok(
      answers.every((a) => a === 'rs1' || a === 'rs2'),
      answers.join(','),
    );
    for (let i = 1; i < answers.length; i++)
      assert.notEqual(answers[i], answers[i - 1], answers.join(','));
  });

  it('splits connections 3:1 under wrr with weights 3 and 1', async () => {
    const answers = await lab.requests(40, 81, ANSWERED_WITHIN_S);
    assert.deepEqual(count(answers), { rs1: 30, rs2: 10 });
  });

  it('serves Prometheus metrics with the connections it forwarded, in names promtool accepts', async () => {
    const { stdout } = await lab.exec(director, 'curl', ['-s', 'http://127.0.0.1:9477/metrics']);
    const vs = (port: number) =>
      `proto="TCP",local_address="${lab.addresses.vip}",local_port="${port}"`;
    const connections = (port: number) =>
      Number(
        new RegExp(`^lbctl_virtual_server_connections_total\\{${vs(port)}\\} (\\d+)$`, 'm').exec(
          stdout,
        )?.[1],
      );
    // The rr and wrr tests above made 8 and 40 connections.
    assert.ok(connections(80) >= 8, stdout);
    assert.ok(connections(81) >= 40, stdout);
    assert.match(stdout, new RegExp(`^lbctl_virtual_server_quorum_up\\{${vs(80)}\\} 1$`, 'm'));
    const rs1 = `${vs(81)},remote_address="${lab.addresses.reals[0]}",remote_port="81"`;
    assert.match(stdout, new RegExp(`^lbctl_real_server_up\\{${rs1}\\} 1$`, 'm'));
    assert.match(stdout, new RegExp(`^lbctl_real_server_weight\\{${rs1}\\} 3$`, 'm'));
    assert.match(
      stdout,
      new RegExp(`^lbctl_check_up\\{${rs1},check="0",type="TCP_CHECK"\\} 1$`, 'm'),
    );
    assert.match(stdout, /^lbctl_build_info\{version="[^"]+",nodejs_version="[^"]+"\} 1$/m);
    assert.match(stdout, /^process_resident_memory_bytes \d+/m);
    const table = (name: string) =>
      Number(new RegExp(`^lbctl_connection_table_${name} (\\d+)$`, 'm').exec(stdout)?.[1]);
    assert.ok(table('capacity_entries') >= 1024, stdout);
    assert.ok(table('used_entries') >= 40, 'the 48 connections above took entries');
    // The 40 wrr connections are closed but live in the table (FIN timeout): inactive, as IPVS counts them.
    const live = (state: 'active' | 'inactive', real: string) =>
      Number(
        new RegExp(
          `^lbctl_real_server_connections_${state}\\{${vs(81)},remote_address="${real}",remote_port="81"\\} (\\d+)$`,
          'm',
        ).exec(stdout)?.[1],
      );
    const [r1, r2] = lab.addresses.reals;
    const on81 = [r1!, r2!].reduce((n, r) => n + live('active', r) + live('inactive', r), 0);
    assert.ok(on81 >= 40, `live connections on port 81: ${on81}`);
    assert.ok(live('inactive', r1!) >= 1, stdout);
    assert.ok(table('live_entries') >= on81, stdout);
    const lint = await promtool(['check', 'metrics'], stdout);
    assert.equal(lint.code, 0, lint.output);
  });

  it('keeps one client on one real server with persistence_timeout', async () => {
    const answers = await lab.requests(10, 82, ANSWERED_WITHIN_S);
    assert.equal(new Set(answers).size, 1, answers.join(','));
    assert.ok(answers[0] === 'rs1' || answers[0] === 'rs2');
  });

  it('moves all traffic to RS2 within delay_loop + retries of RS1 stopping, and none fails after', async () => {
    await lab.stop('rs1');
    const stoppedAt = Date.now();
    // Requests during the detection window may fail (connections to RS1 are refused).
    const during = await lab.requests(4);
    assert.ok(
      during.every((a) => a === 'rs2' || a === 'FAILED'),
      during.join(','),
    );
    const wait = stoppedAt + DETECTION_MS + MARGIN_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const answers = await lab.requests(10, 80, ANSWERED_WITHIN_S);
    assert.deepEqual(answers, Array(10).fill('rs2'));
  });

  it('keeps RS1 at weight 0 with inhibit_on_failure instead of removing it', async () => {
    const reals = dataPlaneReals(lab.instance(director));
    const on83 = reals.filter((r) => r.port === 83);
    assert.deepEqual(
      on83.map((r) => r.weight).sort(),
      [0, 1],
      'both reals of :83 are present, the stopped one drained',
    );
    const on80 = reals.filter((r) => r.port === 80);
    assert.deepEqual(
      on80.map((r) => r.weight),
      [1],
      'without inhibit the stopped real is removed',
    );
    assert.deepEqual(await lab.requests(4, 83, ANSWERED_WITHIN_S), Array(4).fill('rs2'));
  });

  it('hands the service to the sorry server when both are down, and runs quorum_down', async () => {
    await lab.stop('rs2');
    const answers = await waitFor(
      'the sorry server',
      async () => {
        const [answer] = await lab.requests(1);
        return answer === 'sorry-director1' ? answer : undefined;
      },
      { timeoutMs: DETECTION_MS + 3000, intervalMs: 200 },
    );
    assert.equal(answers, 'sorry-director1');
    assert.deepEqual(
      await lab.requests(4, 80, ANSWERED_WITHIN_S),
      Array(4).fill('sorry-director1'),
    );
    await waitFor('quorum_down', () => (existsSync(quorumLog) ? true : undefined), {
      timeoutMs: 3000,
    });
    assert.match(readFileSync(quorumLog, 'utf8'), /quorum down/);
  });

  it('sends traffic to the real servers again once they are back', async () => {
    await lab.start('rs1');
    await lab.start('rs2');
    await waitFor(
      'both reals back',
      async () => {
        const answers = await lab.requests(2);
        return answers.includes('rs1') && answers.includes('rs2') ? true : undefined;
      },
      { timeoutMs: (DELAY_LOOP_S + 2) * 1000 + 3000, intervalMs: 200 },
    );
    const answers = await lab.requests(6, 80, ANSWERED_WITHIN_S);
    assert.deepEqual(count(answers), { rs1: 3, rs2: 3 });
  });

  it('detaches XDP and removes its pins when lbctl stops', async () => {
    await lab.stop(director);
    const { stdout } = await lab.exec(director, 'ip', ['-o', 'link', 'show', 'dev', 'eth0']);
    assert.doesNotMatch(stdout, /xdp/);
    assert.equal(existsSync(join(pinRoot, lab.instance(director))), false);
    assert.match(lab.directorLog(director), /XDP detached and pins removed/);
  });
});
