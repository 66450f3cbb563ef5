import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requestStatus } from '../../src/cli/commands/status-request.js';
import { ControlServer } from '../../src/control/server.js';
import { controlSocketPath } from '../../src/control/socket-path.js';
import { sendStatus } from '../../src/daemon/status-answer.js';
import { silentLogger } from '../../src/log.js';
import type { ServiceStatus, StatusReport } from '../../src/status/status-report.js';

const stats = { connections: 1, inPackets: 2, outPackets: 0, inBytes: 3, outBytes: 0 };

/** `services` services of `reals` reals each. */
function report(services: number, reals: number): StatusReport {
  return {
    instance: 'unit',
    connectionTableSize: 1024,
    timeouts: { tcp: 900, tcpFin: 120, udp: 300 },
    services: Array.from(
      { length: services },
      (_, s): ServiceStatus => ({
        protocol: 'tcp',
        vip: `10.1.${s >> 8}.${s & 0xff}`,
        port: 80,
        scheduler: 'wrr',
        stats,
        reals: Array.from({ length: reals }, (_, r) => ({
          address: `10.2.${s & 0xff}.${r + 1}`,
          port: 8080,
          forwarding: 'dr' as const,
          weight: r,
          activeConnections: 0,
          inactiveConnections: r,
          stats,
        })),
      }),
    ),
    vrrp: [],
    liveConnections: 7,
  };
}

describe('status answer in pieces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-status-answer-'));
  let current = report(0, 0);
  let moreLines = 0;
  const server = new ControlServer({
    path: controlSocketPath('unit', dir),
    logger: silentLogger(),
    handlers: {
      status: async (_request, reply) =>
        sendStatus(current, {
          more: (line) => {
            moreLines++;
            return reply.more(line);
          },
        }),
    },
  });
  before(() => server.start());
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [services, reals, lines] of [
    [0, 0, 0],
    [3, 4, 0],
    [120, 32, 3],
    [1, 2500, 1],
  ] as const) {
    it(`${services} services × ${reals} reals: ${lines} pieces, reassembled in order`, async () => {
      current = report(services, reals);
      moreLines = 0;
      assert.deepEqual(await requestStatus({ runDir: dir, instance: 'unit' }), current);
      assert.equal(moreLines, lines);
    });
  }
});
