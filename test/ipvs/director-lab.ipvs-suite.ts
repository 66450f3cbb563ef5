/**
 * Everything the IPVS tier proves with real traffic, in one lab (starting a
 * lab under emulation costs minutes, so the VM run builds one): a client, two
 * reals, director1 running `lbctl up` with `dataPlane: ipvs` and director2
 * with `dataPlane: xdp`, VRRP between them and connection sync. Runs in the
 * VM tier (test/kernels/ipvs.vm.test.ts); the tests run in order, each phase
 * leaving the lab as the next expects it.
 *
 * 1. director1 (VRRP master) on kernel IPVS: keepalived's most common
 *    configuration (`lb_algo wlc`, and no lb_algo at all, which keepalived and
 *    ipvsadm take as wlc), a `virtual_server fwmark 7`, and the tutorial's DR
 *    rr service with TCP_CHECK and `sorry_server 127.0.0.1 80`
 *    (test/fixtures/config/tutorials/000-kpmaster.conf, addresses replaced):
 *    HTTP through each, `lbctl status` equal to ipvsadm, then reals failing
 *    one by one (removed, inhibited at weight 0, the sorry server taking
 *    over when none is left) and returning.
 * 2. Connection sync on the IPVS wire format, both ways: a connection through
 *    director1's IPVS, synced by the kernel's daemon lbctl started, carries on
 *    through director2's XDP after director1 stops; then a connection through
 *    director2's XDP shows in director1's kernel (a backup daemon).
 * 3. keepalived 2.2.7 given director1's virtual_server blocks in director1's
 *    namespace: the same `ipvsadm -Ln` at every step of the same sequence,
 *    and the same answers.
 * 4. Both directors on kernel IPVS (director2 restarted with `dataPlane:
 *    ipvs`): director1 stopped gracefully right after a connection's first
 *    exchange, before its kernel master daemon sent it; lbctl's last send
 *    puts it in director2's IPVS, and it carries on through director2.
 *    Self-contained (it restarts both directors), so it also runs alone.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from '../../src/cli/commands/control-client.js';
import { requestStatus } from '../../src/cli/commands/status-request.js';
import { repoRoot } from '../../src/config/repo-root.js';
import type { Protocol } from '../../src/dataplane/dataplane.js';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import {
  connectionLine,
  connectionsHeader,
  formatServices,
  formatTimeouts,
} from '../../src/status/ipvsadm-format.js';
import { labForSuite } from '../support/lab-hooks.js';
import { waitFor } from '../support/wait.js';
import { keepAliveSession, PORT as LINE_PORT, lineService } from '../sync/keepalive-lab.js';
import { ipvsadmTable } from './support.js';

/** Everything in the VM runs emulated (TCG): an XDP director with sync took 120-200+ s to start. */
const SCALE = 20;
const VRID = 77;
const PREFIX = 'lbipv';
const TUTORIAL_PORT = 80;
const WLC_PORT = 81;
const DEFAULT_PORT = 82;
const FWMARK_PORT = 83;
const SORRY = 'sorry-director1';

const scratch = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-lab-'));
const stateDir = join(scratch, 'lab');
/** Where the lab runs each director's lbctl up --run-dir: its state directory, under its prefix. */
const runDir = join(stateDir, PREFIX);

/** The tutorial's first virtual_server block, word for word, on the lab's addresses. */
function tutorialService(a: LabAddresses): string {
  const text = readFileSync(
    join(repoRoot(), 'test/fixtures/config/tutorials/000-kpmaster.conf'),
    'utf8',
  );
  const start = text.indexOf('virtual_server 192.168.10.100 80 {');
  const end = text.indexOf('\nvirtual_server', start + 1);
  const [rs1, rs2] = a.reals;
  return text
    .slice(start, end)
    .replaceAll('192.168.10.100', a.vip)
    .replaceAll('192.168.10.16', rs1!)
    .replaceAll('192.168.10.17', rs2!);
}

/** A DR service on `port` with both reals TCP-checked every 2 s. */
function checkedService(a: LabAddresses, port: number, algo: string, realExtra = ''): string {
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

/** What director1 runs besides the line service both directors run. */
const director1OwnServices = (a: LabAddresses) =>
  [
    tutorialService(a),
    checkedService(a, WLC_PORT, '    lb_algo wlc\n'),
    checkedService(a, DEFAULT_PORT, '', '        inhibit_on_failure\n'),
    checkedService(a, FWMARK_PORT, '    lb_algo rr\n').replace(
      `${a.vip} ${FWMARK_PORT}`,
      'fwmark 7',
    ),
  ].join('\n');

/** director1's virtual servers (lbctl up, then keepalived); director2 runs the line service only. */
const director1Services = (a: LabAddresses) => `${lineService(a)}\n${director1OwnServices(a)}`;

describe('one lab: lbctl on kernel IPVS and on XDP, connection sync, and keepalived side by side', () => {
  const lab = new Lab({
    prefix: PREFIX,
    subnet: '10.79.0',
    reals: 2,
    directors: 2,
    vrrp: true,
    connectionSync: true,
    directorDataPlanes: ['ipvs', 'xdp'],
    // A small XDP connection table: allocating lbctl's default million entries is slow under TCG.
    connectionTableSize: 4096,
    httpPorts: [TUTORIAL_PORT, WLC_PORT, DEFAULT_PORT, FWMARK_PORT],
    timeScale: SCALE,
    virtualServers: lineService,
    directorExtraConfig: (a, director) => (director === 0 ? director1OwnServices(a) : ''),
    stateDir,
  });
  labForSuite(lab, scratch);

  const instance = () => lab.instance('director1');
  /**
   * What `lbctl status` asks the director's control socket, in-process: the
   * CLI only formats this with the same functions, and a node start costs
   * tens of seconds under emulation.
   */
  const statusReport = async (args: Record<string, unknown> = {}) =>
    await requestStatus({ runDir, instance: instance() }, args);
  const connectionRows = async () => {
    const rows: string[] = [];
    await request({ runDir, instance: instance() }, 'connections', {}, (more) => {
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
  const lines = async () =>
    (await ipvsadmIn('-Ln')).split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  /** `ipvsadm -Ln --sort` without the connection counts, which depend on traffic. */
  const tableShape = async () =>
    (await ipvsadmIn('-Ln', '--sort'))
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map((f) => (f[0] === '->' ? f.slice(0, 4) : f).join(' '))
      .join('\n');
  const answersOn = (port: number, count = 3) => lab.requests(count, port, 3);
  /**
   * The client's connection from `clientPort` to the line service in `ipvsadm -Lnc`
   * output, split into fields. Earlier phases' connections linger in the kernel's table.
   */
  const lineConnection = (lnc: string, clientPort: number) =>
    lnc
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .find(
        (f) =>
          f[0] === 'TCP' &&
          f[3] === `${lab.addresses.client}:${clientPort}` &&
          f[4] === `${lab.addresses.vip}:${LINE_PORT}`,
      );
  /** rr: every answer from a real, each differing from the one before. */
  const alternates = async (port: number) => {
    const answers = await answersOn(port, 4);
    assert.ok(
      answers.every((a, i) => (a === 'rs1' || a === 'rs2') && a !== answers[i + 1]),
      `rr alternates on :${port}: ${answers.join(',')}`,
    );
  };

  /**
   * rs1 stops: out of the tutorial's and the wlc service, weight 0 on the
   * inhibit_on_failure one, rs2 answers; rs2 stops too: the tutorial's sorry
   * server (127.0.0.1:80, a DR real IPVS delivers locally) answers; both return: rr again.
   * Returns the table at each of the four steps.
   */
  const failureSequence = async (): Promise<string[]> => {
    const [rs1, rs2] = lab.addresses.reals as [string, string];
    const real = (t: string[], port: number, r: string) =>
      t.find((l) => l.startsWith(`-> ${r}:${port} `));
    const settle = (what: string, test: (t: string[]) => boolean) => {
      let seen: string[] = [];
      return waitFor(
        () => `${what}; last table:\n${seen.join('\n')}`,
        async () => {
          seen = await lines();
          return test(seen);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    };
    const shapes = [await tableShape()];

    await lab.stop('rs1');
    await settle(
      'rs1 out of :80 and :81, at weight 0 on :82',
      (t) =>
        real(t, TUTORIAL_PORT, rs1) === undefined &&
        real(t, WLC_PORT, rs1) === undefined &&
        real(t, DEFAULT_PORT, rs1)?.startsWith(`-> ${rs1}:${DEFAULT_PORT} Route 0 `) === true,
    );
    for (const port of [TUTORIAL_PORT, DEFAULT_PORT])
      assert.deepEqual(await answersOn(port), ['rs2', 'rs2', 'rs2'], `only rs2 on :${port}`);
    shapes.push(await tableShape());

    await lab.stop('rs2');
    await settle(
      'no real on :80 but the sorry server, none on :81',
      (t) =>
        real(t, TUTORIAL_PORT, rs2) === undefined &&
        // 6.1 keeps the DR method and delivers locally when it routes (ipvsadm: Route).
        real(t, TUTORIAL_PORT, '127.0.0.1')?.startsWith('-> 127.0.0.1:80 Route 1 ') === true &&
        real(t, WLC_PORT, rs2) === undefined &&
        real(t, DEFAULT_PORT, rs2)?.startsWith(`-> ${rs2}:${DEFAULT_PORT} Route 0 `) === true,
    );
    assert.deepEqual(await answersOn(TUTORIAL_PORT), [SORRY, SORRY, SORRY], 'the sorry server');
    shapes.push(await tableShape());

    await Promise.all([lab.start('rs1'), lab.start('rs2')]);
    await settle(
      'both reals back everywhere, the sorry server gone',
      (t) =>
        real(t, TUTORIAL_PORT, '127.0.0.1') === undefined &&
        [TUTORIAL_PORT, WLC_PORT, DEFAULT_PORT].every((port) =>
          [rs1, rs2].every(
            (r) => real(t, port, r)?.startsWith(`-> ${r}:${port} Route 1 `) === true,
          ),
        ),
    );
    await alternates(TUTORIAL_PORT);
    shapes.push(await tableShape());
    return shapes;
  };
  let underLbctl: string[] = [];

  describe('lbctl up with dataPlane ipvs', () => {
    it('logs that each virtual server runs on kernel IPVS', () => {
      const log = lab.directorLog('director1');
      for (const name of ['TCP 10.79.0.100:80"', 'TCP 10.79.0.100:81"', 'TCP fwmark 7"']) {
        assert.ok(
          log
            .split('\n')
            .some((l) => l.includes('runs on the kernel IPVS data plane') && l.includes(name)),
          `no "runs on the kernel IPVS data plane" line for ${name}:\n${log}`,
        );
      }
    });

    it('forwards HTTP to both reals through wlc and the default scheduler (wlc)', async () => {
      for (const port of [WLC_PORT, DEFAULT_PORT]) {
        const answers = await answersOn(port, 4);
        assert.ok(
          answers.every((a) => a === 'rs1' || a === 'rs2'),
          `:${port}: ${answers.join(',')}`,
        );
        assert.equal(new Set(answers).size, 2, `:${port}: ${answers.join(',')}`);
      }
    });

    it('forwards what netfilter marks 7 to the fwmark service, rr between both reals', async () => {
      const vip = lab.addresses.vip;
      // Packets for the VIP's port 83 get mark 7 as they arrive on the director (tc, before IPVS).
      const tc = (...args: string[]) => lab.exec('director1', 'tc', args);
      await tc('qdisc', 'add', 'dev', 'eth0', 'clsact');
      await tc(
        ...['filter', 'add', 'dev', 'eth0', 'ingress', 'protocol', 'ip', 'u32'],
        ...['match', 'ip', 'dst', `${vip}/32`, 'match', 'ip', 'dport', String(FWMARK_PORT)],
        ...['0xffff', 'action', 'skbedit', 'mark', '7'],
      );
      await alternates(FWMARK_PORT);
      const table = await lines();
      assert.ok(table.includes('FWM 7 rr'), table.join('\n'));
      // DR reals of a mark service get port 0, as keepalived gives them to IPVS (phase 3).
      assert.ok(
        table.some((l) => l.startsWith(`-> ${lab.addresses.reals[0]}:0 Route 1 `)),
        table.join('\n'),
      );
    });

    it('keeps its ownership record in the run directory lbctl up was given', () => {
      const record = JSON.parse(readFileSync(join(runDir, `${instance()}.ipvs.json`), 'utf8')) as {
        services: { fwmark?: number }[];
      };
      assert.equal(record.services.length, 5, JSON.stringify(record));
      assert.ok(
        record.services.some((k) => k.fwmark === 7),
        JSON.stringify(record),
      );
    });

    it('lbctl status prints what ipvsadm prints: -Ln, --stats, --timeout, --rate and -Lnc rows', async () => {
      // Fresh connections first: IPVS forgets closed ones after its FIN timeout.
      await answersOn(WLC_PORT, 2);
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
      // The kernel folds its per-CPU counters into the totals both ipvsadm and lbctl read only
      // in its 2 s estimation timer: wait until the totals hold still before comparing.
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
      // Connections also expire (ActiveConn/InActConn move) between two reads: compare
      // lbctl's read with ipvsadm's reads around it once those two agree.
      let report = await statusReport();
      let before = '';
      await waitFor(
        () => `two ipvsadm reads that agree around lbctl's; last:\n${before}`,
        async () => {
          before = await ipvsadmIn('-Ln', '--stats');
          report = await statusReport();
          return (await ipvsadmIn('-Ln', '--stats')) === before;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.equal(formatServices(report, 'stats'), before);
      await waitFor(
        () => `two ipvsadm reads that agree around lbctl's; last:\n${before}`,
        async () => {
          before = await ipvsadmIn('-Ln');
          report = await statusReport();
          return (await ipvsadmIn('-Ln')) === before;
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      assert.equal(formatServices(report), before);
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

    it('holds the services in the director namespace only, as ipvsadm -Ln reads them', async () => {
      const table = await lines();
      const vip = lab.addresses.vip;
      for (const [port, algo] of [
        [TUTORIAL_PORT, 'rr'],
        [WLC_PORT, 'wlc'],
        [DEFAULT_PORT, 'wlc'],
      ] as const) {
        assert.ok(table.includes(`TCP ${vip}:${port} ${algo}`), table.join('\n'));
        for (const r of lab.addresses.reals) {
          assert.ok(
            table.some((l) => l.startsWith(`-> ${r}:${port} Route 1 `)),
            table.join('\n'),
          );
        }
      }
      // The VM's own namespace (where ipvsadmTable runs) has none of it: IPVS is per namespace.
      assert.deepEqual(
        (await ipvsadmTable()).filter((l) => l.includes(vip)),
        [],
      );
    });

    it("the tutorial's service alternates rr between both reals", async () => {
      await alternates(TUTORIAL_PORT);
    });

    it('failed reals leave, stay at weight 0 with inhibit_on_failure, the sorry server takes over, all return', async () => {
      underLbctl = await failureSequence();
    });
  });

  describe('connection sync between kernel IPVS and lbctl XDP (IPVS sync protocol v1)', () => {
    const metric = async (director: string, pattern: RegExp): Promise<number> => {
      const { stdout } = await lab.exec(director, 'curl', ['-s', 'http://127.0.0.1:9477/metrics']);
      return Number(pattern.exec(stdout)?.[1] ?? 0);
    };

    it('kernel -> lbctl: an IPVS connection synced by the kernel carries on through the XDP director', async (t) => {
      const daemons = await ipvsadmIn('-L', '--daemon');
      assert.match(daemons, new RegExp(`master sync daemon.*syncid=${VRID}`), daemons);
      const stored = () =>
        metric('director2', /^lbctl_sync_stored_connections_total\{result="filled"\} (\d+)/m);
      const storedBefore = await stored();
      const session = await keepAliveSession(lab, t, 10_000 * SCALE);
      assert.match(session.first.answer ?? '', /^rs[12]$/, JSON.stringify(session.first));
      // The kernel syncs a connection at its third packet (sync_threshold 3): SYN, ACK, the
      // line; it sends its buffer up to 2 s later, and a stopped sync daemon drops what it
      // has not sent (as for keepalived), so the stop waits until director2 has it.
      await waitFor(
        'director2 to store the connection the kernel sent',
        async () => ((await stored()) > storedBefore ? true : undefined),
        { timeoutMs: 10_000 * SCALE, intervalMs: 500 },
      );
      // director1's lbctl stops gracefully: priority 0 and the VIP released first, its IPVS
      // services removed after (docs/operations.md), so nothing of director1's resets the
      // connection; only director2, which learnt it from the kernel, can carry it on.
      await lab.stop('director1', 'SIGTERM');
      await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
        timeoutMs: 20_000 * SCALE,
        intervalMs: 200,
      });
      assert.match(lab.directorLog('director1'), /lbctl stopped/, 'a graceful stop, not a kill');
      assert.equal(await lab.holdsVip('director1'), false, 'director1 released the VIP');
      assert.deepEqual(
        (await lines()).filter((l) => l.startsWith('TCP') || l.startsWith('FWM')),
        [],
        'director1 removed its IPVS services',
      );
      const second = await session.again();
      assert.deepEqual(
        second,
        { answer: session.first.answer },
        `director1:\n${lab.directorLog('director1').slice(-3000)}\ndirector2:\n${lab.directorLog('director2').slice(-3000)}`,
      );
    });

    it('lbctl -> kernel: a connection through the XDP director appears in ipvsadm -Lnc', async (t) => {
      // director1's lbctl is gone (it stopped its sync daemon). Run the kernel's backup daemon there.
      await ipvsadmIn('--stop-daemon', 'master').catch(() => undefined);
      await ipvsadmIn(
        ...['--start-daemon', 'backup', '--mcast-interface', 'eth0', '--syncid', String(VRID)],
      );
      const session = await keepAliveSession(lab, t, 10_000 * SCALE);
      const answer = session.first.answer ?? '';
      assert.match(answer, /^rs[12]$/, JSON.stringify(session.first));
      const real = lab.addresses.reals[Number(answer.slice(2)) - 1];
      const line = await waitFor(
        'the connection in director1 ipvsadm -Lnc',
        async () => {
          const row = lineConnection(await ipvsadmIn('-Lnc'), session.clientPort);
          return row?.[2] === 'ESTABLISHED' ? row : undefined;
        },
        { timeoutMs: 10_000 * SCALE, intervalMs: 500 },
      );
      assert.equal(line[5], `${real}:${LINE_PORT}`, line.join(' '));
    });
  });

  describe('keepalived 2.2.7 side by side, in the same namespace', () => {
    it("builds the same IPVS table from director1's virtual servers and goes through the same steps", async () => {
      assert.equal(underLbctl.length, 4, 'the lbctl run came first');
      // director2 leaves (releasing the VIP), the kernel's backup daemon stops, director1
      // holds the VIP by itself, and keepalived runs its checkers there (-C).
      await lab.stop('director2');
      await ipvsadmIn('--stop-daemon', 'backup');
      // keepalived starts from an empty table (the lbctl run removed its services at stop).
      await ipvsadmIn('-C');
      const vip = lab.addresses.vip;
      await lab.exec('director1', 'ip', ['addr', 'replace', `${vip}/32`, 'dev', 'eth0']);
      // The client last learnt the VIP at director2's MAC (its VRRP GARP): learn it again.
      await lab.exec('client', 'ip', ['neigh', 'flush', 'dev', 'eth0']);
      const conf = join(scratch, 'keepalived.conf');
      const pid = join(scratch, 'keepalived.pid');
      const checkersPid = join(scratch, 'checkers.pid');
      writeFileSync(conf, `${director1Services(lab.addresses)}\n`);
      await lab.exec('director1', 'keepalived', ['-C', '-f', conf, '-p', pid, '-c', checkersPid]);
      try {
        let seen = '';
        await waitFor(
          () => `keepalived's table to equal lbctl's:\n${underLbctl[0]}\n--- keepalived:\n${seen}`,
          async () => {
            seen = await tableShape();
            return seen === underLbctl[0];
          },
          { timeoutMs: 60_000, intervalMs: 500 },
        );
        await alternates(TUTORIAL_PORT);
        await alternates(FWMARK_PORT);
        const underKeepalived = await failureSequence();
        for (const [i, step] of ['steady', 'rs1 down', 'all down', 'returned'].entries())
          assert.equal(underKeepalived[i], underLbctl[i], `ipvsadm -Ln, ${step}`);
      } finally {
        await lab.exec('director1', 'sh', ['-c', `kill $(cat ${pid}) 2>/dev/null; true`]);
      }
    });
  });

  describe('a graceful stop on kernel IPVS hands its connection table over (both directors on IPVS)', () => {
    it('a connection opened right before director1 stops is in director2 IPVS and carries on there', async (t) => {
      const vip = lab.addresses.vip;
      const ipvsadmOn = async (director: string, ...args: string[]) =>
        (await lab.exec(director, 'ipvsadm', args)).stdout;
      // Whatever ran before (lbctl, keepalived, hand-started daemons) goes; both restart on IPVS.
      await lab.stop('director1');
      await lab.stop('director2');
      // keepalived removes its services (the same keys lbctl adds) as it exits, then its pid file.
      await waitFor('keepalived to exit', () => !existsSync(join(scratch, 'keepalived.pid')), {
        timeoutMs: 30_000,
        intervalMs: 200,
      }).catch(() => undefined);
      for (const args of [['--stop-daemon', 'master'], ['--stop-daemon', 'backup'], ['-C']])
        await ipvsadmOn('director1', ...args).catch(() => undefined);
      await lab
        .exec('director1', 'ip', ['addr', 'del', `${vip}/32`, 'dev', 'eth0'])
        .catch(() => undefined);
      const config2 = lab.configPath('director2');
      writeFileSync(
        config2,
        readFileSync(config2, 'utf8').replace('lbctl_data_plane xdp', 'lbctl_data_plane ipvs'),
      );
      await lab.start('director1');
      await waitFor('director1 to take the VIP', () => lab.holdsVip('director1'), {
        timeoutMs: 20_000 * SCALE,
        intervalMs: 200,
      });
      await lab.start('director2');
      const daemons = (director: string) => ipvsadmOn(director, '-L', '--daemon');
      await waitFor(
        'director1 master and director2 backup sync daemons',
        async () =>
          /master sync daemon/.test(await daemons('director1')) &&
          /backup sync daemon/.test(await daemons('director2')),
        { timeoutMs: 20_000 * SCALE, intervalMs: 500 },
      );

      // SYN, ACK, the line: the kernel syncs the connection at its third packet and holds it
      // up to 3 s in its buffer; director1 stops at once, well before that.
      const session = await keepAliveSession(lab, t, 10_000 * SCALE);
      const answer = session.first.answer ?? '';
      assert.match(answer, /^rs[12]$/, JSON.stringify(session.first));
      const stopStarted = Date.now();
      await lab.stop('director1', 'SIGTERM');
      const stopMs = Date.now() - stopStarted;
      await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
        timeoutMs: 20_000 * SCALE,
        intervalMs: 200,
      });
      const log1 = lab.directorLog('director1');
      const handoff = log1.split('\n').find((l) => l.includes('IPVS connections to the backups'));
      t.diagnostic(`director1 stop: ${stopMs} ms; ${handoff ?? 'no hand-off line'}`);

      const real = lab.addresses.reals[Number(answer.slice(2)) - 1];
      let table = '';
      const row = await waitFor(
        () =>
          `the connection in director2 ipvsadm -Lnc:\n${table}\ndirector1:\n${log1.slice(-3000)}`,
        async () => {
          table = await ipvsadmOn('director2', '-Lnc');
          return lineConnection(table, session.clientPort);
        },
        { timeoutMs: 5_000, intervalMs: 250 },
      );
      assert.equal(row[2], 'ESTABLISHED', row.join(' '));
      assert.equal(row[5], `${real}:${LINE_PORT}`, row.join(' '));
      const second = await session.again();
      assert.deepEqual(
        second,
        { answer },
        `director2:\n${lab.directorLog('director2').slice(-3000)}`,
      );
      await lab.stop('director2');
    });
  });
});
