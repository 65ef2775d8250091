#!/bin/sh
# The README's test command: installs what is missing, then lint, typecheck, builds the test kube-apiserver
# (cached) and runs every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
sh scripts/ensure-system-packages.sh
npm run --silent lint
npm run --silent typecheck
# The real kube-apiserver and kine for test/integration/kube (built once into .cache/kube: ≈ 12 min on a
# cold 2-core machine, ≈ 10 ms when cached). Before vitest, so the build is not inside a test's timeout.
sh scripts/ensure-kube.sh >/dev/null
# versitygw, the S3-compatible server with Object Lock the shipping tests use (.cache/s3: ≈ 2 min cold, ms warm).
sh scripts/ensure-s3.sh >/dev/null
# The whole suite must have gateway log lines for the final scan to check (test/setup/log-scan.ts).
[ $# -eq 0 ] && export VIGIL_LOG_SCAN_REQUIRED=1
npx vitest run "$@"
