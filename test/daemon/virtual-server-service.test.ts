import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BpfObject, bpfObjectPath } from '../../src/bpf/index.js';
import { parseConfigText } from '../../src/config/load.js';
import type { DataPlaneFactory, DataPlaneRequest } from '../../src/daemon/data-plane-factory.js';
import { VirtualServerService } from '../../src/daemon/virtual-server-service.js';
import { IPVS_CAPABILITIES } from '../../src/dataplane/ipvs/capabilities.js';
import { MemoryDataPlane } from '../../src/dataplane/testing/memory-data-plane.js';
import { explainLoadFailure } from '../../src/dataplane/xdp/verifier-error.js';
import { LbctlError } from '../../src/errors.js';
import { FakeClock } from '../../src/time/fake-clock.js';
import { directorHost } from './support/director-host.js';

async function run(
  yaml: string,
  host = directorHost(),
  options: { noIpvs?: boolean; runDir?: string; xdpRefused?: boolean } = {},
) {
  const config = parseConfigText(yaml, 'c.yaml').config;
  const requests: DataPlaneRequest[] = [];
  const plane = new MemoryDataPlane();
  const ipvs = new MemoryDataPlane(IPVS_CAPABILITIES);
  const dataPlanes: DataPlaneFactory = async (request) => {
    requests.push(request);
    if (request.kind === 'xdp' && options.xdpRefused) throw await verifierRefusal();
    if (request.kind === 'xdp') return plane;
    if (options.noIpvs) throw new LbctlError('IPVS_UNAVAILABLE', 'The running kernel has no IPVS');
    return ipvs;
  };
  const lines: string[] = [];
  const logger = Object.assign(
    pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
    { lines },
  );
  const service = new VirtualServerService({
    config,
    logger,
    clock: new FakeClock(),
    openHost: async () => host,
    dataPlanes,
    ...(options.runDir !== undefined ? { runDir: options.runDir } : {}),
  });
  await service.start();
  return { service, plane, ipvs, host, requests, logger };
}

/**
 * What XdpDataPlane.open throws when the kernel's verifier refuses lb_xdp:
 * a real refusal (a program reading the packet unchecked), explained the way
 * the skeleton explains it.
 */
async function verifierRefusal(): Promise<unknown> {
  const object = BpfObject.open(bpfObjectPath('unchecked_read'));
  try {
    await object.load();
  } catch (err) {
    return explainLoadFailure(err, 'the XDP data plane');
  } finally {
    object.close();
  }
  throw new Error('the verifier accepted unchecked_read');
}

const DR = `virtualServers:
  - address: 10.0.0.100
    port: 80
    scheduler: rr
    lbKind: DR
    realServers:
      - address: 10.0.0.11
      - address: 10.0.0.12
        weight: 3
`;

describe('VirtualServerService on an in-memory host and data plane', () => {
  it('applies the configuration with next hops from the host, and destroys the plane at stop', async () => {
    const { service, plane, host, requests } = await run(DR);
    assert.deepEqual(plane.services(), [
      {
        service: { vip: '10.0.0.100', port: 80, protocol: 'tcp', scheduler: 'rr' },
        reals: [
          {
            address: '10.0.0.11',
            port: 80,
            weight: 1,
            forwarding: 'dr',
            via: { interface: 'eth0', mac: '02:00:00:00:00:11' },
          },
          {
            address: '10.0.0.12',
            port: 80,
            weight: 3,
            forwarding: 'dr',
            via: { interface: 'eth0', mac: '02:00:00:00:00:12' },
          },
        ],
      },
    ]);
    // The VIP is on no interface: the route to it picks eth0.
    assert.deepEqual(requests[0]?.interfaces, ['eth0']);
    assert.equal(requests[0]?.kind, 'xdp');
    assert.equal(requests[0]?.tunnel, undefined);
    await service.close();
    assert.equal(plane.lifecycle, 'destroyed');
    assert.equal(host.closed, true);
  });

  it('reports its data plane as starting until start has opened it and applied the services', async () => {
    const config = parseConfigText(DR, 'c.yaml').config;
    const plane = new MemoryDataPlane();
    const seen: { starting: boolean; healthy: boolean; services: number }[] = [];
    const service = new VirtualServerService({
      config,
      logger: pino({ level: 'silent' }),
      clock: new FakeClock(),
      openHost: async () => directorHost(),
      dataPlanes: async () => plane,
    });
    service.onDataPlaneHealth((h) =>
      seen.push({
        starting: h.starting === true,
        healthy: h.healthy,
        services: plane.services().length,
      }),
    );
    assert.deepEqual(seen, [{ starting: true, healthy: false, services: 0 }]);
    await service.start();
    // No XDP to supervise (an in-memory plane, as kernel IPVS): healthy once started.
    assert.deepEqual(seen.at(-1), { starting: false, healthy: true, services: 1 });
    assert.equal(seen.length, 2);
    await service.close();

    // A start that fails never reports the data plane ready.
    const failing = new VirtualServerService({
      config,
      logger: pino({ level: 'silent' }),
      clock: new FakeClock(),
      openHost: async () => directorHost(),
      dataPlanes: async () => {
        throw new Error('cannot load');
      },
    });
    const heard: boolean[] = [];
    failing.onDataPlaneHealth((h) => heard.push(h.starting === true));
    await assert.rejects(failing.start(), /cannot load/);
    assert.deepEqual(heard, [true]);
  });

  it('opens the XDP data plane with the configured connection-table size', async () => {
    const { service, requests } = await run(`global:\n  connectionTableSize: 65536\n${DR}`);
    assert.equal(requests[0]?.connections, 65536);
    await service.close();
  });

  it('reads addresses once at start and never during writes', async () => {
    const { service, host } = await run(DR);
    assert.equal(host.asked.filter((q) => q === 'addresses').length, 1);
    await service.close();
  });

  it('attaches NAT services to the reals side too, and TUN gets its source from an attached interface', async () => {
    const yaml = `virtualServers:
  - address: 10.0.0.100
    port: 80
    scheduler: wrr
    lbKind: NAT
    realServers:
      - address: 192.168.1.21
        port: 8080
  - address: 10.0.0.101
    port: 80
    scheduler: mh
    lbKind: TUN
    realServers:
      - address: 10.0.0.11
`;
    const { service, plane, requests } = await run(yaml);
    assert.deepEqual(requests[0]?.interfaces, ['eth0', 'eth1']);
    assert.deepEqual(requests[0]?.tunnel, { sourceV4: '10.0.0.1' });
    assert.equal(requests[0]?.connections, 1_048_576, 'the default connection-table size');
    const nat = plane.services().find((s) => s.service.vip === '10.0.0.100');
    assert.deepEqual(
      nat?.reals.map((r) => `${r.address}:${r.port}/${r.forwarding}`),
      ['192.168.1.21:8080/nat'],
    );
    await service.close();
  });

  it('under dataPlane auto runs a fwmark service on IPVS (XDP runs before netfilter marks)', async () => {
    const yaml = `${DR}  - fwmark: 7
    scheduler: rr
    lbKind: DR
    realServers:
      - address: 10.0.0.11
        port: 80
`;
    const { service, plane, ipvs, logger } = await run(yaml);
    assert.deepEqual(
      plane.services().map((s) => s.service.vip),
      ['10.0.0.100'],
    );
    assert.deepEqual(
      ipvs.services().map((s) => `${s.service.vip} ${s.service.fwmark} ${s.reals.length}`),
      ['0.0.0.0 7 1'],
    );
    assert.deepEqual(
      service.virtualServerStates().map((s) => s.name),
      ['TCP 10.0.0.100:80', 'TCP fwmark 7'],
    );
    assert.ok(
      logger.lines.some((l) => l.includes('TCP fwmark 7') && l.includes('kernel IPVS')),
      logger.lines.join('\n'),
    );
    // A reload changes the mark service in place, as any other.
    const next = parseConfigText(`${yaml}        weight: 4\n`, 'c.yaml').config;
    const plan = await service.planReload(next);
    assert.match(plan.summary, /1 changed/);
    await plan.apply();
    assert.deepEqual(
      ipvs.services().map((s) => `${s.service.fwmark} ${s.reals.map((r) => r.weight).join(',')}`),
      ['7 4'],
    );
    await service.close();
  });

  it('on a kernel without IPVS, a fwmark-only configuration opens no XDP and leaves the mark out', async () => {
    const onlyFwmark = `virtualServers:
  - fwmark: 7
    scheduler: wlc
    realServers:
      - address: 10.0.0.11
        port: 80
`;
    const none = await run(onlyFwmark, directorHost(), { noIpvs: true });
    assert.deepEqual(
      none.requests.map((r) => r.kind),
      ['ipvs'],
    );
    assert.equal(none.service.dataPlane, undefined);
    assert.ok(
      none.logger.lines.some((l) => l.includes('TCP fwmark 7') && l.includes('left out')),
      none.logger.lines.join('\n'),
    );
    await none.service.close();
  });

  const WLC = `${DR}  - address: 10.0.0.102
    port: 80
    lbKind: DR
    realServers:
      - address: 10.0.0.11
`;

  it('under dataPlane auto runs wlc (the default scheduler) on IPVS and the rest on XDP', async () => {
    const { service, plane, ipvs, requests, logger } = await run(WLC);
    assert.deepEqual(requests.map((r) => r.kind).sort(), ['ipvs', 'xdp']);
    assert.deepEqual(
      plane.services().map((s) => s.service.vip),
      ['10.0.0.100'],
    );
    assert.deepEqual(
      ipvs.services().map((s) => `${s.service.vip} ${s.service.scheduler}`),
      ['10.0.0.102 wlc'],
    );
    assert.deepEqual(
      service.dataPlane
        ?.services()
        .map((s) => s.service.vip)
        .sort(),
      ['10.0.0.100', '10.0.0.102'],
    );
    assert.ok(
      logger.lines.some((l) => l.includes('TCP 10.0.0.102:80') && l.includes('kernel IPVS')),
      logger.lines.join('\n'),
    );
    await service.close();
    assert.equal(ipvs.lifecycle, 'destroyed');
    assert.equal(plane.lifecycle, 'destroyed');
  });

  it("hands the daemon's run directory (lbctl up --run-dir) to the data planes", async () => {
    const { service, requests } = await run(WLC, directorHost(), {
      runDir: '/tmp/lbctl-elsewhere',
    });
    assert.deepEqual(requests.map((r) => `${r.kind} ${r.runDir}`).sort(), [
      'ipvs /tmp/lbctl-elsewhere',
      'xdp /tmp/lbctl-elsewhere',
    ]);
    await service.close();
  });

  it('when the verifier refuses the XDP program, auto runs every virtual server on IPVS and says why', async () => {
    const { service, plane, ipvs, requests, logger } = await run(WLC, directorHost(), {
      xdpRefused: true,
    });
    assert.deepEqual(
      requests.map((r) => r.kind),
      ['xdp', 'ipvs'],
    );
    assert.deepEqual(plane.services(), []);
    assert.deepEqual(
      ipvs
        .services()
        .map((s) => `${s.service.vip} ${s.service.scheduler}`)
        .sort(),
      ['10.0.0.100 rr', '10.0.0.102 wlc'],
    );
    const line = logger.lines.find((l) => l.includes('every virtual server runs on kernel IPVS'));
    assert.ok(line, logger.lines.join('\n'));
    assert.match(line, /the verifier of kernel \S+ refused program xdp_unchecked: \S/);
    // A reload keeps what auto gave XDP on IPVS.
    const next = parseConfigText(WLC.replace('weight: 3', 'weight: 5'), 'c.yaml').config;
    await (await service.planReload(next)).apply();
    assert.equal(ipvs.services().find((s) => s.service.vip === '10.0.0.100')?.reals[1]?.weight, 5);
    await service.close();
  });

  it('when the verifier refuses the XDP program under dataPlane xdp, start fails with its reason', async () => {
    await assert.rejects(
      run(`global:\n  dataPlane: xdp\n${DR}`, directorHost(), { xdpRefused: true }),
      /the verifier of kernel \S+ refused program xdp_unchecked: \S/,
    );
  });

  it('on a kernel without IPVS, auto names each service left out and still runs the XDP ones', async () => {
    const { service, plane, logger } = await run(WLC, directorHost(), { noIpvs: true });
    assert.deepEqual(
      plane.services().map((s) => s.service.vip),
      ['10.0.0.100'],
    );
    assert.deepEqual(
      service.virtualServerStates().map((s) => s.name),
      ['TCP 10.0.0.100:80'],
    );
    assert.ok(
      logger.lines.some(
        (l) => l.includes('TCP 10.0.0.102:80') && l.includes('no IPVS') && l.includes('left out'),
      ),
      logger.lines.join('\n'),
    );
    await service.close();
  });
});
