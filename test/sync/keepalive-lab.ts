/**
 * A keep-alive connection through a lab's directors: a line server on the
 * reals (one answer per line, no idle timeout), a client that asks on the
 * same connection whenever told, and the DR rr service between them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Lab } from '../../src/lab/lab.js';
import type { LabAddresses } from '../../src/lab/lab-spec.js';
import { uniqueName } from '../../src/netns/netns.js';
import { waitFor } from '../support/wait.js';

export const PORT = 9000;

/** Answers every line with the host's name, on one connection for as long as the client likes. */
export const LINE_SERVER = `
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
 * Connects, prints its local port, asks once, then asks again on the same
 * connection for each line on stdin; prints one JSON line per answer or error.
 */
export const KEEPALIVE_CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host);
s.setEncoding('utf8');
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let timer;
s.on('connect', () => { say({ port: s.localPort }); s.write('1\\n'); });
s.on('data', (d) => { clearTimeout(timer); say({ answer: d.trim() }); });
s.on('error', (e) => { say({ error: e.code || e.message }); process.exit(0); });
s.on('close', () => { say({ error: 'closed' }); process.exit(0); });
process.stdin.on('data', () => {
  s.write('2\\n');
  timer = setTimeout(() => { say({ error: 'no answer' }); process.exit(0); }, 5000);
});
`;

export function lineService(a: LabAddresses): string {
  const reals = a.reals.map((r) => `    real_server ${r} ${PORT} {\n        weight 1\n    }`);
  return `virtual_server ${a.vip} ${PORT} {\n    lvs_sched rr\n    lvs_method DR\n    protocol TCP\n${reals.join('\n')}\n}`;
}

/** A node program in a lab host's namespace, stopped when the test ends. */
export function spawnIn(lab: Lab, host: string, program: string, args: string[]): ChildProcess {
  return spawn(
    'nsenter',
    [`--net=/var/run/netns/${lab.namespace(host)}`, process.execPath, '-e', program, ...args],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
}

export function lines(child: ChildProcess): { next(timeoutMs: number): Promise<string> } {
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

export interface Answer {
  readonly answer?: string;
  readonly error?: string;
}

/**
 * Starts the line server on every real and a client connected through the
 * VIP; returns the first answer, the client's port, and a way to ask again
 * on that connection.
 * Every process is killed by `t.after`.
 */
export async function keepAliveSession(
  lab: Lab,
  t: { after(fn: () => void): void },
  timeoutMs: number,
): Promise<{ first: Answer; clientPort: number; again(): Promise<Answer> }> {
  await startLineServers(lab, t, timeoutMs);
  const client = spawnIn(lab, 'client', KEEPALIVE_CLIENT, [lab.addresses.vip, String(PORT)]);
  t.after(() => client.kill('SIGKILL'));
  const out = lines(client);
  const { port: clientPort } = JSON.parse(await out.next(timeoutMs)) as { port: number };
  const first = JSON.parse(await out.next(timeoutMs)) as Answer;
  return {
    first,
    clientPort,
    again: async () => {
      client.stdin?.write('go\n');
      return JSON.parse(await out.next(timeoutMs)) as Answer;
    },
  };
}

/**
 * Opens `count` connections, each asked once; prints {"ready":n}. On a line
 * on stdin asks again on each and prints {"kept":k,"lost":l} once every
 * connection answered, failed, or stayed silent for 5 s.
 */
const MANY_CLIENT = `
const net = require('node:net');
const [host, port, count] = process.argv.slice(1);
const socks = [];
let ready = 0;
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
function open(i) {
  const s = net.connect(Number(port), host);
  s.setEncoding('utf8');
  s.state = 'first';
  s.on('connect', () => s.write('1\\n'));
  s.on('data', () => {
    if (s.state === 'first') { s.state = 'open'; if (++ready === Number(count)) say({ ready }); else open(i + 1); }
    else if (s.state === 'asked') settle(s, 'kept');
  });
  s.on('error', () => settle(s, 'lost'));
  s.on('close', () => settle(s, 'lost'));
  socks.push(s);
}
let kept = 0, lost = 0;
function settle(s, how) {
  if (s.state !== 'asked') return;
  s.state = how;
  if (how === 'kept') kept++; else lost++;
  if (kept + lost === socks.length) { say({ kept, lost }); process.exit(0); }
}
process.stdin.on('data', () => {
  for (const s of socks) { s.state = 'asked'; s.write('2\\n'); }
  setTimeout(() => { for (const s of socks) settle(s, 'lost'); }, 5000);
});
open(0);
`;

/** `count` keep-alive connections through the VIP (line servers must run); asks them all again on demand. */
export async function manyKeepAliveConnections(
  lab: Lab,
  cleanup: { after(fn: () => void): void },
  count: number,
  timeoutMs: number,
): Promise<{ again(): Promise<{ kept: number; lost: number }> }> {
  const client = spawnIn(lab, 'client', MANY_CLIENT, [
    lab.addresses.vip,
    String(PORT),
    String(count),
  ]);
  cleanup.after(() => client.kill('SIGKILL'));
  const out = lines(client);
  await out.next(timeoutMs);
  return {
    again: async () => {
      client.stdin?.write('go\n');
      return JSON.parse(await out.next(timeoutMs)) as { kept: number; lost: number };
    },
  };
}

/** Starts the line server on every real of the lab. */
export async function startLineServers(
  lab: Lab,
  cleanup: { after(fn: () => void): void },
  timeoutMs: number,
): Promise<void> {
  for (let i = 1; i <= lab.addresses.reals.length; i++) {
    const server = spawnIn(lab, `rs${i}`, LINE_SERVER, [`rs${i}`, String(PORT)]);
    cleanup.after(() => server.kill('SIGKILL'));
    await lines(server).next(timeoutMs);
  }
}

/**
 * Two lbctl directors (VRRP, XDP DR, rr over two reals) serving the line
 * service, with or without connection sync, named uniquely.
 */
export function syncPairLab(options: {
  sync: boolean;
  subnet: string;
  stateDir: string;
  timeScale?: number;
}): Lab {
  return new Lab({
    prefix: uniqueName('sy'),
    subnet: options.subnet,
    reals: 2,
    directors: 2,
    vrrp: true,
    connectionSync: options.sync,
    virtualServers: lineService,
    stateDir: options.stateDir,
    ...(options.timeScale !== undefined ? { timeScale: options.timeScale } : {}),
  });
}
