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
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { runIn, spawnIn } from '../../src/netns/exec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { lbctlCommand } from '../support/cli.js';
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

/** Writes a line every 200 ms on one connection; prints who answered and, at the end, a JSON summary. */
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
setTimeout(() => { clearInterval(t); setTimeout(() => { console.log(JSON.stringify({ sent, answered, by: [...by], error })); process.exit(0); }, 500); }, Number(seconds) * 1000);
`;

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
  const lbctl = (...args: string[]) =>
    run(process.execPath, [
      ...lbctlCommand(),
      ...args,
      '--run-dir',
      join(scratch, 'lab', prefix),
      '--instance',
      lab.instance(director),
    ]);
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
  after(async () => {
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
      'IP Virtual Server version 1.2.1 (size=262144)',
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
    const answers = await lab.requests(8);
    assert.equal(answers.filter((x) => x === 'rs1').length, 6, answers.join(','));
    await lbctl('real', 'quiesce', '-t', `${a.vip}:80`, '-r', `${a.reals[0]}:80`);
    assert.deepEqual(await lab.requests(4), ['rs2', 'rs2', 'rs2', 'rs2']);
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
    const echo = spawnIn(
      lab.namespace('client'),
      process.execPath,
      ['-e', ECHO_CLIENT, a.vip, String(ECHO_PORT), '25'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(echo);
    const echoExited = new Promise((resolve) => echo.once('exit', resolve));
    let echoOut = '';
    echo.stdout?.on('data', (d) => {
      echoOut += String(d);
    });
    const held = await waitFor(
      'the long-lived connection',
      () => /serving (rs\d)/.exec(echoOut)?.[1],
      { timeoutMs: 5_000 },
    );
    const loop = runIn(
      lab.namespace('client'),
      'sh',
      [
        '-c',
        `for i in $(seq 150); do curl -s --max-time 1 http://${a.vip}/ || echo FAILED; sleep 0.1; done`,
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
    // 3. A real removed: the one not holding the long-lived connection.
    const removed = held === 'rs1' ? 1 : 0;
    site.reals = site.reals.filter((i) => i !== removed);
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

    const answers = (await loop).stdout.trim().split('\n');
    assert.equal(answers.filter((x) => x === 'FAILED').length, 0, answers.join(','));
    await echoExited;
    const summary = JSON.parse(echoOut.trim().split('\n').at(-1)!);
    assert.equal(summary.error, null, echoOut);
    assert.deepEqual(summary.by, [held]);
    assert.ok(summary.answered >= summary.sent - 1, echoOut);
    capture.kill('SIGTERM');
    assert.equal(arpFromBackup, '', 'the backup director sent ARP: the VIP moved');
    const vrrp = JSON.parse((await lbctl('status', '--json')).stdout).vrrp[0];
    assert.equal(vrrp.state, 'MASTER');
  });
});
