/**
 * Two lbctl directors (VRRP, XDP DR, rr) and a client holding a keep-alive
 * TCP connection through the master. The master's lbctl is killed with
 * SIGKILL; the backup takes the VIP. With connection sync the backup learnt
 * the flow and the connection carries on to the same real; without it the
 * backup has never seen the flow and its kernel resets it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { labForSuite } from '../support/lab-hooks.js';
import { SLOWDOWN } from '../support/slowdown.js';
import { waitFor } from '../support/wait.js';

const PORT = 9000;

/** Answers every line with the host's name, on one connection for as long as the client likes. */
const LINE_SERVER = `
const net = require('node:net');
const [name, port] = process.argv.slice(1);
net.createServer((s) => {
  s.setEncoding('utf8');
  s.on('data', () => s.write(name + '\\n'));
  s.on('error', () => {});
}).listen(Number(port), '0.0.0.0', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Connects, asks once, then asks again on the same connection for each line
 * on stdin; prints one JSON line per answer or error.
 */
const KEEPALIVE_CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host);
s.setEncoding('utf8');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let timer;
s.on('connect', () => s.write('1\\n'));
s.on('data', (d) => { clearTimeout(timer); say({ answer: d.trim() }); });
s.on('error', (e) => { say({ error: e.code || e.message }); process.exit(0); });
s.on('close', () => { say({ error: 'closed' }); process.exit(0); });
process.stdin.on('data', () => {
  s.write('2\\n');
  timer = setTimeout(() => { say({ error: 'no answer' }); process.exit(0); }, 5000);
});
`;

function service(a: LabAddresses): string {
  const reals = a.reals.map((r) => `    real_server ${r} ${PORT} {\n        weight 1\n    }`);
  return `virtual_server ${a.vip} ${PORT} {\n    lvs_sched rr\n    lvs_method DR\n    protocol TCP\n${reals.join('\n')}\n}`;
}

/** A node program in a lab host's namespace, stopped when the test ends. */
function spawnIn(lab: Lab, host: string, program: string, args: string[]): ChildProcess {
  return spawn(
    'nsenter',
    [`--net=/var/run/netns/${lab.namespace(host)}`, process.execPath, '-e', program, ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
}

function lines(child: ChildProcess): { next(timeoutMs: number): Promise<string> } {
  const queue: string[] = [];
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      queue.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  });
  return {
    next: (timeoutMs) =>
      waitFor('a line from the lab program', () => queue.shift(), { timeoutMs, intervalMs: 20 }),
  };
}

function pairSuite(sync: boolean): void {
  const scratch = mkdtempSync(join(tmpdir(), 'lbctl-sync-'));
  const lab = new Lab({
    // Interface names hold 15 bytes: 5 for the prefix, then '-director1'.
    prefix: uniqueName('s').slice(0, 5),
    subnet: '10.79.0',
    reals: 2,
    directors: 2,
    vrrp: true,
    connectionSync: sync,
    virtualServers: service,
    stateDir: join(scratch, 'lab'),
    timeScale: SLOWDOWN,
  });
  labForSuite(lab, scratch);

  it(`a keep-alive connection ${sync ? 'survives' : 'is reset by'} kill -9 of the master`, async (t) => {
    const children: ChildProcess[] = [];
    t.after(() => {
      for (const c of children) c.kill('SIGKILL');
    });
    for (const rs of ['rs1', 'rs2']) {
      const server = spawnIn(lab, rs, LINE_SERVER, [rs, String(PORT)]);
      children.push(server);
      await lines(server).next(10_000 * SLOWDOWN);
    }
    const client = spawnIn(lab, 'client', KEEPALIVE_CLIENT, [lab.addresses.vip, String(PORT)]);
    children.push(client);
    const out = lines(client);
    const first = JSON.parse(await out.next(10_000 * SLOWDOWN)) as { answer?: string };
    assert.match(first.answer ?? '', /^rs[12]$/, JSON.stringify(first));

    // The master sends every 100 ms; give the backup time to store the flow.
    await new Promise((resolve) => setTimeout(resolve, 1500 * SLOWDOWN));
    await lab.stop('director1', 'SIGKILL');
    await waitFor('director2 to take the VIP', () => lab.holdsVip('director2'), {
      timeoutMs: 15_000 * SLOWDOWN,
      intervalMs: 100,
    });
    client.stdin?.write('go\n');
    const second = JSON.parse(await out.next(10_000 * SLOWDOWN)) as {
      answer?: string;
      error?: string;
    };
    if (sync) {
      assert.deepEqual(second, { answer: first.answer }, lab.directorLog('director2'));
      // director2 stored the flow while backup and now sends as master.
      const { stdout } = await lab.exec('director2', 'curl', [
        '-s',
        'http://127.0.0.1:9477/metrics',
      ]);
      assert.match(
        stdout,
        /^lbctl_sync_stored_connections_total\{result="filled"\} [1-9]/m,
        stdout,
      );
      assert.match(stdout, /^lbctl_sync_role\{role="master"\} 1$/m);
    } else {
      assert.equal(second.answer, undefined, JSON.stringify(second));
      assert.match(second.error ?? '', /ECONNRESET|closed/, JSON.stringify(second));
    }
  });
}

describe('failover of a keep-alive connection between two lbctl directors', () => {
  describe('with connection sync (lvs_sync_daemon)', () => pairSuite(true));
  describe('without connection sync', () => pairSuite(false));
});
