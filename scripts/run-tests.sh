#!/usr/bin/env bash
# The test suite: lint, typecheck + compile, then the tests with node's runner.
# Usage: run-tests.sh [all|host|vm]
#   all  (default) the host tests, then the VM tier
#   host every test except the VM tier
#   vm   only the VM tier (*.vm.test.js: Debian's kernels in QEMU, docs/vm.md)
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-all}
case "$tier" in
  all | host | vm) ;;
  *) echo "run-tests.sh: unknown tier '$tier' (all, host or vm)" >&2; exit 2 ;;
esac
npx biome check .
# A fresh dist/: compiled tests of deleted sources must not run.
rm -rf dist
npx tsc -p tsconfig.json
# Only *.test.js files: given a directory, node would also run every support
# module under a folder named test.
mapfile -t host_tests < <(find dist/test -name '*.test.js' ! -name '*.vm.test.js' | sort)
mapfile -t vm_tests < <(find dist/test -name '*.vm.test.js' | sort)
status=0
if [ "$tier" != vm ]; then
  node --test --test-timeout=180000 "${host_tests[@]}" || status=$?
fi
if [ "$tier" != host ]; then
  # A VM file boots kernels under emulation: its own, longer bound (the
  # tests inside are bounded by the VM's timeout as well).
  node --test --test-timeout=1800000 "${vm_tests[@]}" || status=$?
fi
exit "$status"
