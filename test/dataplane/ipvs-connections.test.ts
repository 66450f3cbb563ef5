import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  type IpvsConnection,
  listIpvsConnections,
  parseIpvsConnectionLine,
} from '../../src/dataplane/ipvs/ipvs-connections.js';
import { hasCode } from '../../src/errors.js';

// As the kernel prints /proc/net/ip_vs_conn (ip_vs_conn_seq_show).
const HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData';
const V4 = 'TCP 0A4F0002 A3F2 0A4F0064 0050 0A4F000B 0050 FIN_WAIT         97';
const V6 =
  'UDP 2001:0db8:0000:0000:0000:0000:0000:0002 0035 2001:0db8:0000:0000:0000:0000:0000:0100 0035 2001:0db8:0000:0000:0000:0000:0000:0011 1435 UDP             299';

const dir = mkdtempSync(join(tmpdir(), 'lbctl-ipvs-conn-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let tables = 0;

/** A file in /proc/net/ip_vs_conn's place holding `text`. */
function table(text: string): string {
  const path = join(dir, `ip_vs_conn-${++tables}`);
  writeFileSync(path, text);
  return path;
}

describe('kernel IPVS connections from /proc/net/ip_vs_conn (ipvsadm -Lnc)', () => {
  it('reads IPv4 and IPv6 rows in ipvsadm -Lnc numeric form', () => {
    assert.deepEqual(parseIpvsConnectionLine(V4), {
      protocol: 'tcp',
      expiresS: 97,
      state: 'FIN_WAIT',
      source: '10.79.0.2:41970',
      virtual: '10.79.0.100:80',
      destination: '10.79.0.11:80',
    });
    assert.deepEqual(parseIpvsConnectionLine(V6), {
      protocol: 'udp',
      expiresS: 299,
      state: 'UDP',
      source: '[2001:db8::2]:53',
      virtual: '[2001:db8::100]:53',
      destination: '[2001:db8::11]:5173',
    });
  });

  it('skips the header, protocols lbctl does not speak and lines it cannot read', () => {
    for (const line of [
      HEADER,
      '',
      'ESP 0A4F0002 0000 0A4F0064 0000 0A4F000B 0000 NONE 10',
      'TCP 0A4F00ZZ A3F2 0A4F0064 0050 0A4F000B 0050 ESTABLISHED 10',
      'TCP 0A4F0002 A3F2 0A4F0064 0050 0A4F000B 0050 ESTABLISHED -4',
      'TCP 0A4F0002 A3F2',
    ]) {
      assert.equal(parseIpvsConnectionLine(line), undefined, line);
    }
  });

  it('streams a large table in chunks and stops at the limit', async () => {
    const path = table(`${HEADER}\n${`${V4}\n`.repeat(1200)}${V6}\n`);
    const chunks: IpvsConnection[][] = [];
    const all = await listIpvsConnections({ path, onChunk: (c) => void chunks.push(c) });
    assert.equal(all, 1201);
    // At most 512 a call; fewer when a slice of the event loop ends first.
    assert.ok(chunks.every((c) => c.length > 0 && c.length <= 512));
    assert.equal(chunks.flat().length, 1201);
    assert.equal(chunks.at(-1)?.at(-1)?.protocol, 'udp');
    let seen = 0;
    const limited = await listIpvsConnections({
      path,
      limit: 10,
      onChunk: (c) => {
        seen += c.length;
      },
    });
    assert.equal(limited, 10);
    assert.equal(seen, 10);
  });

  it('reads rows across reads, the last one without a newline, and drops an overlong line', async () => {
    // 3,000 rows (about 190 KiB) cross several 64 KiB reads; a 200 KiB line crosses some too.
    const rows = Array.from({ length: 3000 }, (_, i) =>
      V4.replace('A3F2', (0x1000 + i).toString(16).toUpperCase()),
    );
    const overlong = `TCP ${'0'.repeat(200 * 1024)}`;
    const path = table(
      [HEADER, ...rows.slice(0, 1500), overlong, ...rows.slice(1500), V6].join('\n'),
    );
    const seen: IpvsConnection[] = [];
    const all = await listIpvsConnections({ path, onChunk: (c) => void seen.push(...c) });
    assert.equal(all, 3001);
    assert.deepEqual(
      seen.slice(0, 3000).map((c) => c.source),
      rows.map((_, i) => `10.79.0.2:${0x1000 + i}`),
    );
    assert.equal(seen.at(-1)?.protocol, 'udp');
  });

  it('skips blank lines and reads CRLF line ends, the last line without one', async () => {
    const path = table(`${HEADER}\r\n\n${V4}\r\n\n\n${V4}\n \n${V6}`);
    const seen: IpvsConnection[] = [];
    assert.equal(await listIpvsConnections({ path, onChunk: (c) => void seen.push(...c) }), 3);
    assert.deepEqual(
      seen.map((c) => c.protocol),
      ['tcp', 'tcp', 'udp'],
    );
  });

  it('stops at the end of a chunk once told to', async () => {
    const path = table(`${HEADER}\n${`${V4}\n`.repeat(5000)}`);
    let seen = 0;
    const listed = await listIpvsConnections({
      path,
      onChunk: (c) => {
        seen += c.length;
      },
      until: () => seen > 0,
    });
    assert.ok(listed > 0 && listed <= 512, `${listed}`);
    assert.equal(seen, listed);
  });

  it('a table it cannot open is an IPVS_UNAVAILABLE error naming the file', async () => {
    const path = join(dir, 'no-such-table');
    await assert.rejects(
      listIpvsConnections({ path, onChunk: () => assert.fail('no rows expected') }),
      (err: unknown) =>
        hasCode(err, 'IPVS_UNAVAILABLE') &&
        err instanceof Error &&
        err.message ===
          `Cannot read IPVS's connection table ${path}: it does not exist (no ip_vs module loaded?)`,
    );
  });
});
