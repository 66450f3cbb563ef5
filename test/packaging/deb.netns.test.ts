/**
 * A real install of the Debian package (scripts/build-deb.sh): installed with
 * dpkg, verified by systemd-analyze, started from
 * /usr/sbin/lbctl in a network namespace, run as lbctl.service by systemd
 * booted in a container (systemd-nspawn), and purged.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { pinRoot } from '../../src/bpf/index.js';
import { alive } from '../../src/lab/processes.js';
import { nsenterArgs, runIn } from '../../src/netns/exec.js';
import { createNamespace, deleteNamespace, uniqueName } from '../../src/netns/netns.js';
import { packageRoot } from '../../src/paths.js';
import { NotifyReceiver } from '../daemon/support/notify-receiver.js';
import { holdMachineLock } from '../support/machine-lock.js';
import { teardown } from '../support/teardown.js';
import { waitFor } from '../support/wait.js';
import { sh, version } from './support.js';

describe('Debian package', () => {
  const out = mkdtempSync(join(tmpdir(), 'lbctl-deb-'));
  const namespace = uniqueName('lbdeb');
  const instance = uniqueName('lbdeb');
  let deb = '';
  /** Set while this run holds the machine's package lock: only then may it install or purge. */
  let releaseLock: (() => void) | undefined;

  before(async () => {
    // The package is machine-wide: a run in another worktree would purge it
    // under this one's daemon (or hold dpkg's lock as this one installs).
    releaseLock = await holdMachineLock('deb-package', 150_000);
    // A run killed before its purge left the package: remove it first.
    if (spawnSync('dpkg', ['-s', 'lbctl'], { stdio: 'ignore' }).status === 0) {
      execFileSync('dpkg', ['--purge', 'lbctl'], { stdio: 'ignore' });
    }
    if (existsSync('/usr/sbin/lbctl')) {
      throw new Error('/usr/sbin/lbctl exists and is not the lbctl package: not overwriting it');
    }
    deb = sh('bash', [join(packageRoot, 'scripts/build-deb.sh'), out])
      .trim()
      .split('\n')
      .at(-1)!;
    await createNamespace(namespace);
  });
  teardown(async () => {
    try {
      if (releaseLock !== undefined)
        execFileSync('dpkg', ['--purge', 'lbctl'], { stdio: 'ignore' });
    } finally {
      releaseLock?.();
      await deleteNamespace(namespace);
      rmSync(join(pinRoot, instance), { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('installs with dpkg -i: command, unit, configuration directory, man pages, completion', () => {
    assert.equal(
      deb,
      join(out, `lbctl_${version}_${sh('dpkg', ['--print-architecture']).trim()}.deb`),
    );
    sh('dpkg', ['-i', deb]);
    assert.equal(sh('/usr/sbin/lbctl', ['--version']).trim(), version);
    assert.ok(existsSync('/etc/lbctl'));
    assert.match(readFileSync('/etc/default/lbctl', 'utf8'), /^LBCTL_OPTIONS=""$/m);
    const man8 = sh('man', ['-P', 'cat', '8', 'lbctl'], { MANWIDTH: '100' });
    assert.match(man8, /^Signals$/m);
    assert.match(man8, /lbctl up \[options\] \[file\]/);
    const man5 = sh('man', ['-P', 'cat', '5', 'lbctl.conf'], { MANWIDTH: '100' });
    assert.match(man5, /keepalived\.conf support/);
    assert.match(
      readFileSync('/usr/share/bash-completion/completions/lbctl', 'utf8'),
      /complete -o filenames -F _lbctl lbctl/,
    );
  });

  it('has a unit systemd-analyze verify accepts', () => {
    // Exit 0 and no complaint: ExecStart exists, directives and man pages resolve.
    const output = execFileSync(
      'systemd-analyze',
      ['verify', '/lib/systemd/system/lbctl.service'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    assert.equal(output, '');
    const unit = readFileSync('/lib/systemd/system/lbctl.service', 'utf8');
    for (const line of [
      'Type=notify',
      'ExecStart=/usr/sbin/lbctl up $LBCTL_OPTIONS',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'Restart=on-failure',
    ]) {
      assert.ok(unit.includes(`\n${line}\n`), line);
    }
  });

  it('starts from /usr/sbin/lbctl: VRRP master with its VIP and the XDP data plane, then stops cleanly', async () => {
    await runIn(namespace, 'ip', ['link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    await runIn(namespace, 'ip', ['addr', 'add', '10.91.0.2/24', 'dev', 'd0']);
    await runIn(namespace, 'ip', ['link', 'set', 'd0', 'up']);
    await runIn(namespace, 'ip', ['link', 'set', 'd1', 'up']);
    const config = join(out, 'keepalived.conf');
    writeFileSync(
      config,
      `global_defs {
    lbctl_instance_name ${instance}
    lbctl_xdp_mode generic
}
vrrp_instance VI_1 {
    state MASTER
    interface d0
    virtual_router_id 91
    priority 150
    advert_int 1
    virtual_ipaddress {
        10.91.0.100/32 dev d0
    }
}
virtual_server 10.91.0.100 80 {
    lvs_sched rr
    lvs_method DR
    protocol TCP
    real_server 10.91.0.11 80 {
        weight 1
    }
}
`,
    );
    const receiver = await NotifyReceiver.listen(join(out, 'notify.sock'));
    const child = spawn(
      'nsenter',
      [...nsenterArgs(namespace), '/usr/sbin/lbctl', 'up', config, '--run-dir', out],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NOTIFY_SOCKET: receiver.path },
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      // Loading the BPF program is CPU work that a loaded machine stretches: the bound is
      // as generous as the systemd case's below; READY itself ends the wait.
      await receiver.waitFor('READY=1', 0, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${stderr}`);
      });
      const holdsVip = async () => {
        const { stdout } = await runIn(namespace, 'ip', ['-o', 'addr', 'show', 'dev', 'd0']);
        return stdout.includes(' 10.91.0.100/32 ');
      };
      await waitFor('the VIP', async () => ((await holdsVip()) ? true : undefined), {
        timeoutMs: 8000,
      });
      const { stdout: link } = await runIn(namespace, 'ip', ['-d', 'link', 'show', 'dev', 'd0']);
      assert.match(link, /prog\/xdp/, 'the installed BPF object is attached');
      assert.match(stderr, /^<6>lbctl is up /m, 'journal log lines');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      await receiver.waitFor('STOPPING=1');
      assert.equal(await holdsVip(), false, 'VIP released');
      assert.equal(existsSync(join(pinRoot, instance)), false, 'pins removed');
      assert.equal(existsSync(join(out, `${instance}.pid`)), false, 'pid file removed');
    } finally {
      if (child.pid !== undefined && alive(child.pid)) child.kill('SIGKILL');
      receiver.close();
    }
  });

  it('runs under systemd (booted in a container): Type=notify start, reload, restart on failure, stop', async () => {
    // systemd is not PID 1 on the test machine: boot it with systemd-nspawn
    // on the host's /usr (--volatile=yes: empty /etc and /var on tmpfs),
    // sharing the test namespace, into a target wanting lbctl.service.
    const sdInstance = uniqueName('lbsd');
    const vip = '10.91.0.200';
    const config = join(out, 'systemd-keepalived.conf');
    writeFileSync(
      config,
      `global_defs {
    lbctl_instance_name ${sdInstance}
}
vrrp_instance VI_SD {
    state MASTER
    interface d0
    virtual_router_id 92
    priority 150
    advert_int 1
    virtual_ipaddress {
        ${vip}/32 dev d0
    }
}
`,
    );
    // Boot only the basic system and lbctl: the host's enabled services
    // (keepalived with the same configuration, say) stay off.
    const target = join(out, 'lbctl-test.target');
    writeFileSync(
      target,
      '[Unit]\nDescription=lbctl test boot\nRequires=basic.target\nWants=lbctl.service\nAfter=basic.target\nAllowIsolate=yes\n',
    );
    const consoleLog = openSync(join(out, 'container-console.log'), 'w');
    const nspawn = spawn(
      'systemd-nspawn',
      [
        '--register=no',
        '--keep-unit',
        '--quiet',
        '--directory=/',
        '--volatile=yes',
        '--capability=CAP_NET_ADMIN',
        `--network-namespace-path=/var/run/netns/${namespace}`,
        `--bind-ro=${config}:/etc/keepalived/keepalived.conf`,
        `--bind-ro=${target}:/etc/systemd/system/lbctl-test.target`,
        '--boot',
        '--',
        'systemd.firstboot=off',
        // Nothing configures the container's network: do not wait for it.
        'systemd.mask=systemd-networkd-wait-online.service',
        'systemd.unit=lbctl-test.target',
      ],
      { stdio: ['ignore', consoleLog, consoleLog] },
    );
    closeSync(consoleLog);
    const nspawnExited = new Promise<void>((resolve) => nspawn.once('exit', () => resolve()));
    const containerInit = () => {
      try {
        // nspawn's child (in any of its threads) is the container's systemd.
        const children = readdirSync(`/proc/${nspawn.pid}/task`)
          .map((task) => readFileSync(`/proc/${nspawn.pid}/task/${task}/children`, 'utf8'))
          .join(' ');
        const pid = Number.parseInt(children.trim().split(/\s+/)[0] ?? '', 10);
        return Number.isInteger(pid) && /^systemd$/m.test(readFileSync(`/proc/${pid}/comm`, 'utf8'))
          ? pid
          : undefined;
      } catch {
        return undefined;
      }
    };
    try {
      const init = await waitFor('the container to boot', containerInit, { timeoutMs: 30_000 });
      const inContainer = (...args: string[]) =>
        execFileSync('nsenter', ['-t', String(init), '-m', '-p', '-u', '-i', '-n', ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 30_000,
        }).trim();
      const show = (property: string) => {
        try {
          return inContainer('systemctl', 'show', 'lbctl.service', '-p', property, '--value');
        } catch {
          return ''; // systemd not answering yet
        }
      };
      const holdsVip = async () => {
        const { stdout } = await runIn(namespace, 'ip', ['-o', 'addr', 'show', 'dev', 'd0']);
        return stdout.includes(` ${vip}/32 `);
      };
      const journal = (...args: string[]) =>
        inContainer('journalctl', '-u', 'lbctl.service', '--no-pager', '-o', 'cat', ...args);

      // Type=notify: active once lbctl sent READY=1, with its STATUS=.
      await waitFor(
        'lbctl.service to be active',
        () => (show('ActiveState') === 'active' ? true : undefined),
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      assert.equal(show('StatusText'), `running instance ${sdInstance}`);
      await waitFor('the VIP', async () => ((await holdsVip()) ? true : undefined), {
        timeoutMs: 10_000,
      });
      const firstPid = show('MainPID');

      // ExecReload sends SIGHUP: the daemon reloads in place (same pid).
      inContainer('systemctl', 'reload', 'lbctl.service');
      // Each poll starts journalctl in the container, slow on a loaded machine.
      await waitFor(
        'the reload to be applied',
        () => (/^configuration reloaded/m.test(journal('-p', 'info')) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      // A broken configuration is refused at priority err (journald read
      // lbctl's <3> prefix) and the daemon runs on unchanged.
      const good = readFileSync(config, 'utf8');
      writeFileSync(config, `${good}vrrp_instance {\n`);
      inContainer('systemctl', 'reload', 'lbctl.service');
      await waitFor(
        'the refused reload at priority err',
        () => (/reload failed/.test(journal('-p', 'err')) ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      writeFileSync(config, good);
      assert.doesNotMatch(journal('-p', 'err'), /lbctl is up/, 'info lines are not err');
      assert.match(journal('-p', 'info'), /^lbctl is up instance=/m);
      assert.equal(show('ActiveState'), 'active');
      assert.equal(show('MainPID'), firstPid);
      assert.ok(await holdsVip());

      // Restart=on-failure: a killed lbctl is started again within RestartSec.
      inContainer('kill', '-KILL', firstPid);
      await waitFor(
        'systemd to restart lbctl',
        () => (show('NRestarts') === '1' && show('ActiveState') === 'active' ? true : undefined),
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      assert.notEqual(show('MainPID'), firstPid);
      await waitFor('the VIP again', async () => ((await holdsVip()) ? true : undefined), {
        timeoutMs: 10_000,
      });

      // systemctl stop: SIGTERM, clean shutdown, VIP released.
      inContainer('systemctl', 'stop', 'lbctl.service');
      assert.equal(show('ActiveState'), 'inactive');
      assert.equal(show('Result'), 'success');
      assert.equal(await holdsVip(), false, 'VIP released at stop');
      assert.match(journal(), /lbctl stopped/);
    } catch (err) {
      const tail = readFileSync(join(out, 'container-console.log'), 'utf8').split('\n').slice(-30);
      throw new Error(`${(err as Error).message}\ncontainer console:\n${tail.join('\n')}`);
    } finally {
      nspawn.kill('SIGTERM'); // the container shuts down
      const timer = setTimeout(() => nspawn.kill('SIGKILL'), 20_000);
      await nspawnExited;
      clearTimeout(timer);
    }
  });

  it('purges cleanly', () => {
    sh('dpkg', ['--purge', 'lbctl']);
    assert.equal(existsSync('/usr/sbin/lbctl'), false);
    assert.equal(existsSync('/lib/systemd/system/lbctl.service'), false);
    assert.equal(existsSync('/usr/lib/lbctl'), false);
  });
});
