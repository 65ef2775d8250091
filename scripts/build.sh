#!/bin/sh
# Builds the appliance into dist/vigil (or --out DIR): one esbuild bundle, vigil.js, that runs with `node`
# alone, native addons beside it. See scripts/build.ts. (Not an npm script: editing package.json would
# make scripts/ensure-deps.sh reinstall every dependency on every machine.)
set -eu
cd "$(dirname "$0")/.."
exec node bin/run-ts.mjs scripts/build.ts "$@"
