#!/usr/bin/env bash
# The test suite: lint, typecheck + compile, then every test with node's runner.
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome check .
# A fresh dist/: compiled tests of deleted sources must not run.
rm -rf dist
npx tsc -p tsconfig.json
# Only *.test.js files: given a directory, node would also run every support
# module under a folder named test.
mapfile -t tests < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-timeout=180000 "${tests[@]}"
