#!/usr/bin/env bash
# The test suite: lint, typecheck + compile, then the tests with node's runner.
# Usage: run-tests.sh [all|host|vm]
#   all  (default) every *.test.js
#   host every test except the VM tier (*.vm.test.js: Debian kernels in QEMU)
#   vm   only the VM tier
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-all}
case "$tier" in
  all) select=(-name '*.test.js') ;;
  host) select=(-name '*.test.js' ! -name '*.vm.test.js') ;;
  vm) select=(-name '*.vm.test.js') ;;
  *) echo "run-tests.sh: unknown tier '$tier' (all, host or vm)" >&2; exit 2 ;;
esac
npx biome check .
# A fresh dist/: compiled tests of deleted sources must not run.
rm -rf dist
npx tsc -p tsconfig.json
# Only *.test.js files: given a directory, node would also run every support
# module under a folder named test.
mapfile -t tests < <(find dist/test "${select[@]}" | sort)
exec node --test --test-timeout=180000 "${tests[@]}"
