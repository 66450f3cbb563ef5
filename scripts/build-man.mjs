// Generates the man pages into build/man/ from the docs (marked-man):
//   lbctl(8): every command and option from the command line's own
//             definitions, then docs/operations.md;
//   lbctl.conf(5): docs/configuration.md.
// Run after `npm run build:ts` (it reads the compiled command definitions).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marked } from 'marked';
import markedMan from 'marked-man';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/src/cli/main.js'));
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** A doc's body: its title line dropped, links to other docs turned into their names. */
function docBody(name) {
  const text = readFileSync(join(root, 'docs', name), 'utf8');
  return text
    .replace(/^# .*\n/, '')
    .replace(/\[([^\]]+)\]\((?!https?:)[^)]*\)/g, '$1');
}

function escapeMd(text) {
  return text.replace(/([<>*_`[\]])/g, '\\$1');
}

function commandsSection(program) {
  const out = ['## COMMANDS', ''];
  const visit = (command, path) => {
    for (const sub of command.commands) {
      const name = [...path, sub.name()].join(' ');
      out.push(`### lbctl ${name} ${escapeMd(sub.usage())}`, '', escapeMd(sub.description()), '');
      for (const option of sub.options) {
        const fallback =
          option.defaultValue === undefined ? '' : ` (default: ${String(option.defaultValue)})`;
        out.push(`* \`${option.flags}\`: ${escapeMd(option.description)}${escapeMd(fallback)}`);
      }
      out.push('');
      visit(sub, [...path, sub.name()]);
    }
  };
  visit(program, []);
  return out.join('\n');
}

const program = await buildProgram();
const pages = {
  'lbctl.8': [
    `# lbctl(8) -- ${program.description()}`,
    '',
    '## SYNOPSIS',
    '',
    '`lbctl` _command_ [_options_]',
    '',
    '`lbctl up` [_file_]',
    '',
    '## DESCRIPTION',
    '',
    'lbctl does the job of keepalived and LVS in one daemon: VRRP for virtual IPs, health checks of real servers, and an XDP data plane forwarding to them. It reads keepalived.conf as it is, or its own YAML (lbctl.conf(5)).',
    '',
    commandsSection(program),
    docBody('operations.md'),
    '## FILES',
    '',
    '* `/etc/lbctl/lbctl.yaml`, `/etc/keepalived/keepalived.conf`: the configuration `lbctl up` reads without a file.',
    '* `/etc/default/lbctl`: arguments for the systemd unit.',
    '* `/run/lbctl/`_instance_`.pid`, `.data`, `.stats`: pid file and signal dumps.',
    '',
    '## SEE ALSO',
    '',
    'lbctl.conf(5), keepalived(8), keepalived.conf(5), ipvsadm(8), systemd.service(5)',
    '',
  ].join('\n'),
  'lbctl.conf.5': [
    '# lbctl.conf(5) -- lbctl configuration: YAML or keepalived.conf',
    '',
    '## DESCRIPTION',
    '',
    'lbctl reads its own YAML (`/etc/lbctl/lbctl.yaml`) or a keepalived.conf (`/etc/keepalived/keepalived.conf`). This page describes both.',
    '',
    docBody('configuration.md'),
    '## SEE ALSO',
    '',
    'lbctl(8), keepalived.conf(5)',
    '',
  ].join('\n'),
};

marked.use(markedMan);
const outDir = join(root, 'build', 'man');
mkdirSync(outDir, { recursive: true });
for (const [file, markdown] of Object.entries(pages)) {
  const roff = marked.parse(markdown, { version, manual: 'lbctl manual' });
  writeFileSync(join(outDir, file), roff);
  process.stdout.write(`${join('build', 'man', file)}\n`);
}
