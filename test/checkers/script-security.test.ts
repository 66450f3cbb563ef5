import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkScriptSecurity } from '../../src/checkers/script-security.js';
import { resolveCredentials } from '../../src/checkers/system-user.js';
import {
  DEFAULT_SCRIPT_USER,
  withDefaultScriptUser,
} from '../../src/config/default-script-user.js';
import { parseConfigText } from '../../src/config/load.js';
import { auditScripts } from '../../src/config/script-audit.js';
import { vrrpOptionsFromConfig } from '../../src/vrrp/system/config-options.js';
import { runBounded } from '../support/bounded-run.js';
import { lbctlCommand } from '../support/cli.js';

const ROOT = { uid: 0, gid: 0 };

describe('script security (keepalived check_script_secure)', () => {
  let dir: string;
  before(() => {
    // mkdtemp: root-owned 0700 under the root-owned sticky /tmp, so safe itself.
    dir = mkdtempSync(join(tmpdir(), 'lbctl-scriptsec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const script = (path: string, mode = 0o755) => {
    writeFileSync(path, '#!/bin/sh\nexit 0\n');
    chmodSync(path, mode);
    return path;
  };

  it('accepts a root-owned script in root-owned directories', () => {
    const path = script(join(dir, 'safe.sh'));
    assert.deepEqual(checkScriptSecurity(path, ROOT), { kind: 'safe', program: path });
    assert.equal(checkScriptSecurity('/bin/true', ROOT).kind, 'safe');
    // A bare name is found on PATH, as execvp would.
    assert.equal(checkScriptSecurity('true', ROOT).kind, 'safe');
  });

  it('finds a world-writable script run as root', () => {
    const path = script(join(dir, 'open.sh'), 0o777);
    assert.deepEqual(checkScriptSecurity(path, ROOT), {
      kind: 'unsafe',
      program: path,
      path,
      reason: 'writable by everyone',
    });
  });

  it('finds a directory on the path that is not root-owned or is writable by others', () => {
    const byNobody = join(dir, 'nobody');
    mkdirSync(byNobody, { mode: 0o755 });
    chownSync(byNobody, 65534, 65534);
    const inside = script(join(byNobody, 'x.sh'));
    const found = checkScriptSecurity(inside, ROOT);
    assert.equal(found.kind, 'unsafe');
    assert.equal(found.kind === 'unsafe' && found.path, byNobody);
    assert.match(found.kind === 'unsafe' ? found.reason : '', /owned by uid 65534, not root/);

    const groupWritable = join(dir, 'grp');
    mkdirSync(groupWritable);
    chownSync(groupWritable, 0, 100);
    chmodSync(groupWritable, 0o775);
    const found2 = checkScriptSecurity(script(join(groupWritable, 'y.sh')), ROOT);
    assert.equal(found2.kind === 'unsafe' && found2.reason, 'writable by group 100');
  });

  it('follows a symbolic link to where the script really is', () => {
    const open = join(dir, 'open-dir');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const target = script(join(open, 'real.sh'));
    const link = join(dir, 'link.sh');
    symlinkSync(target, link);
    const found = checkScriptSecurity(link, ROOT);
    assert.equal(found.kind, 'unsafe');
    assert.equal(found.kind === 'unsafe' && found.path, open);
  });

  it('does not object when the script runs without root rights (script_user)', async () => {
    const path = script(join(dir, 'user.sh'), 0o777);
    assert.equal(
      checkScriptSecurity(path, await resolveCredentials({ user: 'nobody' })).kind,
      'safe',
    );
  });

  const config = (security: boolean, unsafe: string) =>
    parseConfigText(
      `global_defs {\n${security ? '  enable_script_security\n' : ''}}\n` +
        `vrrp_script chk {\n  script "${unsafe} arg"\n}\n` +
        'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n' +
        `  notify_master "${unsafe}"\n  track_script {\n    chk\n  }\n` +
        '  virtual_ipaddress {\n    127.0.0.9\n  }\n}\n' +
        `virtual_server 10.0.0.1 80 {\n  quorum_up "/bin/true"\n  real_server 10.0.0.2 80 {\n` +
        `    MISC_CHECK {\n      misc_path "${unsafe} x"\n      user nobody\n    }\n  }\n}\n`,
      'k.conf',
    ).config;

  it('refuses every unsafe script when enable_script_security is set', async () => {
    const unsafe = script(join(dir, 'audit.sh'), 0o777);
    const audit = await auditScripts(config(true, unsafe));
    assert.deepEqual(audit.errors, [
      `vrrp_script chk: refused by enable_script_security: ${unsafe} runs as root but ${unsafe} is writable by everyone`,
      `vrrp_instance VI_1 notify_master: refused by enable_script_security: ${unsafe} runs as root but ${unsafe} is writable by everyone`,
    ]);
    // MISC_CHECK runs as nobody: no root rights, nothing to protect.
    assert.deepEqual(audit.warnings, []);
  });

  it('warns about every unsafe script when enable_script_security is not set', async () => {
    const unsafe = script(join(dir, 'audit2.sh'), 0o777);
    const audit = await auditScripts(config(false, unsafe));
    assert.deepEqual(audit.errors, []);
    assert.equal(audit.warnings.length, 2);
    assert.match(
      audit.warnings[0] ?? '',
      /^vrrp_script chk: unsafe script: .* is writable by everyone \(set enable_script_security to refuse it\)$/,
    );
  });

  it("runs scripts as keepalived_script when that user exists and no script_user is set (keepalived's default)", async () => {
    const safe = '/bin/true';
    const asked: string[] = [];
    const exists = async (user: string) => {
      asked.push(user);
      return true;
    };
    const { config: withDefault, warning } = await withDefaultScriptUser(
      config(false, safe),
      exists,
    );
    assert.deepEqual(asked, [DEFAULT_SCRIPT_USER]);
    assert.equal(warning, undefined);
    assert.equal(withDefault.global.scriptUser, 'keepalived_script');
    // Every runner reads the user from here: the VRRP engine's options, for one.
    const vrrp = vrrpOptionsFromConfig(withDefault);
    assert.equal(vrrp.instances[0]?.notify?.master?.user, 'keepalived_script');
    assert.equal(vrrp.scripts[0]?.user, 'keepalived_script');
  });

  it('without keepalived_script, scripts run as root with a warning; script_user set wins', async () => {
    const missing = await withDefaultScriptUser(config(false, '/bin/true'), async () => false);
    assert.equal(missing.config.global.scriptUser, undefined);
    assert.match(
      missing.warning ?? '',
      /^no script_user is set and user keepalived_script does not exist: scripts without a user of their own run as root/,
    );
    const explicit = parseConfigText(
      'global_defs {\n  script_user nobody\n}\nvrrp_script chk {\n  script "/bin/true"\n}\n' +
        'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n  track_script {\n    chk\n  }\n}\n',
      'k.conf',
    ).config;
    const kept = await withDefaultScriptUser(explicit, async () => {
      throw new Error('not asked when script_user is set');
    });
    assert.equal(kept.config.global.scriptUser, 'nobody');
    assert.equal(kept.warning, undefined);
  });

  it('a user NSS does not know is warned about and checked as root', async () => {
    const unsafe = script(join(dir, 'ldap.sh'), 0o777);
    const ldapOnly = parseConfigText(
      'global_defs {\n  enable_script_security\n  script_user ldapuser\n}\n' +
        `vrrp_script chk {\n  script "${unsafe}"\n}\n` +
        'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n  track_script {\n    chk\n  }\n}\n',
      'k.conf',
    ).config;
    const audit = await auditScripts(ldapOnly, async () => {
      throw new Error('Cannot run script as user "ldapuser": no such user');
    });
    assert.deepEqual(audit.warnings, [
      'vrrp_script chk: Cannot run script as user "ldapuser": no such user; checked as if run by root',
    ]);
    assert.equal(audit.errors.length, 1);
    assert.match(audit.errors[0] ?? '', /refused by enable_script_security: .* runs as 'ldapuser'/);
  });

  it('`up` refuses an unsafe script under enable_script_security before changing anything', async () => {
    const unsafe = script(join(dir, 'up.sh'), 0o777);
    const file = join(dir, 'up.conf');
    writeFileSync(
      file,
      'global_defs {\n  enable_script_security\n  lbctl_instance_name scriptsec\n}\n' +
        `vrrp_script chk {\n  script "${unsafe}"\n}\n` +
        'vrrp_instance VI_1 {\n  interface lo\n  virtual_router_id 9\n  track_script {\n    chk\n  }\n' +
        '  virtual_ipaddress {\n    127.0.0.9\n  }\n}\n',
    );
    const runDir = join(dir, 'run');
    // Bounded: were the check missing, the daemon would run; it is killed.
    const result = await runBounded(
      process.execPath,
      [...lbctlCommand(), 'up', file, '--run-dir', runDir],
      { timeoutMs: 15_000 },
    );
    assert.notEqual(result.code, 0, result.output);
    assert.match(result.output, /refused by enable_script_security: .*up\.sh runs as root/);
    assert.doesNotMatch(result.output, /lbctl is up/);
    assert.deepEqual(existsSync(runDir) ? readdirSync(runDir) : [], []);
  });
});
