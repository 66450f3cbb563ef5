/**
 * Day-2 operations on a running pair of directors: `lbctl status`, runtime
 * weight changes and hitless reloads through the control socket, with a
 * client making new HTTP connections and holding one long-lived connection
 * through the DR VIP the whole time, and a backup director on the segment.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { runIn, spawnIn } from '../../src/netns/exec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { ANSWERED_WITHIN_S } from '../support/answered-within.js';
import { lbctlCommand } from '../support/cli.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);
const ECHO_PORT = 8080;
const scratch = mkdtempSync(join(tmpdir(), 'lbctl-reload-'));
// Random: two runs of the suite at once must not share namespaces.
const prefix = uniqueName('rl');

/** What the directors' configuration says; each reload edits it. */
const site = {
  weights: [1, 1, 1],
  reals: [0, 1],
  checker: 'TCP_CHECK',
  broken: false,
};

function checker(port: number): string {
  if (site.checker === 'HTTP_GET' && port === 80) {
    return `HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n            connect_timeout 1\n        }`;
  }
  return 'TCP_CHECK {\n            connect_timeout 1\n        }';
}

function virtualServers(a: LabAddresses): string {
  const block = (port: number) => `virtual_server ${a.vip} ${port} {
    delay_loop 1
    lvs_sched wrr
    lvs_method DR
    protocol TCP
${site.reals
  .map(
    (i) => `    real_server ${a.reals[i]} ${port} {
        weight ${site.weights[i]}
        ${checker(port)}
    }`,
  )
  .join('\n')}
}`;
  return `${block(80)}\n${block(ECHO_PORT)}${site.broken ? '\nvirtual_server {\n' : ''}`;
}

/** A line echo server answering with its host name: the long-lived connection's far end. */
const ECHO_SERVER = `
const net = require('node:net');
net.createServer((s) => s.on('data', (d) => s.write(process.argv[1] + ' ' + d))).listen(${ECHO_PORT}, '0.0.0.0', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Writes a line every 200 ms on one connection; prints who answered and, at the end, a JSON
 * summary. It ends when its stdin closes (the test's steps are done), at most after `seconds`,
 * giving the last line 500 ms to come back.
 */
const ECHO_CLIENT = `
const net = require('node:net');
const [vip, port, seconds] = process.argv.slice(1);
const s = net.connect(Number(port), vip);
let sent = 0, answered = 0, error = null; const by = new Set();
s.setEncoding('utf8');
s.on('data', (d) => { for (const line of d.split('\\n').filter(Boolean)) { answered++; if (!by.has(line.split(' ')[0])) { by.add(line.split(' ')[0]); console.log('serving ' + line.split(' ')[0]); } } });
s.on('error', (e) => { error = e.message; });
s.on('close', () => { if (!error) error = 'closed'; });
const t = setInterval(() => { if (!s.destroyed) { s.write('ping ' + sent + '\\n'); sent++; } }, 200);
let ending = false;
const end = () => { if (ending) return; ending = true; clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ sent, answered, by: [...by], error })); process.exit(0); }, 500); };
setTimeout(end, Number(seconds) * 1000);
process.stdin.on('end', end);
process.stdin.resume();
`;

/** Starts the echo client in the client namespace; `finish` closes its stdin and resolves with its summary. */
function echoClient(lab: Lab, vip: string, children: ChildProcess[]) {
  const echo = spawnIn(
    lab.namespace('client'),
    process.execPath,
    ['-e', ECHO_CLIENT, vip, String(ECHO_PORT), '60'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(echo);
  const exited = new Promise((resolve) => echo.once('exit', resolve));
  let out = '';
  echo.stdout?.on('data', (d) => {
    out += String(d);
  });
  return {
    output: () => out,
    async finish(): Promise<{
      sent: number;
      answered: number;
      by: string[];
      error: string | null;
    }> {
      echo.stdin?.end();
      await exited;
      return JSON.parse(out.trim().split('\n').at(-1)!);
    },
  };
}

describe('reload, status and runtime changes on a running director pair', () => {
  const lab = new Lab({
    prefix,
    subnet: '10.79.0',
    reals: 3,
    directors: 2,
    vrrp: true,
    httpPorts: [80],
    virtualServers,
    stateDir: join(scratch, 'lab'),
  });
  const director = 'director1';
  const children: ChildProcess[] = [];
  const lbctlOn = (on: string, ...args: string[]) =>
    run(process.execPath, [
      ...lbctlCommand(),
      ...args,
      '--run-dir',
      join(scratch, 'lab', prefix),
      '--instance',
      lab.instance(on),
    ]);
  const lbctl = (...args: string[]) => lbctlOn(director, ...args);
  const rewrite = () => {
    for (const d of ['director1', 'director2']) {
      const conf = lab.configPath(d);
      // The lab's own file with only the virtual servers replaced.
      const current = readFileSync(conf, 'utf8');
      writeFileSync(
        conf,
        current.slice(0, current.indexOf('virtual_server')) + virtualServers(lab.addresses),
      );
    }
  };

  before(async () => {
    await lab.up();
    for (const host of ['rs1', 'rs2', 'rs3']) {
      const echo = spawnIn(lab.namespace(host), process.execPath, ['-e', ECHO_SERVER, host], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(echo);
      await new Promise((resolve) => echo.stdout?.once('data', resolve));
    }
    // director1 (priority 150) holds the VIP once its master-down interval has passed.
    await waitFor(
      'the VIP to answer',
      async () => ((await lab.requests(1))[0] !== 'FAILED' ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
  });
  teardown(async () => {
    for (const c of children) c.kill('SIGTERM');
    try {
      await lab.down();
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('prints ipvsadm -Ln byte for byte, and the VRRP instances', async () => {
    const { stdout } = await lbctl('status');
    const a = lab.addresses;
    const expected = [
      'IP Virtual Server version 1.2.1 (size=1048576)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      `TCP  ${a.vip}:80 wrr`,
    ];
    assert.deepEqual(stdout.split('\n').slice(0, 4), expected);
    assert.match(stdout, new RegExp(`^  -> ${a.reals[0]}:80 +Route   1      \\d+ +\\d+ +$`, 'm'));
    assert.match(stdout, /^VRRP Instances$/m);
    assert.match(stdout, /^VI_1 +eth0 +77 +MASTER +150 /m);
    const json = JSON.parse((await lbctl('status', '--json')).stdout);
    assert.equal(json.services.length, 2);
    assert.equal(json.vrrp[0].state, 'MASTER');
    assert.equal(
      (await lbctl('status', '--timeout')).stdout,
      'Timeout (tcp tcpfin udp): 900 120 300\n',
    );
  });

  it('refuses a user other than root with a clear message', async () => {
    await assert.rejects(
      run('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        ...lbctlCommand(),
        'status',
        '--run-dir',
        join(scratch, 'lab', prefix),
        '--instance',
        lab.instance(director),
      ]),
      (err: { stderr: string; code: number }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /permission denied .*root only/);
        return true;
      },
    );
  });

  it('changes a weight, quiesces and restores a real at runtime', async () => {
    const a = lab.addresses;
    await lbctl('real', 'set-weight', '-t', `${a.vip}:80`, '-r', `${a.reals[0]}:80`, '-w', '3');
    let status = JSON.parse((await lbctl('status', '--json')).stdout);
    const real = (s: typeof status) =>
      s.services
        .find((x: { port: number }) => x.port === 80)
        .reals.find((r: { address: string }) => r.address === a.reals[0]);
    assert.equal(real(status).weight, 3);
    assert.deepEqual(real(status).override, { kind: 'weight', configuredWeight: 1 });
    const answers = await lab.requests(8, 80, ANSWERED_WITHIN_S);
    assert.equal(answers.filter((x) => x === 'rs1').length, 6, answers.join(','));
    await lbctl('real', 'quiesce', '-t', `${a.vip}:80`, '-r', `${a.reals[0]}:80`);
    assert.deepEqual(await lab.requests(4, 80, ANSWERED_WITHIN_S), ['rs2', 'rs2', 'rs2', 'rs2']);
    await lbctl('real', 'restore', '-t', `${a.vip}:80`, '-r', `${a.reals[0]}:80`);
    status = JSON.parse((await lbctl('status', '--json')).stdout);
    assert.equal(real(status).weight, 1);
    await assert.rejects(
      lbctl('real', 'set-weight', '-t', `${a.vip}:80`, '-r', `${a.reals[2]}:80`, '-w', '2'),
      /no such real server/,
    );
  });

  it('reloads weight, real and checker changes without a failed request, a dropped connection or a VIP move', async () => {
    const a = lab.addresses;
    const backupMac = JSON.parse(
      (await runIn(lab.namespace('director2'), 'ip', ['-j', 'link', 'show', 'eth0'])).stdout,
    )[0].address;
    const capture = spawnIn(
      lab.namespace('client'),
      'tcpdump',
      ['-i', 'eth0', '-n', '-l', '--immediate-mode', 'arp', 'and', 'ether', 'src', backupMac],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    children.push(capture);
    let arpFromBackup = '';
    capture.stdout?.on('data', (d) => {
      arpFromBackup += String(d);
    });
    const echo = echoClient(lab, a.vip, children);
    const held = await waitFor(
      'the long-lived connection',
      () => /serving (rs\d)/.exec(echo.output())?.[1],
      { timeoutMs: 5_000 },
    );
    // New connections one after another until the reloads are done (at most 150).
    const loopDone = join(scratch, 'requests-done');
    const loop = runIn(
      lab.namespace('client'),
      'sh',
      [
        '-c',
        `for i in $(seq 150); do [ -e ${loopDone} ] && break; curl -s --max-time 1 http://${a.vip}/ || echo FAILED; sleep 0.1; done`,
      ],
      { timeoutMs: 60_000 },
    );

    // 1. A weight.
    site.weights = [3, 1, 1];
    rewrite();
    await lbctl('reload');
    const weightOf = async (address: string) => {
      const s = JSON.parse((await lbctl('status', '--json')).stdout);
      return s.services
        .find((x: { port: number }) => x.port === 80)
        .reals.find((r: { address: string }) => r.address === address)?.weight;
    };
    assert.equal(await weightOf(a.reals[0]!), 3);
    assert.match(
      (await lbctl('status')).stdout,
      new RegExp(`^  -> ${a.reals[0]}:80 +Route   3 `, 'm'),
    );
    // 2. A real added.
    site.reals = [0, 1, 2];
    rewrite();
    await lbctl('reload');
    await waitFor(
      'the added real',
      async () => ((await weightOf(a.reals[2]!)) === 1 ? true : undefined),
      { timeoutMs: 5_000 },
    );
    // 3. A real removed: the one not holding the long-lived connection. Drained
    // first, as an operator would: a removed real's flows are reset (IPVS's
    // expire_nodest_conn, docs/data-plane.md), so a request the loop had in
    // flight to it at that moment would fail.
    const removed = held === 'rs1' ? 1 : 0;
    const weightBefore = site.weights[removed]!;
    site.weights[removed] = 0;
    rewrite();
    await lbctl('reload');
    assert.equal(await weightOf(a.reals[removed]!), 0);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past curl's --max-time 1
    site.reals = site.reals.filter((i) => i !== removed);
    site.weights[removed] = weightBefore;
    rewrite();
    await lbctl('reload');
    assert.equal(await weightOf(a.reals[removed]!), undefined);
    // 4. A checker.
    site.checker = 'HTTP_GET';
    rewrite();
    const reloaded = await lbctl('reload');
    assert.match(reloaded.stdout, /1 changed/);
    // 5. A syntax error: refused with its position, nothing changes.
    site.broken = true;
    rewrite();
    await assert.rejects(lbctl('reload'), (err: { stderr: string; code: number }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /reload refused/);
      assert.match(err.stderr, /director1\.conf:\d+:\d+/);
      return true;
    });
    assert.equal(await weightOf(a.reals[0]!), removed === 0 ? undefined : 3);

    writeFileSync(loopDone, '');
    const answers = (await loop).stdout.trim().split('\n');
    assert.equal(answers.filter((x) => x === 'FAILED').length, 0, answers.join(','));
    assert.ok(answers.length >= 10, `requests ran through the reloads (${answers.length})`);
    const summary = await echo.finish();
    assert.equal(summary.error, null, echo.output());
    assert.deepEqual(summary.by, [held]);
    assert.ok(summary.answered >= summary.sent - 1, echo.output());
    capture.kill('SIGTERM');
    assert.equal(arpFromBackup, '', 'the backup director sent ARP: the VIP moved');
    const vrrp = JSON.parse((await lbctl('status', '--json')).stdout).vrrp[0];
    assert.equal(vrrp.state, 'MASTER');
  });

  it('applies VRRP changes in place: priority, a VIP, an instance, with no spurious transition', async () => {
    const a = lab.addresses;
    site.broken = false;
    rewrite();
    const macOf = async (d: string) =>
      JSON.parse((await runIn(lab.namespace(d), 'ip', ['-j', 'link', 'show', 'eth0'])).stdout)[0]
        .address as string;
    const [masterMac, backupMac] = [await macOf('director1'), await macOf('director2')];
    // Everything VRRP and ARP on the segment, as the client sees it.
    const capture = spawnIn(
      lab.namespace('client'),
      'tcpdump',
      ['-i', 'eth0', '-n', '-e', '-t', '-l', '--immediate-mode', 'vrrp', 'or', 'arp'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(capture);
    let wire = '';
    capture.stdout?.on('data', (d) => {
      wire += String(d);
    });
    await waitFor('the capture to see adverts', () => /vrid 77, prio 150/.test(wire), {
      timeoutMs: 5_000,
    });
    const echo = echoClient(lab, a.vip, children);
    await waitFor('the long-lived connection', () => /serving rs\d/.test(echo.output()), {
      timeoutMs: 5_000,
    });
    const vrrpStatus = async (d: string) =>
      JSON.parse((await lbctlOn(d, 'status', '--json')).stdout).vrrp as {
        name: string;
        state: string;
        effectivePriority: number;
        lastTransition?: { at: string };
      }[];
    const vi1Before = (await vrrpStatus('director1')).find((i) => i.name === 'VI_1');
    const subnet = a.vip.slice(0, a.vip.lastIndexOf('.'));
    const extraVip = `${subnet}.150`;
    const vi2Vip = `${subnet}.151`;
    /** Each director's VRRP part; the virtual servers stay as they are. */
    const setVrrp = (vrrp: { priority1: number; extraVip: boolean; vi2: boolean }) => {
      for (const [i, d] of ['director1', 'director2'].entries()) {
        const conf = lab.configPath(d);
        const current = readFileSync(conf, 'utf8');
        const vips = [
          `${a.vip}/32 dev eth0`,
          ...(vrrp.extraVip ? [`${extraVip}/32 dev eth0`] : []),
        ];
        const block = (name: string, vrid: number, priority: number, addresses: string[]) =>
          `vrrp_instance ${name} {\n    state ${i === 0 ? 'MASTER' : 'BACKUP'}\n    interface eth0\n    virtual_router_id ${vrid}\n    priority ${priority}\n    advert_int 1\n    virtual_ipaddress {\n${addresses.map((v) => `        ${v}\n`).join('')}    }\n}\n`;
        const text =
          block('VI_1', 77, i === 0 ? vrrp.priority1 : 100, vips) +
          (vrrp.vi2 ? block('VI_2', 78, i === 0 ? 150 : 100, [`${vi2Vip}/32 dev eth0`]) : '');
        writeFileSync(
          conf,
          current.slice(0, current.indexOf('vrrp_instance')) +
            text +
            current.slice(current.indexOf('virtual_server')),
        );
      }
    };
    /** An ARP line from `mac` claiming `address` (gratuitous request or reply). */
    const claims = (line: string, mac: string, address: string) =>
      line.startsWith(mac) &&
      (line.includes(`tell ${address},`) || line.includes(`${address} is-at`));
    const announces = (mac: string, address: string) =>
      wire.split('\n').some((line) => claims(line, mac, address));
    const addressesOf = async (d: string) =>
      (await runIn(lab.namespace(d), 'ip', ['-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout;

    // 1. Priority 150 -> 140 on the master: advertised at once, no election.
    setVrrp({ priority1: 140, extraVip: false, vi2: false });
    assert.match((await lbctl('reload')).stdout, /VRRP: 1 instance changed \(VI_1\)/);
    await waitFor('an advert at the new priority', () => /vrid 77, prio 140/.test(wire), {
      timeoutMs: 3_000,
    });
    // 2. A VIP added on both directors (the backup checks the address list): the master adds it and announces it.
    setVrrp({ priority1: 140, extraVip: true, vi2: false });
    // Both at once: the backup drops adverts whose address list differs from its own.
    await Promise.all([lbctl('reload'), lbctlOn('director2', 'reload')]);
    const has = async (d: string, address: string) =>
      new RegExp(`inet ${address.replaceAll('.', '\\.')}/`).test(await addressesOf(d));
    // Address changes go out over netlink after the reload answered: waited for.
    await waitFor('the added VIP on the master', () => has('director1', extraVip), {
      timeoutMs: 3_000,
    });
    await waitFor(
      'a gratuitous ARP for the added VIP from the master',
      () => announces(masterMac, extraVip),
      { timeoutMs: 3_000 },
    );
    // 3. ... and removed again.
    setVrrp({ priority1: 140, extraVip: false, vi2: false });
    // Both at once: the backup drops adverts whose address list differs from its own.
    await Promise.all([lbctl('reload'), lbctlOn('director2', 'reload')]);
    await waitFor('the VIP removed', async () => !(await has('director1', extraVip)), {
      timeoutMs: 3_000,
    });
    assert.ok(await has('director1', a.vip), 'the first VIP stays');
    // 4. A new instance starts as at startup: director1 (150) becomes its master.
    setVrrp({ priority1: 140, extraVip: false, vi2: true });
    assert.match((await lbctl('reload')).stdout, /1 added \(VI_2\)/);
    await lbctlOn('director2', 'reload');
    await waitFor(
      'VI_2 to have its master',
      async () =>
        (await vrrpStatus('director1')).find((i) => i.name === 'VI_2')?.state === 'MASTER',
      { timeoutMs: 15_000 },
    );
    assert.equal((await vrrpStatus('director2')).find((i) => i.name === 'VI_2')?.state, 'BACKUP');
    // 5. ... removed, from the backup first: the master sends priority 0 and releases its VIP.
    setVrrp({ priority1: 140, extraVip: false, vi2: false });
    await lbctlOn('director2', 'reload');
    assert.match((await lbctl('reload')).stdout, /1 removed \(VI_2\)/);
    await waitFor('priority 0 for VRID 78', () => /vrid 78, prio 0/.test(wire), {
      timeoutMs: 3_000,
    });
    await waitFor("VI_2's VIP released", async () => !(await has('director1', vi2Vip)), {
      timeoutMs: 3_000,
    });

    const summary = await echo.finish();
    assert.equal(summary.error, null, echo.output());
    assert.ok(summary.answered >= summary.sent - 1, echo.output());
    capture.kill('SIGTERM');
    const lines = wire.split('\n');
    assert.deepEqual(
      lines.filter((l) => /vrid 77, prio 0/.test(l)),
      [],
      'VI_1 never gave up mastership',
    );
    assert.deepEqual(
      lines.filter(
        (l) =>
          (l.startsWith(backupMac) && /vrid 7[78]/.test(l)) ||
          [a.vip, extraVip, vi2Vip].some((v) => claims(l, backupMac, v)),
      ),
      [],
      'the backup never announced an address nor advertised',
    );
    const vi1After = (await vrrpStatus('director1')).find((i) => i.name === 'VI_1');
    assert.equal(vi1After?.state, 'MASTER');
    assert.equal(vi1After?.effectivePriority, 140);
    assert.deepEqual(vi1After?.lastTransition, vi1Before?.lastTransition, 'no VI_1 transition');
  });
});
