// `npm pack` ships the compiled code: refuse to pack without it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const needed = [
  'dist/src/cli/main.js',
  'build/Release/lbctl_native.node',
  'build/Release/bpf/lb.bpf.o',
  'build/man/lbctl.8',
  'build/man/lbctl.conf.5',
];
const missing = needed.filter((path) => !existsSync(join(root, path)));
if (missing.length > 0) {
  process.stderr.write(
    `Cannot pack lbctl: ${missing.join(', ')} missing (run npm run build && npm run build:man)\n`,
  );
  process.exit(1);
}
