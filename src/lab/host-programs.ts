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
