// npm install hook of the published package: keep the prebuilt addon
// (linux-x64, shipped in build/Release) when it loads on this machine,
// otherwise build it from the shipped sources with npm's node-gyp (needs
// the build tools scripts/setup.sh installs). A development checkout (it
// has src/) builds with `npm run build` instead, so this does nothing there.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'lbctl_native.node');

if (existsSync(join(root, 'src'))) process.exit(0);

function loads() {
  if (process.env.LBCTL_BUILD_FROM_SOURCE === '1' || !existsSync(addon)) return false;
  // In a child: a failed dlopen must not take this script with it.
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (probe.status !== 0) {
    process.stderr.write(`lbctl: the prebuilt addon does not load here (${probe.stderr.trim().split('\n')[0]})\n`);
  }
  return probe.status === 0;
}

if (loads()) {
  process.stdout.write('lbctl: using the prebuilt native addon\n');
} else {
  process.stdout.write('lbctl: building the native addon and BPF objects from source\n');
  // npm tells install scripts where its own node-gyp is.
  const gyp = process.env.npm_config_node_gyp;
  const [file, args] =
    gyp !== undefined && gyp !== ''
      ? [process.execPath, [gyp, 'rebuild']]
      : ['node-gyp', ['rebuild']];
  try {
    execFileSync(file, args, { cwd: root, stdio: 'inherit' });
  } catch {
    process.stderr.write(
      'lbctl: cannot build the native addon: install clang, llvm, libbpf-dev, libelf-dev, zlib1g-dev, make and g++ (scripts/setup.sh lists them)\n',
    );
    process.exit(1);
  }
}
