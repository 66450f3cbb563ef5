/**
 * Small programs the lab runs on its hosts. They are passed inline to the
 * interpreter, so the lab needs no files beside lbctl itself.
 */

/** HTTP servers answering every request with their name (argv: name port[,port...]). */
export const NAME_SERVER = `
const http = require('node:http');
const [name, ports] = process.argv.slice(1);
const list = ports.split(',').map(Number);
let listening = 0;
for (const port of list) {
  const server = http.createServer((req, res) => {
    // One request per connection unless the client asks to keep it (long-lived flows).
    if (req.headers.connection !== 'keep-alive') res.setHeader('connection', 'close');
    res.end(name + '\\n');
  });
  server.keepAliveTimeout = 120000;
  server.listen(port, '0.0.0.0', () => {
    if (++listening === list.length) console.log('listening');
  });
}
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Turns off transmit checksum offload on an interface (ethtool -K IF tx off,
 * through SIOCETHTOOL/ETHTOOL_STXCSUM). veth hands partial checksums to its
 * peer; a frame that XDP forwards back out loses that state and would be
 * dropped as corrupt, while real NICs always put complete checksums on the wire.
 */
export const TX_CHECKSUM_OFF = `
import array, fcntl, socket, struct, sys
ETHTOOL_STXCSUM = 0x17
SIOCETHTOOL = 0x8946
request = array.array('I', [ETHTOOL_STXCSUM, 0])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
ifreq = struct.pack('16sP', sys.argv[1].encode(), request.buffer_info()[0])
fcntl.ioctl(sock.fileno(), SIOCETHTOOL, ifreq)
`;

/**
 * Many short HTTP requests, each on a new connection, `parallel` at a time
 * (argv: vip port count parallel timeoutMs). Prints one JSON object: how many
 * answers came from each real, and how many failed.
 */
export const NEW_CONNECTIONS_CLIENT = `
const http = require('node:http');
const [vip, port, count, parallel, timeoutMs] = process.argv.slice(1).map((v, i) => (i === 0 ? v : Number(v)));
const answers = {};
let failed = 0;
let next = 0;
function one() {
  return new Promise((resolve) => {
    const req = http.get({ host: vip, port, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const real = body.trim();
        answers[real] = (answers[real] || 0) + 1;
        resolve();
      });
      res.on('error', () => { failed++; resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => { failed++; resolve(); });
  });
}
async function worker() {
  while (next < count) { next++; await one(); }
}
Promise.all(Array.from({ length: parallel }, worker)).then(() => {
  console.log(JSON.stringify({ answers, failed }));
});
`;

/**
 * Long-lived connections (argv: vip port count): opens \`count\` keep-alive HTTP
 * connections and asks each for the real's name; then again on every line read
 * from stdin. Each round prints one JSON array of { port (the client's source
 * port), real } or { port, error }; EOF on stdin ends it.
 */
export const KEEPALIVE_CLIENT = `
const net = require('node:net');
const [vip, port, count] = process.argv.slice(1);
const conns = [];
function ask(c) {
  return new Promise((resolve) => {
    if (c.destroyed) return resolve({ error: 'closed' });
    let buf = '';
    const done = (result) => {
      clearTimeout(timer);
      c.off('data', onData);
      c.off('close', onClose);
      resolve(result);
    };
    const timer = setTimeout(() => done({ error: 'timeout' }), 3000);
    const onData = (d) => {
      buf += d;
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, end));
      const len = m ? Number(m[1]) : 0;
      if (buf.length >= end + 4 + len) done({ real: buf.slice(end + 4, end + 4 + len).trim() });
    };
    const onClose = () => done({ error: 'closed' });
    c.on('data', onData);
    c.on('close', onClose);
    c.write('GET / HTTP/1.1\\r\\nHost: ' + vip + '\\r\\nConnection: keep-alive\\r\\n\\r\\n');
  });
}
async function round() {
  const results = await Promise.all(conns.map(async (c) => ({ port: c.ports, ...(await ask(c)) })));
  console.log(JSON.stringify(results));
}
(async () => {
  for (let i = 0; i < Number(count); i++) {
    const c = net.connect({ host: vip, port: Number(port) });
    c.setEncoding('utf8');
    c.on('error', () => c.destroy());
    await new Promise((resolve) => {
      c.once('connect', resolve);
      c.once('close', resolve);
      setTimeout(resolve, 3000);
    });
    c.ports = c.localPort;
    conns.push(c);
  }
  await round();
  let queue = Promise.resolve();
  process.stdin.on('data', () => { queue = queue.then(round); });
  process.stdin.on('end', () => queue.then(() => process.exit(0)));
})();
`;
