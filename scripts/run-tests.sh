#!/usr/bin/env bash
# The test suite: lint, typecheck + compile, then the tests with node's runner.
# Usage: run-tests.sh [all|host|unit|netns|vm]
#   all   (default) the host tests, then the VM tier
#   host  unit, then netns
#   unit  tests that need no network namespace (some still load BPF: run as root)
#   netns only the namespace tier (*.netns.test.js: namespaces, veth, real daemons)
#   vm    only the VM tier (*.vm.test.js: Debian's kernels in QEMU, docs/vm.md)
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:-all}
case "$tier" in
  all | host | unit | netns | vm) ;;
  *) echo "run-tests.sh: unknown tier '$tier' (all, host, unit, netns or vm)" >&2; exit 2 ;;
esac
npx biome check .
# A fresh dist/: compiled tests of deleted sources must not run.
rm -rf dist
npx tsc -p tsconfig.json
# Only *.test.js files: given a directory, node would also run every support
# module under a folder named test.
mapfile -t unit_tests < <(find dist/test -name '*.test.js' ! -name '*.vm.test.js' ! -name '*.netns.test.js' | sort)
mapfile -t netns_tests < <(find dist/test -name '*.netns.test.js' | sort)
mapfile -t vm_tests < <(find dist/test -name '*.vm.test.js' | sort)
runs() { [ "$tier" = all ] || [ "$tier" = "$1" ] || { [ "$tier" = host ] && [ "$1" != vm ]; }; }
# Results as they come, then every file's time, slowest first
# (test/support/file-times-reporter.ts): the CI log shows where time goes.
reporters=(--test-reporter=spec --test-reporter-destination=stdout
  --test-reporter=./dist/test/support/file-times-reporter.js --test-reporter-destination=stdout)
status=0
# Unit files two at a time (one per core: most wait on the kernel's verifier
# or on child processes). Namespace files one at a time: their daemons time
# VRRP failovers and HTTP requests, and with three at a time on a shared
# 2-core machine 15 of 91 tests missed their bounds. Node 20 applies
# --test-timeout to each file as a whole too: 600 s leaves room for the
# longest files (program-variants, npm-install) on shared cores.
if runs unit; then
  node --test --test-concurrency=2 --test-timeout=600000 "${reporters[@]}" "${unit_tests[@]}" || status=$?
fi
if runs netns; then
  node --test --test-concurrency=1 --test-timeout=600000 "${reporters[@]}" "${netns_tests[@]}" || status=$?
fi
if runs vm; then
  # A VM file boots one kernel under emulation: its own, longer bound (the
  # tests inside are bounded by the VM's timeout as well). Two files at a
  # time, one QEMU per core, never three (a third QEMU made the IPVS suites
  # miss their bounds). In name order: the longest guest (debian-6.1) takes
  # one core throughout, 6.12 and then IPVS the other.
  node --test --test-concurrency=2 --test-timeout=1800000 "${reporters[@]}" "${vm_tests[@]}" || status=$?
fi
exit "$status"
