import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, type ConfigIssue } from '../../src/config/errors.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { tempDir } from './helpers.js';

/** A keepalived vrrp_instance on eth0 with `body` after its interface line (line 3 onward). */
const instance = (name: string, body: string) =>
  `vrrp_instance ${name} {\n    interface eth0\n${body}\n}\n`;

interface Case {
  readonly name: string;
  readonly file: string;
  readonly text: string;
  readonly strict?: boolean;
  readonly line: number;
  readonly column: number;
  readonly message: string | RegExp;
}

const cases: Case[] = [
  {
    name: 'unterminated block',
    file: 'k.conf',
    text: 'global_defs {\n  router_id a\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 5\n',
    line: 4,
    column: 1,
    message: "block 'vrrp_instance' is not closed: missing '}' before the end of the file",
  },
  {
    name: 'stray closing brace',
    file: 'k.conf',
    text: 'global_defs {\n}\n}\n',
    line: 3,
    column: 1,
    message: "unexpected '}' with no open block",
  },
  {
    name: 'unterminated quoted string',
    file: 'k.conf',
    text: 'vrrp_script chk {\n    script "killall -0 nginx\n}\n',
    line: 2,
    column: 12,
    message: 'unterminated quoted string',
  },
  {
    name: 'bad virtual address',
    file: 'k.conf',
    text: instance(
      'VI_1',
      '    virtual_router_id 5\n    virtual_ipaddress {\n        10.0.0.300/24\n    }',
    ),
    line: 5,
    column: 9,
    message: 'virtual_ipaddress: expected an IPv4 or IPv6 address with an optional /prefix length',
  },
  {
    name: 'VRID out of range',
    file: 'k.conf',
    text: instance('VI_1', '    virtual_router_id 256'),
    line: 3,
    column: 23,
    message: 'virtual_router_id: must be an integer from 1 to 255',
  },
  {
    name: 'priority out of range',
    file: 'k.conf',
    text: instance('VI_1', '    virtual_router_id 5\n    priority 256'),
    line: 4,
    column: 14,
    message: 'priority: must be an integer from 1 to 255',
  },
  {
    name: 'duplicate VRID on one interface',
    file: 'k.conf',
    text: instance('VI_1', '    virtual_router_id 5') + instance('VI_2', '    virtual_router_id 5'),
    line: 7,
    column: 23,
    message:
      "virtual_router_id: virtual_router_id 5 is already used on eth0 (ipv4) by vrrp instance 'VI_1'",
  },
  {
    name: 'VIP family differs from the instance',
    file: 'k.conf',
    text: instance(
      'VI_1',
      '    virtual_router_id 5\n    virtual_ipaddress {\n        10.0.0.1/24\n        fd00::1/64\n    }',
    ),
    line: 6,
    column: 9,
    message: /fd00::1 is ipv6 but vrrp instance 'VI_1' is ipv4/,
  },
  {
    name: 'undefined track script',
    file: 'k.conf',
    text: instance(
      'VI_1',
      '    virtual_router_id 5\n    track_script {\n        chk_missing\n    }',
    ),
    line: 5,
    column: 9,
    message: "track_script: track script 'chk_missing' is not defined by any vrrp_script",
  },
  {
    name: 'unknown scheduler',
    file: 'k.conf',
    text: 'virtual_server 10.0.0.1 80 {\n    lvs_sched fastest\n    real_server 10.0.0.2 80 {\n    }\n}\n',
    line: 2,
    column: 15,
    message: /^lvs_sched: must be one of 'rr', 'wrr'/,
  },
  {
    name: 'empty status_code range',
    file: 'k.conf',
    text: 'virtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        HTTP_GET {\n            url {\n                path /\n                status_code 200 299-200\n            }\n        }\n    }\n}\n',
    line: 6,
    column: 33,
    message: "status_code: status code range '299-200' is empty (299 > 200)",
  },
  {
    name: 'DR cannot remap ports',
    file: 'k.conf',
    text: 'virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    lb_kind DR\n    real_server 10.0.0.2 8080 {\n    }\n}\n',
    line: 4,
    column: 26,
    message: /DR forwarding cannot change the port \(80 -> 8080\)/,
  },
  {
    name: 'duplicate real server',
    file: 'k.conf',
    text: 'virtual_server 10.0.0.1 80 {\n    lb_algo rr\n    real_server 10.0.0.2 80 {\n    }\n    real_server 10.0.0.2 80 {\n    }\n}\n',
    line: 5,
    column: 17,
    message:
      /real server 10\.0\.0\.2 port 80 appears more than once in virtual server 10\.0\.0\.1:80/,
  },
  {
    name: 'include of a missing file',
    file: 'k.conf',
    text: 'global_defs {\n}\ninclude /nonexistent/lbctl/file.conf\n',
    line: 3,
    column: 1,
    message: "Cannot include '/nonexistent/lbctl/file.conf': no such file",
  },
  {
    name: 'unknown keyword under --strict',
    file: 'k.conf',
    text: 'global_defs {\n   frobnicate yes\n}\n',
    strict: true,
    line: 2,
    column: 4,
    message: "unknown keyword 'frobnicate' in global_defs",
  },
  {
    name: 'YAML: VRID out of range',
    file: 'c.yaml',
    text: 'vrrpInstances:\n  - name: VI_1\n    interface: eth0\n    virtualRouterId: 0\n',
    line: 4,
    column: 22,
    message: 'vrrpInstances[0].virtualRouterId: must be an integer from 1 to 255',
  },
  {
    name: 'YAML: misspelt key',
    file: 'c.yaml',
    text: 'vrrpInstances:\n  - name: VI_1\n    interface: eth0\n    virtualRouterId: 3\n    priorty: 100\n',
    line: 5,
    column: 5,
    message: "vrrpInstances[0].priorty: unknown key 'priorty' (did you mean 'priority'?)",
  },
  {
    name: 'YAML: unknown scheduler',
    file: 'c.yaml',
    text: 'virtualServers:\n  - address: 10.0.0.1\n    port: 80\n    scheduler: fastest\n',
    line: 4,
    column: 16,
    message: /^virtualServers\[0\]\.scheduler: must be one of 'rr'/,
  },
  {
    name: 'YAML: syntax error',
    file: 'c.yaml',
    text: 'vrrpInstances:\n  - name: VI_1\n   interface: eth0\n',
    line: 3,
    column: 1,
    message: /Sequence item without - indicator/,
  },
];

function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.issues;
  }
  assert.fail('expected the configuration to be rejected');
}

for (const c of cases) {
  test(`malformed input: ${c.name} → ${c.file}:${c.line}:${c.column}`, () => {
    const issues = issuesOf(() =>
      parseConfigText(c.text, c.file, c.strict ? { strict: true } : {}),
    );
    const first = issues[0];
    assert.ok(first);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.deepEqual([first.file, first.line, first.column], [c.file, c.line, c.column]);
    if (typeof c.message === 'string') assert.equal(first.message, c.message);
    else assert.match(first.message, c.message);
  });
}

test('include cycle is reported at the include that closes it', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'main.conf'), 'global_defs {\n}\ninclude conf.d/*.conf\n');
  const sub = join(dir, 'conf.d');
  writeFileSync(join(dir, 'loop.conf'), '\ninclude main.conf\n');
  mkdirSync(sub);
  writeFileSync(join(sub, 'a.conf'), '! a\ninclude ../loop.conf\n');
  const issues = issuesOf(() => loadConfig(join(dir, 'main.conf')));
  assert.equal(issues.length, 1);
  assert.equal(issues[0]?.file, join(dir, 'loop.conf'));
  assert.equal(issues[0]?.line, 2);
  assert.equal(issues[0]?.column, 1);
  assert.match(
    issues[0]?.message ?? '',
    /^include cycle: .*main\.conf → .*a\.conf → .*loop\.conf → .*main\.conf$/,
  );
});

test('all problems are reported together, sorted by position, in the error message too', () => {
  const text = `${instance('VI_1', '    virtual_router_id 0\n    priority 300')}virtual_server 10.0.0.1 80 {\n    lb_algo nope\n}\n`;
  let error: ConfigError | undefined;
  try {
    parseConfigText(text, 'many.conf');
  } catch (err) {
    if (err instanceof ConfigError) error = err;
  }
  assert.ok(error);
  assert.deepEqual(
    error.issues.map((i) => `${i.line}:${i.column}`),
    ['3:23', '4:14', '7:13'],
  );
  assert.match(error.message, /^Cannot load configuration: 3 problems\n/);
  assert.match(
    error.message,
    /many\.conf:3:23: virtual_router_id: must be an integer from 1 to 255/,
  );
});
