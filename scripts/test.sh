#!/bin/sh
# The README's test command: installs what is missing, then lint, typecheck and every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
sh scripts/ensure-system-packages.sh
npm run --silent lint
npm run --silent typecheck
npx vitest run "$@"
