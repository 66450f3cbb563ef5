import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { ReloadRefusedError } from '../../src/daemon/reload-refused.js';
import { errorFromThread, errorToThread, vrrpPart } from '../../src/daemon/vrrp-thread-protocol.js';
import { LbctlError } from '../../src/errors.js';
import { NetlinkError } from '../../src/netlink/connection.js';

/** An error as the main thread gets it back: through structured clone, as postMessage sends it. */
const crossed = (err: unknown) => errorFromThread(structuredClone(errorToThread(err)));

describe('what crosses between the main thread and the VRRP thread', () => {
  it('a refused reload keeps every reason', () => {
    const back = crossed(new ReloadRefusedError(['VRRP: a', 'VRRP: b']));
    assert.ok(back instanceof ReloadRefusedError);
    assert.deepEqual(back.details, ['VRRP: a', 'VRRP: b']);
    assert.equal(back.code, 'RELOAD_REFUSED');
  });

  it('an LbctlError keeps its code, message, errno and stack', () => {
    const original = new NetlinkError('Cannot add address: File exists', 17, 'exists');
    const back = crossed(original);
    assert.ok(back instanceof LbctlError);
    assert.equal(back.code, 'NETLINK_ERROR');
    assert.equal(back.message, original.message);
    assert.equal((back as LbctlError & { errno?: number }).errno, 17);
    assert.equal(back.stack, original.stack);
  });

  it("a system error keeps Node's code, errno and syscall", () => {
    const original = Object.assign(new Error('bind EADDRINUSE 10.0.0.1:80'), {
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'bind',
    });
    const back = crossed(original) as Error & { code?: string; errno?: number; syscall?: string };
    assert.ok(!(back instanceof LbctlError));
    assert.deepEqual(
      { message: back.message, code: back.code, errno: back.errno, syscall: back.syscall },
      { message: original.message, code: 'EADDRINUSE', errno: -98, syscall: 'bind' },
    );
  });

  it('anything thrown that is not an Error becomes one', () => {
    assert.equal(crossed('plain text').message, 'plain text');
  });

  it('sends the configuration without its virtual servers', () => {
    const { config } = parseConfigText(
      'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 1\n  priority 100\n  virtual_ipaddress {\n    10.0.0.1\n  }\n}\n' +
        'virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 10.0.0.2 80 {\n    weight 1\n  }\n}\n',
      'keepalived.conf',
    );
    const part = structuredClone(vrrpPart(config));
    assert.equal(config.virtualServers.length, 1);
    assert.deepEqual(part.virtualServers, []);
    assert.deepEqual(part.vrrpInstances, config.vrrpInstances);
    assert.deepEqual(part.global, config.global);
  });
});
